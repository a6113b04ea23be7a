/**
 * Benchmark of the enclave's analytics path against its peer: the sample pipeline
 * (filter adults, aggregate cost by region, suppress small groups) over 1M synthetic
 * visits (PIPELINE_BENCH_ROWS to change), run (a) the way the enclave does it — CSV bytes
 * in memory → parseDataset → runPipeline (load into a locked-down in-memory DuckDB, SQL,
 * suppression) — and (b) by DuckDB alone with `read_csv` on the plaintext file and the
 * same SQL. Median of 3 runs after a warm-up. The lead adds sealing/unsealing around (a).
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { makeVisits } from '../datasets/make-visits.ts';
import { loadIntoDuckDB, type ParsedDataset, parseDataset, withDuckDB } from '../src/data/index.ts';
import { parsePipeline, runPipeline } from '../src/pipelines/index.ts';
import { type BenchSection, median, seconds } from './section.ts';

const RUNS = 3;

/** The sample pipeline's SQL written directly over read_csv (what DuckDB alone would run). */
function peerSql(path: string): string {
  return `SELECT region, count(*) AS patients, sum(cost) AS total_cost, avg(cost) AS mean_cost, max(cost) AS max_cost
    FROM read_csv('${path.replaceAll("'", "''")}') WHERE age >= 18
    GROUP BY region HAVING count(*) >= 10 ORDER BY region`;
}

/** Run the benchmark and report it as a BENCHMARKS.md section. */
export async function run(): Promise<BenchSection> {
  const rows = Number(process.env.PIPELINE_BENCH_ROWS ?? 1_000_000);
  const dir = mkdtempSync(join(tmpdir(), 'obscura-bench-pipeline-'));
  try {
    const path = join(dir, 'visits.csv');
    writeFileSync(path, makeVisits({ rows, seed: 1 }));
    const bytes = readFileSync(path);
    const doc = parsePipeline(
      readFileSync(new URL('../pipelines/cost-by-region.yaml', import.meta.url), 'utf8'),
    );

    // threads 0: as the enclave runs it (split in two halves when the job splits,
    // src/pipelines/split.ts); else whole on that many DuckDB threads.
    const enclave = async (threads: number) => {
      const t0 = performance.now();
      const parsed = await parseDataset(bytes, 'csv');
      const t1 = performance.now();
      const out = await runPipeline(doc, { visits: parsed }, threads === 0 ? {} : { threads, split: false });
      const t2 = performance.now();
      return {
        parse: (t1 - t0) / 1000,
        run: (t2 - t1) / 1000,
        total: (t2 - t0) / 1000,
        groups: out.by_region?.rows.length,
      };
    };
    const peer = async () => {
      const instance = await DuckDBInstance.create(':memory:');
      const connection = await instance.connect();
      try {
        let groups = 0;
        const s = await seconds(async () => {
          groups = (await connection.runAndReadAll(peerSql(path))).getRows().length;
        });
        return { total: s, groups };
      } finally {
        connection.closeSync();
        instance.closeSync();
      }
    };

    const numeric = await parseDataset(bytes, 'csv');
    const load = (parsed: ParsedDataset) =>
      withDuckDB(async (connection) =>
        seconds(() => loadIntoDuckDB(connection, 'visits', parsed, ['age', 'cost', 'readmitted'])),
      );

    await enclave(0);
    await peer();
    await load(numeric);
    const a1 = [];
    const a2 = [];
    const a0 = [];
    const b = [];
    const l = [];
    for (let i = 0; i < RUNS; i++) {
      a0.push(await enclave(0));
      a1.push(await enclave(1));
      a2.push(await enclave(2));
      b.push(await peer());
      l.push(await load(numeric));
    }
    if (a1[0]?.groups !== b[0]?.groups)
      throw new Error('the enclave path and DuckDB disagree on the number of groups');

    const peerS = median(b.map((x) => x.total));
    const row = (label: string, s: number) =>
      `| ${label} | ${s.toFixed(3)} | ${Math.round(rows / s).toLocaleString('en-US')} | ${(s / peerS).toFixed(2)}× |`;
    const markdown = [
      `Sample pipeline \`pipelines/cost-by-region.yaml\` over ${rows.toLocaleString('en-US')} synthetic visits`,
      `(${(bytes.length / 2 ** 20).toFixed(1)} MiB of CSV, 6 columns; the pipeline reads 3). Median of ${RUNS} runs.`,
      '',
      '| path | seconds | rows/s | vs DuckDB read_csv |',
      '| --- | ---: | ---: | ---: |',
      row(
        'enclave: parseDataset + runPipeline (split in two halves on two connections of a one-thread DuckDB, as the enclave runs it)',
        median(a0.map((x) => x.total)),
      ),
      row('  of which parseDataset (CSV → Arrow, all 6 columns)', median(a0.map((x) => x.parse))),
      row(
        '  of which runPipeline (scan 3 columns, filter, aggregate, suppress; two halves merged)',
        median(a0.map((x) => x.run)),
      ),
      row('  runPipeline whole, on 1 DuckDB thread (before the split)', median(a1.map((x) => x.run))),
      row('enclave path whole, with 2 DuckDB threads (not reproducible)', median(a2.map((x) => x.total))),
      row('peer: DuckDB `read_csv` on the plaintext file, same SQL', peerS),
      '',
      `loadIntoDuckDB alone, 3 numeric columns (age int64, cost float64 with nulls, readmitted bool): ${median(l).toFixed(3)} s, ${Math.round(rows / median(l)).toLocaleString('en-US')} rows/s.`,
      '',
      'The enclave path never writes plaintext to disk and never runs this pipeline\'s float sums and means on two DuckDB threads: it splits the job in two halves of the rows, each summed on one thread in row order and merged in a fixed order (README.md, "DuckDB\'s threads"), so that they are reproducible bit for bit; the peer reads the file from disk with all cores.',
    ].join('\n');
    return { title: 'Pipeline: CSV bytes → aggregate (enclave path vs DuckDB read_csv)', markdown };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
