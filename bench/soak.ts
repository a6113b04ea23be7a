/**
 * Soak: a real `obscura serve` (its own process, so its memory and open files are its own)
 * under mixed load from 64 clients on loopback, each its own account: uploads of a small
 * sealed dataset, count jobs over it, and reads of jobs and results. Reports requests and
 * errors by kind, jobs finished, and the memory (RSS) and file-descriptor counts of the host
 * and of its enclave and embedded chain processes at the start and at the end: flat means no leak. SOAK_SECONDS
 * sets the duration (default 1800, thirty minutes); SOAK_CLIENTS the clients (default 64).
 * A table samples the host over the run (every SOAK_SAMPLE_SECONDS, default a sixth of it):
 * RSS, glibc's main arena, and V8's heap from inside (soak-probe.mjs), which together tell a
 * leak from a cache filling up; SOAK_SNAPSHOT_DIR adds heap snapshots at the start and end
 * (a snapshot itself leaves the host's RSS a few hundred MiB higher: compare heaps, not RSS).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { WorkerRecord } from '../src/contracts/worker-record.ts';
import { ApiClient } from '../src/cli/client.ts';
import { submitJob } from '../src/client/job-request.ts';
import { sealDataset } from '../src/cli/seal-dataset.ts';
import { accountKeyFromSuri, type AccountKey } from '../src/crypto/index.ts';
import { PROJECT_ROOT } from '../src/contracts/measurement.ts';
import { parseDatasetPolicy } from '../src/privacy/index.ts';
import type { BenchSection } from './section.ts';

const SECONDS = Number(process.env.SOAK_SECONDS ?? 1800);
const CLIENTS = Number(process.env.SOAK_CLIENTS ?? 64);
/** Seconds between the samples of the memory table (default: six samples in a run). */
const SAMPLE_SECONDS = Number(process.env.SOAK_SAMPLE_SECONDS ?? Math.max(10, SECONDS / 6));
/** Where heap snapshots of the host at the start and the end go (none unless set). */
const SNAPSHOTS = process.env.SOAK_SNAPSHOT_DIR;

/** The host's process.memoryUsage() as the probe (soak-probe.mjs) reports it, in bytes. */
interface HeapSample {
  t: number;
  rss: number;
  heapTotal: number;
  heapUsed: number;
  external: number;
  arrayBuffers: number;
  snapshot?: string | null;
}

/**
 * The socket-level cause under a client error that got no answer (fetch's own cause, e.g.
 * ECONNRESET or UND_ERR_SOCKET), in parentheses; empty for an answered refusal.
 */
function socketError(e: unknown): string {
  let cause = (e as { cause?: unknown }).cause;
  for (let depth = 0; cause && depth < 3; depth++) {
    const c = cause as { code?: string; cause?: unknown };
    if (typeof c.code === 'string') return ` (${c.code})`;
    cause = c.cause;
  }
  return '';
}

/** The probe's samples so far. */
function probeSamples(file: string): HeapSample[] {
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as HeapSample);
}

/** The probe's latest sample. */
function lastProbe(file: string): HeapSample | undefined {
  return probeSamples(file).at(-1);
}

/** Ask the host's probe for a heap snapshot (a full GC first) and wait for the sample it writes after. */
async function snapshot(host: number, file: string): Promise<HeapSample> {
  const before = probeSamples(file).length;
  process.kill(host, 'SIGUSR2');
  for (;;) {
    await new Promise((r) => setTimeout(r, 500));
    const taken = probeSamples(file)
      .slice(before)
      .find((s) => s.snapshot !== undefined);
    if (taken) return taken;
  }
}

const mib = (bytes: number | undefined) => (bytes === undefined ? '-' : (bytes / 2 ** 20).toFixed(0));

const COUNT = `obscura: 1
name: soak-count
inputs: { visits: { columns: { region: string } } }
steps:
  - id: n
    aggregate: { from: visits, measures: { n: { count: "*" } } }
outputs: { n: { min_group_size: 10 } }
`;

/** RSS (MiB) and open file descriptors of a process, from /proc. */
function usage(pid: number): { rssMiB: number; fds: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
  return { rssMiB: kb / 1024, fds: readdirSync(`/proc/${pid}/fd`).length };
}

/**
 * Resident MiB of the process's `[heap]` mapping: glibc's main malloc arena (the main thread's
 * native allocations: SQLite, OpenSSL, the HTTP parser...), which V8's figures do not count.
 */
function mallocHeapMiB(pid: number): number {
  const smaps = readFileSync(`/proc/${pid}/smaps`, 'utf8');
  const at = smaps.indexOf('[heap]');
  if (at < 0) return 0;
  return Number(/Rss:\s+(\d+)/.exec(smaps.slice(at))?.[1] ?? 0) / 1024;
}

