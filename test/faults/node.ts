/**
 * The crash harness's node: `obscura serve` as a real process on a data directory that
 * outlives it, started with a failpoint (src/common/failpoint.ts) at which it SIGKILLs
 * itself, and the invariants every restart must show (checkInvariants).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'vitest';
import { DatasetBudgetSchema, type Health, HealthSchema } from '../../src/contracts/api-schemas.ts';
import { ChainClient } from '../../src/chain/index.ts';
import { ApiClient } from '../../src/cli/client.ts';
import type { Failpoint } from '../../src/common/failpoint.ts';
import type { AccountKey } from '../../src/crypto/index.ts';
import {
  DatasetRecordSchema,
  JobRecordSchema,
  ResultDocumentSchema,
} from '../../src/contracts/api-records.ts';
import { entryFor } from '../helpers/cli.ts';
import { serveFromBuild } from '../helpers/compiled-enclave.ts';

/** A running node. */
export interface Node {
  url: string;
  child: ChildProcess;
  output: () => string;
  /** Resolves with the signal (or exit code) the process ended with. */
  ended: Promise<string>;
  /** Pids of the processes it started (its enclaves), seen while it ran. */
  children: Set<number>;
}

/**
 * Pids of the live processes whose parent is `pid`: the kernel's list of each of its threads'
 * children (/proc/<pid>/task/<tid>/children), a few small reads where scanning every process
 * on the machine read ~100-200 files four times a second per running node; that scan where
 * the kernel keeps no such list.
 */
function childrenOf(pid: number): number[] {
  try {
    return readdirSync(`/proc/${pid}/task`).flatMap((tid) =>
      readFileSync(`/proc/${pid}/task/${tid}/children`, 'utf8').split(/\s+/).filter(Boolean).map(Number),
    );
  } catch {
    // The process is gone (nothing to add), a thread ended meanwhile or the kernel keeps no
    // list: scan.
    if (!existsSync(`/proc/${pid}`)) return [];
  }
  const out: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      // Fields after the command name (which may hold spaces): state, ppid, …
      const [, ppid] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(ppid) === pid) out.push(Number(entry));
    } catch {
      // Gone meanwhile.
    }
  }
  return out;
}

