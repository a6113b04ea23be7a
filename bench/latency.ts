/**
 * Submit-to-anchored latency: a real `obscura serve` (its own process, the embedded chain in
 * a process of its own, one simulated worker), a small sealed dataset uploaded through the
 * API, and small jobs submitted one at a time through the API as an analyst does, each
 * waited for until its result is anchored in a block and fetched. The total, from the POST
 * to the result in hand, is split by the host's own phase timings (obscura_job_phase_seconds
 * on GET /metrics, read before and after each job: job-phases.ts) into queue, run, sign,
 * (for a DP job: check and spend,) anchor and store; what is left is the API's part and the
 * client's poll. CPU seconds per job come from /proc for the host, its enclave and its chain
 * processes. LATENCY_BENCH_JOBS jobs of each kind (default 7) after one warm-up each; the
 * machine is shared, so the load average is given.
 */
import { readFileSync, rmSync, mkdtempSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { ApiClient } from '../src/cli/client.ts';
import { sealDataset } from '../src/cli/seal-dataset.ts';
import { signedRequestFor } from '../src/client/job-request.ts';
import { PROJECT_ROOT } from '../src/contracts/measurement.ts';
import type { WorkerRecord } from '../src/contracts/worker-record.ts';
import { accountKeyFromSuri } from '../src/crypto/index.ts';
import { parseDatasetPolicy } from '../src/privacy/index.ts';
import { type BenchSection, median } from './section.ts';
import { processes, startNode } from './soak.ts';

const JOBS = Number(process.env.LATENCY_BENCH_JOBS ?? 7);
/** How often the client asks for the job's state (its part of the latency is half this on average). */
const POLL_MS = 20;
const PHASES = ['queue', 'check', 'spend', 'run', 'sign', 'anchor', 'store'] as const;
type Phase = (typeof PHASES)[number];

const pipeline = (dp: boolean) => `obscura: 1
name: bench-latency-${dp ? 'dp' : 'plain'}
inputs: { visits: { columns: { region: string, cost: float64 } } }
steps:
  - id: by_region
    aggregate: { from: visits, group_by: [region], measures: { n: { count: "*" }, total: { sum: cost, bounds: [0, 5000] } } }
outputs: { by_region: { min_group_size: 10${dp ? ', dp: { epsilon: 0.01, delta: 1.0e-9 }' : ''} } }
`;

/** Each phase's summed seconds so far, from the host's Prometheus text. */
async function phaseSums(url: string): Promise<Record<Phase, number>> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const out = Object.fromEntries(PHASES.map((p) => [p, 0])) as Record<Phase, number>;
  for (const m of text.matchAll(/^obscura_job_phase_seconds_sum\{phase="(\w+)"\} (\S+)$/gm))
    if ((PHASES as readonly string[]).includes(m[1] as string)) out[m[1] as Phase] = Number(m[2]);
  return out;
}

/** User + system CPU seconds of a process so far, from /proc (clock ticks of 1/100 s). */
function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

interface Sample {
  total: number;
  phases: Record<Phase, number>;
  cpu: { host: number; enclave: number; chain: number };
  block: number;
}