/** The host's child process whose command line names `marker` (the enclave's or the chain's entry). */
function childPid(host: number, marker: string, what: string): number {
  const children = readdirSync(`/proc/${host}/task`).flatMap((t) => {
    const f = `/proc/${host}/task/${t}/children`;
    return existsSync(f) ? readFileSync(f, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number) : [];
  });
  const pid = children.find((c) => readFileSync(`/proc/${c}/cmdline`, 'utf8').includes(marker));
  if (!pid) throw new Error(`no ${what} process under the host`);
  return pid;
}

/** The processes a node runs: the host, its enclave and its embedded chain. */
export function processes(host: number): Record<'host' | 'enclave' | 'chain', number> {
  return {
    host,
    enclave: childPid(host, 'enclave', 'enclave'),
    chain: childPid(host, 'chain/process-main', 'chain'),
  };
}

/** Start `obscura serve` on free ports in its own process; resolves with it and its API URL. */
export async function startNode(
  dataDir: string,
  probeFile?: string,
): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(
    process.execPath,
    [
      // The probe samples the host's own memory figures (heap, external) for the table.
      ...(probeFile ? ['--import', pathToFileURL(join(PROJECT_ROOT, 'bench/soak-probe.mjs')).href] : []),
      join(PROJECT_ROOT, 'bin/obscura.js'),
      'serve',
      '--data-dir',
      dataDir,
      '--port',
      '0',
      '--chain-port',
      '0',
      '--quiet',
    ],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: {
        ...process.env,
        OBSCURA_UPLOADS_IN_FLIGHT: '4',
        ...(probeFile ? { SOAK_PROBE_FILE: probeFile } : {}),
      },
    },
  );
  let out = '';
  child.stderr?.on('data', (d: Buffer) => {
    out = (out + d.toString()).slice(-4000);
  });
  const url = await new Promise<string>((resolve, reject) => {
    child.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /API\s+(http:\/\/\S+)/.exec(out);
      if (m?.[1]) resolve(m[1]);
    });
    child.once('exit', () => reject(new Error(`the node exited:\n${out}`)));
  });
  return { child, url };
}

