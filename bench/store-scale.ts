/**
 * The store at scale: ingest and a job at 1M, 10M and 50M rows (STORE_SCALE_ROWS,
 * comma-separated), each step in its own process (store-scale-child.ts) so that its peak
 * resident memory is its own, beside DuckDB doing the same in its own process. One run per
 * figure (the 50M CSV alone is 2.3 GB, and it is kept sealed beside it: about 5 GB in the
 * temporary directory at once); the load average is given, as the machine is shared. Then a
 * join of two datasets of STORE_SCALE_JOIN_ROWS rows each (default 5M; 0 skips it) from
 * their stores, beside DuckDB joining the two Parquet files: medians of 3 after a warm-up.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BenchSection } from './section.ts';
import { ENCLAVE_HEAP_FLAGS } from '../src/host/enclave-client.ts';

interface Figures {
  wall: number;
  cpu: number;
  rssMiB: number;
  /** MiB in the warm cache after the warm-up (join-warm). */
  warmMiB?: number;
  /** The join's inputs' bound from their manifests, in MiB (enclave/job-memory.ts). */
  inputMiB?: number;
}

const child = new URL('./store-scale-child.ts', import.meta.url).pathname;

function step(name: string, dir: string, rows?: number): Figures {
  const out = execFileSync(
    process.execPath,
    // The enclave process's heap flags, as its ingest and jobs run there.
    ['--import', 'tsx', ...ENCLAVE_HEAP_FLAGS, child, name, dir, ...(rows ? [String(rows)] : [])],
    { encoding: 'utf8', maxBuffer: 1 << 20, stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const last = out.trim().split('\n').pop() ?? '';
  return (last ? JSON.parse(last) : { wall: 0, cpu: 0, rssMiB: 0 }) as Figures;
}

/** Run the benchmark and report it as a BENCHMARKS.md section. */
export async function run(): Promise<BenchSection> {
  // STORE_SCALE_ROWS=0 skips the scale rows (the join alone).
  const sizes = (process.env.STORE_SCALE_ROWS ?? '1000000,10000000,50000000')
    .split(',')
    .map(Number)
    .filter((n) => n > 0);
  const lines: string[] = [];
  const loads: number[] = [];
  for (const rows of sizes) {
    const dir = mkdtempSync(join(tmpdir(), 'obscura-bench-scale-'));
    try {
      step('prepare', dir, rows);
      const mib = statSync(join(dir, 'visits.csv')).size / 2 ** 20;
      const copy = step('copy', dir);
      const ingest = step('ingest', dir);
      const peer = step('peer', dir);
      const job = step('job', dir);
      loads.push(loadavg()[0] ?? 0);
      const r = rows.toLocaleString('en');
      // The enclave streams a CSV larger than an eighth of its memory limit (2 GiB by default).
      const how = mib * 2 ** 20 > (2 * 2 ** 30) / 8 ? ', streamed a chunk at a time' : '';
      const row = (what: string, f: Figures, p?: Figures) =>
        `| ${r} (${mib.toFixed(0)} MiB) | ${what} | ${f.wall.toFixed(3)} | ${f.cpu.toFixed(3)} | ${f.rssMiB.toFixed(0)} | ${p ? `${(f.wall / p.wall).toFixed(2)}× / ${(f.cpu / p.cpu).toFixed(2)}×` : ''} |`;
      lines.push(
        row(`ingest (sealed CSV → store${how})`, ingest, copy),
        row('peer: DuckDB `COPY` CSV → Parquet', copy),
        row('job from the store, cold (one query, a chunk at a time as DuckDB scans)', job, peer),
        row('peer: DuckDB on Parquet', peer),
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
  const joinRows = Number(process.env.STORE_SCALE_JOIN_ROWS ?? 5_000_000);
  let joinLoad = '';
  let joinInputMiB = 0;
  if (joinRows > 0) {
    const dir = mkdtempSync(join(tmpdir(), 'obscura-bench-scale-join-'));
    try {
      step('prepare-join', dir, joinRows);
      const before = loadavg()[0] ?? 0;
      const joined = step('join', dir);
      const warm = step('join-warm', dir);
      const peer = step('join-peer', dir);
      joinInputMiB = joined.inputMiB ?? 0;
      joinLoad = ` The join: load average ${before.toFixed(1)} before and ${(loadavg()[0] ?? 0).toFixed(1)} after.`;
      const r = joinRows.toLocaleString('en');
      const row = (what: string, f: Figures, p?: Figures) =>
        `| ${r} ⨝ ${r} | ${what} | ${f.wall.toFixed(3)} | ${f.cpu.toFixed(3)} | ${f.rssMiB.toFixed(0)} | ${p ? `${(f.wall / p.wall).toFixed(2)}× / ${(f.cpu / p.cpu).toFixed(2)}×` : ''} |`;
      lines.push(
        row(
          'join from the stores, cold (`hba1c-by-region`: adult visits ⨝ lab results, row ids per input; the columns of both inputs decrypted every run), median of 3',
          joined,
          peer,
        ),
        row(
          `join from the stores, warm: both inputs' columns in the warm cache (${(warm.warmMiB ?? 0).toFixed(0)} MiB of its ${(Number(process.env.STORE_SCALE_MEMORY ?? 2 * 2 ** 30) / 4 / 2 ** 20).toFixed(0)}), median of 3`,
          warm,
          peer,
        ),
        row('peer: DuckDB, the same join and measures on the two Parquet files, median of 3', peer),
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
  return {
    title: 'Enclave store at scale: time and peak memory',
    markdown: [
      `Sample pipeline \`pipelines/cost-by-region.yaml\` on synthetic visits; each step in a fresh process (peak RSS is that process's, Node's ~100 MiB baseline included); the job and the peer query after one warm-up run in their process, ingest and COPY cold. One run per figure${loads.length ? `; load average ${loads.map((l) => l.toFixed(1)).join(' / ')} on a shared machine` : ''}. The peer runs DuckDB on all cores; the enclave's job runs as it would in the enclave: the sample job (a float mean, reproducible only in row order) as two halves of its rows on two connections of a one-thread DuckDB at once, their partial aggregates merged in a fixed order (README.md, "DuckDB's threads"), and the join whole on one thread. Each step takes the enclave's path at its default 2 GiB memory limit per job: a CSV over 256 MiB is checked and stored a chunk at a time, and a job reads its store as DuckDB scans it, decrypted a chunk at a time (cold: no room in the warm cache), whatever its size. The join reads both stores the same way (the columns the pipeline reads), joined in the enclave's DuckDB with row ids per input for suppression; cold, they are decrypted every job; warm, the enclave's warm cache (a quarter of the memory limit by default) holds them as DuckDB tables from an earlier job, the steady state for datasets in use. One memory budget per job, as in the enclave: the inputs' decrypted columns may take three eighths of the memory limit (checked from their manifests: ${joinInputMiB.toFixed(0)} MiB for the join) and DuckDB's memory_limit is the rest; the join's peak RSS (warm-up and 3 runs in one process, Node's ~100 MiB included) is what the limit has to hold.${joinLoad}`,
      '',
      '| rows | work | wall s | CPU s | peak RSS MiB | vs peer (wall / CPU) |',
      '| --- | --- | ---: | ---: | ---: | ---: |',
      ...lines,
    ].join('\n'),
  };
}