/** Run the benchmark and return its BENCHMARKS.md section. */
export async function run(): Promise<BenchSection> {
  const work = mkdtempSync(join(tmpdir(), 'obscura-latency-bench-'));
  const { child, url } = await startNode(join(work, 'node'));
  try {
    const pids = processes(child.pid as number);
    const owner = await accountKeyFromSuri('//BenchLatencyOwner');
    const analyst = await accountKeyFromSuri('//BenchLatencyAnalyst');
    const ownerApi = new ApiClient(url, owner);
    const api = new ApiClient(url, analyst);
    const { workers } = (await ownerApi.get('/v1/workers')) as { workers: WorkerRecord[] };
    const worker = workers[0] as WorkerRecord;
    const csv = join(work, 'visits.csv');
    writeFileSync(csv, readFileSync(join(PROJECT_ROOT, 'datasets/visits.csv')));
    const rows = readFileSync(csv, 'utf8').trim().split('\n').length - 1;
    const sealedPath = join(work, 'visits.sealed');
    const { signed } = await sealDataset({
      file: csv,
      out: sealedPath,
      owner,
      worker,
      analysts: [analyst.address],
      measurements: [worker.measurement],
      policy: parseDatasetPolicy('obscura-policy: 1\ndp: { epsilon: 10, delta: 1.0e-3 }\n'),
    });
    const form = new FormData();
    form.append('manifest', JSON.stringify(signed));
    form.append('sealed', new Blob([readFileSync(sealedPath)]), 'sealed');
    const { id: dataset } = (await ownerApi.postForm('/v1/datasets', form)) as { id: string };

    /** One job: POST, poll until succeeded, fetch the result; the host's phases and CPU beside. */
    const job = async (dp: boolean): Promise<Sample> => {
      const submission = { pipeline: pipeline(dp), inputs: { visits: dataset } };
      // Signed before the clock starts: the analyst's own machine does that, off the node.
      const request = await signedRequestFor(api, analyst, submission);
      const before = await phaseSums(url);
      const cpu0 = {
        host: cpuSeconds(pids.host),
        enclave: cpuSeconds(pids.enclave),
        chain: cpuSeconds(pids.chain),
      };
      const t0 = performance.now();
      const { id } = (await api.post('/v1/jobs', { ...submission, request })) as { id: string };
      let result: string | undefined;
      for (;;) {
        const j = (await api.get(`/v1/jobs/${id}`)) as { status: string; result?: string; error?: unknown };
        if (j.status === 'succeeded' && j.result) {
          result = j.result;
          break;
        }
        if (['failed', 'cancelled'].includes(j.status))
          throw new Error(`bench job ${j.status}: ${JSON.stringify(j.error)}`);
        await new Promise((r) => setTimeout(r, POLL_MS));
      }
      const doc = (await api.get(`/v1/results/${result}`)) as { anchor: { blockNumber: number } };
      const total = (performance.now() - t0) / 1000;
      const after = await phaseSums(url);
      const phases = Object.fromEntries(PHASES.map((p) => [p, after[p] - before[p]])) as Record<
        Phase,
        number
      >;
      return {
        total,
        phases,
        cpu: {
          host: cpuSeconds(pids.host) - cpu0.host,
          enclave: cpuSeconds(pids.enclave) - cpu0.enclave,
          chain: cpuSeconds(pids.chain) - cpu0.chain,
        },
        block: doc.anchor.blockNumber,
      };
    };

    const load0 = loadavg()[0] ?? 0;
    await job(false);
    await job(true);
    const plain: Sample[] = [];
    const dp: Sample[] = [];
    for (let i = 0; i < JOBS; i++) {
      // Alternated, so that neither kind always runs on a warmer machine.
      plain.push(await job(false));
      dp.push(await job(true));
    }
    const load1 = loadavg()[0] ?? 0;

    const ms = (x: number) => (x * 1000).toFixed(0);
    const med = (xs: Sample[], f: (s: Sample) => number) => median(xs.map(f));
    const rest = (s: Sample) => s.total - PHASES.reduce((a, p) => a + s.phases[p], 0);
    const line = (what: string, f: (s: Sample) => number, note = '') => {
      const [a, b] = [med(plain, f), med(dp, f)];
      const share = (x: number, s: Sample[]) => `${((100 * x) / med(s, (y) => y.total)).toFixed(0)}%`;
      return `| ${what} | ${ms(a)} | ${share(a, plain)} | ${ms(b)} | ${share(b, dp)} | ${note} |`;
    };
    const cpu = (xs: Sample[]) =>
      `host ${med(xs, (s) => s.cpu.host).toFixed(2)} + enclave ${med(xs, (s) => s.cpu.enclave).toFixed(2)} + chain ${med(xs, (s) => s.cpu.chain).toFixed(2)}`;
    const fixed = (xs: Sample[]) => med(xs, (s) => s.phases.sign + s.phases.spend + s.phases.anchor);
    return {
      title: 'Submit to anchored: the latency of a small job through the API',
      markdown: [
        `A real \`obscura serve\` (embedded chain in its own process, blocks built as extrinsics arrive; one simulated worker), a sealed dataset of ${rows.toLocaleString('en-US')} rows (\`datasets/visits.csv\`) uploaded through the API, and one grouped aggregate (count and a bounded sum by region) submitted by an analyst through \`POST /v1/jobs\`, polled every ${POLL_MS} ms until it has succeeded (its result anchored in a block and stored), then fetched. ${JOBS} jobs of each kind, alternating, after a warm-up of each; medians per phase (so the phases need not add up to the total exactly). Phases are the host's own timings (\`obscura_job_phase_seconds\` on \`GET /metrics\`); load average ${load0.toFixed(1)} before and ${load1.toFixed(1)} after, on a shared machine.`,
        '',
        '| phase | job without DP, ms | share | DP job, ms | share | what it is |',
        '| --- | ---: | ---: | ---: | ---: | --- |',
        line('**total: POST → result anchored and in hand**', (s) => s.total),
        line(
          'queue',
          (s) => s.phases.queue,
          'from the job recorded to the runner taking it (one job at a time)',
        ),
        line(
          'check (DP only)',
          (s) => s.phases.check,
          'the enclave checks the request, policies, ciphertext and its ledger against the chain, and commits the spend',
        ),
        line(
          'spend (DP only)',
          (s) => s.phases.spend,
          "**fixed**: the spend's head anchored in a block before the enclave reads data",
        ),
        line(
          'run',
          (s) => s.phases.run,
          'checks, opening the input from the enclave store, the pipeline, suppression (and DP noise)',
        ),
        line(
          'sign',
          (s) => s.phases.sign,
          '**fixed**: outputs sealed to their readers, the result signed and attested, handed to the host and kept on disk',
        ),
        line(
          'anchor',
          (s) => s.phases.anchor,
          "**fixed**: the result's hash anchored in a block of the embedded chain (sign the extrinsic, build the block, see it in)",
        ),
        line('store', (s) => s.phases.store, 'the anchored result stored, the job marked succeeded'),
        line(
          'API and the client',
          rest,
          `the POST before the job is recorded, the client's next poll (every ${POLL_MS} ms), \`GET /v1/results/{id}\``,
        ),
        '',
        `Fixed part (sign + spend + anchor): ${ms(fixed(plain))} ms of ${ms(med(plain, (s) => s.total))} without DP, ${ms(fixed(dp))} ms of ${ms(med(dp, (s) => s.total))} with DP; the work on the data (run) is ${ms(med(plain, (s) => s.phases.run))} and ${ms(med(dp, (s) => s.phases.run))} ms. CPU s per job (median; from /proc, polling included): without DP ${cpu(plain)}; DP ${cpu(dp)}. A DP job anchors twice (its spend before it reads, its result after), so it waits for two blocks. Results released while an anchor is on its way share the next block (result-anchors.ts), so under load the anchor's time is shared by the jobs in a batch; here jobs run one after another and each waits for its own.`,
      ].join('\n'),
    };
  } finally {
    if (child.exitCode === null) {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    }
    rmSync(work, { recursive: true, force: true });
  }
}