/** Run the soak. */
export async function run(): Promise<BenchSection> {
  const work = mkdtempSync(join(tmpdir(), 'obscura-soak-'));
  const probeFile = join(work, 'host-memory.jsonl');
  const { child, url } = await startNode(join(work, 'node'), probeFile);
  const hostPid = child.pid as number;
  try {
    const csv = join(work, 'visits.csv');
    writeFileSync(
      csv,
      `${readFileSync(join(PROJECT_ROOT, 'datasets/visits.csv'), 'utf8').split('\n').slice(0, 201).join('\n')}\n`,
    );
    const keys: AccountKey[] = [];
    for (let i = 0; i < CLIENTS; i++) keys.push(await accountKeyFromSuri(`//Soak${i}`));
    const { workers } = (await new ApiClient(url, keys[0] as AccountKey).get('/v1/workers')) as {
      workers: WorkerRecord[];
    };
    const worker = workers[0] as WorkerRecord;
    const counts: Record<string, { ok: number; errors: number }> = {};
    const errors: Record<string, number> = {};
    const count = async (kind: string, work: () => Promise<unknown>) => {
      counts[kind] ??= { ok: 0, errors: 0 };
      const c = counts[kind];
      try {
        const out = await work();
        c.ok++;
        return out;
      } catch (e) {
        c.errors++;
        const code = `${(e as { code?: string }).code ?? String(e)}${socketError(e)}`;
        errors[`${kind}: ${code}`] = (errors[`${kind}: ${code}`] ?? 0) + 1;
        return undefined;
      }
    };
    const upload = async (key: AccountKey, n: number) => {
      const out = join(work, `${key.address.slice(0, 8)}-${n}.sealed`);
      const { signed } = await sealDataset({
        file: csv,
        out,
        owner: key,
        worker,
        analysts: [key.address],
        measurements: [worker.measurement],
        policy: parseDatasetPolicy('obscura-policy: 1\npipelines: any\nmin_group_size: 5\n'),
      });
      const form = new FormData();
      form.append('manifest', JSON.stringify(signed));
      form.append('sealed', new Blob([readFileSync(out)]), 'sealed');
      rmSync(out, { force: true });
      return ((await new ApiClient(url, key).postForm('/v1/datasets', form)) as { id: string }).id;
    };
    // Every client has a dataset before the clock starts.
    const datasets = await Promise.all(keys.map((k) => upload(k, 0)));
    const began = Date.now();
    const measure = () => {
      const pids = processes(hostPid);
      return {
        at: (Date.now() - began) / 1000,
        host: usage(pids.host),
        heap: lastProbe(probeFile),
        mallocMiB: mallocHeapMiB(pids.host),
        enclave: usage(pids.enclave),
        chain: usage(pids.chain),
      };
    };
    const startRetained = SNAPSHOTS ? await snapshot(hostPid, probeFile) : undefined;
    const start = measure();
    const points = [start];
    const sampler = setInterval(() => points.push(measure()), SAMPLE_SECONDS * 1000);
    const until = Date.now() + SECONDS * 1000;
    let succeeded = 0;
    await Promise.all(
      keys.map(async (key, i) => {
        const api = new ApiClient(url, key);
        let pending: string | undefined;
        for (let n = 1; Date.now() < until; n++) {
          const roll = (n * 7 + i) % 10;
          if (roll === 0) await count('upload', () => upload(key, n));
          else if (roll < 3 && !pending) {
            const job = (await count('submit job', () =>
              submitJob(api, key, { pipeline: COUNT, inputs: { visits: datasets[i] as string } }),
            )) as { id: string } | undefined;
            pending = job?.id;
          } else if (pending) {
            const job = (await count('read job', () => api.get(`/v1/jobs/${pending}`))) as
              | { status: string; result?: string; error?: { code: string } }
              | undefined;
            if (job?.status === 'succeeded') {
              succeeded++;
              await count('read result', () => api.get(`/v1/results/${job.result}`));
              pending = undefined;
            } else if (job && ['failed', 'cancelled'].includes(job.status)) {
              const key = `job ${job.status}: ${job.error?.code ?? 'no code'}`;
              errors[key] = (errors[key] ?? 0) + 1;
              pending = undefined;
            }
          } else await count('list results', () => api.get('/v1/results'));
          await new Promise((r) => setTimeout(r, 200));
        }
      }),
    );
    clearInterval(sampler);
    const end = measure();
    points.push(end);
    // After a full GC (the snapshot's): what the host still holds, not what it has yet to collect.
    const retained = SNAPSHOTS ? await snapshot(hostPid, probeFile) : undefined;
    const row = (who: 'host' | 'enclave' | 'chain') =>
      `| ${who} | ${start[who].rssMiB.toFixed(0)} | ${end[who].rssMiB.toFixed(0)} | ${start[who].fds} | ${end[who].fds} |`;
    return {
      title: 'Soak: mixed load from many clients',
      markdown: [
        `${CLIENTS} clients on loopback for ${SECONDS} s (uploads, count jobs, reads of jobs and results; jobs run one at a time); ${succeeded} jobs succeeded.`,
        '',
        '| request | ok | errors |',
        '| --- | ---: | ---: |',
        ...Object.entries(counts).map(([k, c]) => `| ${k} | ${c.ok} | ${c.errors} |`),
        '',
        '| process | RSS start (MiB) | RSS end (MiB) | fds start | fds end |',
        '| --- | ---: | ---: | ---: | ---: |',
        row('host'),
        row('enclave'),
        row('chain'),
        '',
        'The host over time (MiB; heap figures are process.memoryUsage() from inside the host, sampled every 10 s):',
        '',
        '| s | host RSS | malloc heap | heap used | heap total | external | array buffers | host fds | enclave RSS | chain RSS |',
        '| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
        ...points.map(
          (p) =>
            `| ${p.at.toFixed(0)} | ${p.host.rssMiB.toFixed(0)} | ${p.mallocMiB.toFixed(0)} | ${mib(p.heap?.heapUsed)} | ${mib(p.heap?.heapTotal)} | ${mib(p.heap?.external)} | ${mib(p.heap?.arrayBuffers)} | ${p.host.fds} | ${p.enclave.rssMiB.toFixed(0)} | ${p.chain.rssMiB.toFixed(0)} |`,
        ),
        ...(startRetained && retained
          ? [
              '',
              `After a full GC (heap snapshots): heap used ${mib(startRetained.heapUsed)} MiB at the start, ${mib(retained.heapUsed)} MiB at the end; RSS ${mib(startRetained.rss)} → ${mib(retained.rss)} MiB.`,
            ]
          : []),
        ...(Object.keys(errors).length
          ? [
              '',
              `Errors: ${Object.entries(errors)
                .map(([k, n]) => `${k} × ${n}`)
                .join('; ')}.`,
            ]
          : []),
      ].join('\n'),
    };
  } finally {
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
    rmSync(work, { recursive: true, force: true });
  }
}