/** Whether `pid` is still running (a zombie waiting for its reaper counts as gone). */
function running(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

/**
 * Start `obscura serve` on `dataDir` (a free port) and the chain at `chain`, dying at
 * `failpoint` if given. The chain outlives the node, as a chain a node joins does. `root`
 * is the checkout whose `obscura` runs (this project's unless given: another release's code).
 */
export async function boot(
  dataDir: string,
  chain: string,
  failpoint?: Failpoint,
  root?: string,
): Promise<Node> {
  // The tree's enclave from its compiled build when it is fresh (compiled-enclave.ts); this
  // project's serve from the suite's bundle of the CLI (cli.ts entryFor), another tree's
  // through its own `obscura`.
  const build = serveFromBuild(root);
  const env = { ...process.env, ...build.env, ...(failpoint ? { OBSCURA_FAILPOINT: failpoint } : {}) };
  if (!failpoint) delete env.OBSCURA_FAILPOINT;
  const child = spawn(
    process.execPath,
    [
      ...build.execArgv,
      root ? join(root, 'bin/obscura.js') : entryFor(['serve']),
      'serve',
      '--data-dir',
      dataDir,
      '--port',
      '0',
      '--chain',
      chain,
      '--quiet',
    ],
    { env, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let out = '';
  const add = (d: Buffer) => {
    out += d.toString();
  };
  child.stdout?.on('data', add);
  child.stderr?.on('data', add);
  const ended = new Promise<string>((resolve) =>
    child.once('exit', (code, signal) => resolve(signal ?? `code ${code}`)),
  );
  // Its enclaves, to check they end with it (crashed()).
  const children = new Set<number>();
  const watch = setInterval(() => {
    if (child.pid) for (const pid of childrenOf(child.pid)) children.add(pid);
  }, 250);
  void ended.then(() => clearInterval(watch));
  const url = await new Promise<string>((resolve, reject) => {
    // A start takes seconds; 150 s is for a machine shared with other test runs (a 90 s limit
    // failed under a load of 30 on 2 cores), still inside the tests' 180 s.
    const timer = setTimeout(() => {
      // Not left running: a node that never started would hold its data directory and
      // processes past the test run (seen after boot timeouts under load).
      child.kill('SIGKILL');
      reject(new Error(`node did not start:\n${out}`));
    }, 150_000);
    const check = () => {
      const m = /API\s+(http:\/\/\S+)/.exec(out);
      if (!m?.[1]) return;
      clearTimeout(timer);
      resolve(m[1]);
    };
    child.stdout?.on('data', check);
    ended.then((how) => {
      clearTimeout(timer);
      reject(new Error(`node ended (${how}) before it started:\n${out}`));
    });
  });
  return { url, child, output: () => out, ended, children };
}

/** Wait for the node to die at its failpoint; fails unless it was SIGKILLed. */
export async function crashed(node: Node): Promise<void> {
  const how = await Promise.race([
    node.ended,
    new Promise<string>((r) => setTimeout(() => r('still running after 60 s'), 60_000)),
  ]);
  expect(how, node.output()).toBe('SIGKILL');
  // An enclave outliving its host would hold its memory and identity with no one to answer.
  const until = Date.now() + 15_000;
  let left = [...node.children].filter(running);
  while (left.length && Date.now() < until) {
    await new Promise((r) => setTimeout(r, 100));
    left = left.filter(running);
  }
  for (const pid of left) process.kill(pid, 'SIGKILL');
  expect(left, 'processes the node started outlived it').toEqual([]);
}

/** Stop the node gracefully. */
export async function stop(node: Node): Promise<void> {
  if (node.child.exitCode !== null || node.child.signalCode !== null) return;
  node.child.kill('SIGTERM');
  await node.ended;
}

/** Every job of `analyst` once none is queued, running or anchoring. */
export async function settledJobs(url: string, analyst: AccountKey, timeoutMs = 60_000) {
  const api = new ApiClient(url, analyst);
  const until = Date.now() + timeoutMs;
  for (;;) {
    const { jobs } = (await api.get('/v1/jobs')) as { jobs: unknown[] };
    const parsed = jobs.map((j) => JobRecordSchema.parse(j));
    if (parsed.every((j) => ['succeeded', 'failed', 'cancelled'].includes(j.status))) return parsed;
    if (Date.now() > until)
      throw new Error(`jobs not final: ${parsed.map((j) => `${j.id}=${j.status}`).join(', ')}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** /v1/health once the node has resumed what its last stop left unanchored. */
export async function recovered(url: string, timeoutMs = 60_000): Promise<Health> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const health = HealthSchema.parse(await (await fetch(`${url}/v1/health`)).json());
    if (!health.anchoring.recovering) return health;
    if (Date.now() > until) throw new Error(`still recovering: ${JSON.stringify(health)}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/**
 * The invariants after a restart: no staging file; the blobs are exactly those of the
 * datasets listed, each present; every job final; every result's anchor on the chain; the
 * budget's anchored spends add up to what the enclave counts as spent. Returns what it read.
 */
export async function checkInvariants(args: {
  node: Node;
  dataDir: string;
  owner: AccountKey;
  analyst: AccountKey;
  /** A client of the chain at `endpoint` the caller keeps open (default: one made and closed here). */
  chainAt?: (endpoint: string) => Promise<ChainClient>;
}) {
  const { node, dataDir, owner, analyst, chainAt } = args;
  const tmp = join(dataDir, 'blobs', 'tmp');
  expect(existsSync(tmp) ? readdirSync(tmp) : [], 'staging files left').toEqual([]);
  const { datasets } = (await new ApiClient(node.url, owner).get('/v1/datasets')) as { datasets: unknown[] };
  const records = datasets.map((d) => DatasetRecordSchema.parse(d));
  const root = join(dataDir, 'blobs', 'sha256');
  // `<blob>.store` beside a blob is the enclave's store of it (committed and swept with it).
  const blobs = existsSync(root)
    ? readdirSync(root).flatMap((d) => readdirSync(join(root, d)).filter((f) => !f.endsWith('.store')))
    : [];
  expect(blobs.sort(), 'blobs on disk = blobs of datasets').toEqual(
    [...new Set(records.map((r) => r.ciphertext.sha256))].sort(),
  );
  const health = await recovered(node.url);
  const jobs = await settledJobs(node.url, analyst);
  const chain = await (chainAt ?? ChainClient.connect)(health.chain.endpoint);
  try {
    for (const job of jobs.filter((j) => j.status === 'succeeded')) {
      const doc = ResultDocumentSchema.parse(
        await new ApiClient(node.url, analyst).get(`/v1/results/${job.result}`),
      );
      const check = await chain.verifyAnchor(doc.anchor, { kind: 'result', hash: doc.hash });
      expect(check.ok, `result of job ${job.id} anchored`).toBe(true);
    }
  } finally {
    if (!chainAt) await chain.close();
  }
  const budgets = [];
  for (const r of records) {
    const b = DatasetBudgetSchema.parse(
      await new ApiClient(node.url, owner).get(`/v1/datasets/${r.id}/budget`),
    );
    const anchored = b.spends.reduce((sum, s) => sum + s.epsilon, 0);
    expect(b.epsilon.spent, `the spends of dataset ${r.id} are all anchored and listed`).toBeCloseTo(
      anchored,
      9,
    );
    budgets.push(b);
  }
  return { datasets: records, jobs, budgets };
}
