/**
 * Benchmark: serving a result. A real `obscura serve` (its own process) answers
 * `GET /v1/results/{id}` for a public result under 64 keep-alive connections from a load
 * generator in a third process; beside it, a bare express handler (bench/bare-express.ts)
 * serving the same bytes, and the same route answering `If-None-Match` with 304. Rounds
 * alternate the contenders (the machine is shared); medians of RESULTS_BENCH_ROUNDS (3) runs
 * of RESULTS_BENCH_SECONDS (5) each.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { ApiClient } from '../src/cli/client.ts';
import { sealDataset } from '../src/cli/seal-dataset.ts';
import { submitJob } from '../src/client/job-request.ts';
import { PROJECT_ROOT } from '../src/contracts/measurement.ts';
import { accountKeyFromSuri } from '../src/crypto/index.ts';
import type { WorkerRecord } from '../src/contracts/worker-record.ts';
import { parseDatasetPolicy } from '../src/privacy/index.ts';
import { median, type BenchSection } from './section.ts';
import { startNode } from './soak.ts';

const ROUNDS = Number(process.env.RESULTS_BENCH_ROUNDS ?? 3);
const SECONDS = Number(process.env.RESULTS_BENCH_SECONDS ?? 5);
const CONNECTIONS = 64;

const PUBLIC_COUNT = `obscura: 1
name: bench-public-count
visibility: public
inputs: { visits: { columns: { region: string, cost: float64 } } }
steps:
  - id: by_region
    aggregate: { from: visits, group_by: [region], measures: { n: { count: "*" }, cost: { mean: cost } } }
outputs: { by_region: { min_group_size: 10 } }
`;

interface Load {
  requests: number;
  bad: number;
  perSecond: number;
  p50: number;
  p99: number;
}

/** One load run against `url` in its own process. */
function load(url: string, etag?: string): Load {
  const args = [
    '--import',
    'tsx',
    join(PROJECT_ROOT, 'bench/http-load.ts'),
    url,
    String(CONNECTIONS),
    String(SECONDS),
  ];
  const r = spawnSync(process.execPath, etag ? [...args, etag] : args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`load generator failed: ${r.stderr}`);
  return JSON.parse(r.stdout) as Load;
}

/** A public result on a fresh node: its URL, bytes and ETag. */
async function publicResult(url: string, work: string) {
  const owner = await accountKeyFromSuri('//BenchResultsOwner');
  const api = new ApiClient(url, owner);
  const { workers } = (await api.get('/v1/workers')) as { workers: WorkerRecord[] };
  const worker = workers[0] as WorkerRecord;
  const csv = join(work, 'visits.csv');
  writeFileSync(csv, readFileSync(join(PROJECT_ROOT, 'datasets/visits.csv')));
  const { signed } = await sealDataset({
    file: csv,
    out: join(work, 'visits.sealed'),
    owner,
    worker,
    analysts: [owner.address],
    measurements: [worker.measurement],
    policy: parseDatasetPolicy('obscura-policy: 1\nresults: public\n'),
  });
  const form = new FormData();
  form.append('manifest', JSON.stringify(signed));
  form.append('sealed', new Blob([readFileSync(join(work, 'visits.sealed'))]), 'sealed');
  const { id: dataset } = (await api.postForm('/v1/datasets', form)) as { id: string };
  const { id: job } = (await submitJob(api, owner, {
    pipeline: PUBLIC_COUNT,
    inputs: { visits: dataset },
  })) as {
    id: string;
  };
  for (;;) {
    const j = (await api.get(`/v1/jobs/${job}`)) as { status: string; result?: string };
    if (j.status === 'succeeded' && j.result) {
      const res = await fetch(`${url}/v1/results/${j.result}`);
      if (res.status !== 200) throw new Error(`public result answered ${res.status}`);
      return {
        url: `${url}/v1/results/${j.result}`,
        bytes: Buffer.from(await res.arrayBuffer()),
        etag: res.headers.get('etag') ?? undefined,
      };
    }
    if (['failed', 'cancelled'].includes(j.status)) throw new Error(`bench job ${j.status}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** Run the benchmark and return its BENCHMARKS.md section. */
export async function run(): Promise<BenchSection> {
  const work = mkdtempSync(join(tmpdir(), 'obscura-results-bench-'));
  const { child, url } = await startNode(join(work, 'node'));
  let bare: ReturnType<typeof spawn> | undefined;
  try {
    const result = await publicResult(url, work);
    const bodyFile = join(work, 'result.json');
    writeFileSync(bodyFile, result.bytes);
    const peer = spawn(
      process.execPath,
      ['--import', 'tsx', join(PROJECT_ROOT, 'bench/bare-express.ts'), bodyFile],
      {
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    );
    bare = peer;
    const bareUrl = await new Promise<string>((resolve, reject) => {
      let out = '';
      peer.stdout?.on('data', (d: Buffer) => {
        out += d.toString();
        const m = /URL (\S+)/.exec(out);
        if (m?.[1]) resolve(m[1]);
      });
      peer.once('exit', () => reject(new Error('bare express exited')));
    });
    const loadBefore = loadavg()[0] as number;
    const runs = { ours: [] as Load[], bare: [] as Load[], notModified: [] as Load[] };
    load(result.url); // warm-up: JIT and caches on both sides
    load(bareUrl);
    for (let round = 0; round < ROUNDS; round++) {
      runs.ours.push(load(result.url));
      runs.bare.push(load(bareUrl));
      if (result.etag) runs.notModified.push(load(result.url, result.etag));
    }
    const loadAfter = loadavg()[0] as number;
    const rate = (xs: Load[]) => median(xs.map((x) => x.perSecond));
    const p = (xs: Load[], k: 'p50' | 'p99') => median(xs.map((x) => x[k]));
    const bad = (xs: Load[]) => xs.reduce((n, x) => n + x.bad, 0);
    const row = (name: string, xs: Load[]) =>
      xs.length
        ? `| ${name} | ${rate(xs).toFixed(0)} | ${p(xs, 'p50').toFixed(1)} | ${p(xs, 'p99').toFixed(1)} | ${(rate(xs) / rate(runs.bare)).toFixed(2)}× | ${bad(xs)} |`
        : `| ${name} | — | — | — | — | — |`;
    return {
      title: 'Serving a result: GET /v1/results/{id}',
      markdown: [
        `A public result (${result.bytes.length.toLocaleString('en-US')} bytes of JSON) from a real \`obscura serve\`, ${CONNECTIONS} keep-alive connections from a load generator in its own process; medians of ${ROUNDS} rounds of ${SECONDS} s that alternate the contenders; load average ${loadBefore.toFixed(1)} before and ${loadAfter.toFixed(1)} after, on ${2} cores (the machine is shared: the ratio is the thing to read).`,
        '',
        '| path | req/s | p50 ms | p99 ms | vs bare express | errors |',
        '| --- | ---: | ---: | ---: | ---: | ---: |',
        row('Obscura `GET /v1/results/{id}` (access rule, cached bytes)', runs.ours),
        row('same, with `If-None-Match` (304, no body)', runs.notModified),
        row('peer: bare express handler sending the same bytes', runs.bare),
      ].join('\n'),
    };
  } finally {
    bare?.kill('SIGTERM');
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
    rmSync(work, { recursive: true, force: true });
  }
}
