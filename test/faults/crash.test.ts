/**
 * Crash harness: a real `obscura serve` is SIGKILLed at each named point of its write paths
 * (OBSCURA_FAILPOINT, src/common/failpoint.ts) and restarted on the same data directory, and
 * every restart must show the invariants (node.ts): what was acknowledged is there and
 * usable, what was not is invisible, no staging file or orphan blob is left, every job ends
 * (or resumes), a result is stored iff its anchor is on chain (one anchored before the crash
 * is recovered, not lost), and every budget spend is anchored and counted.
 *
 * One data directory goes through every point in turn, so each restart also recovers from
 * all the crashes before it. Small data (a 300-row slice of the sample visits).
 */
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from 'vitest';
import type { WorkerRecord } from '../../src/contracts/worker-record.ts';
import { ApiClient } from '../../src/cli/client.ts';
import { submitJob } from '../../src/client/job-request.ts';
import { type AccountKey, accountKeyFromSuri } from '../../src/crypto/index.ts';
import { manifestHash, type SignedManifest } from '../../src/crypto/manifest.ts';
import { PROJECT_ROOT } from '../../src/contracts/measurement.ts';
import { parseDatasetPolicy, signPolicyUpdate } from '../../src/privacy/index.ts';
import { JobRecordSchema } from '../../src/contracts/api-records.ts';
import { sealAndUpload } from '../helpers/datasets.ts';
import { boot, checkInvariants, crashed, type Node, settledJobs, stop } from './node.ts';

const POLICY =
  'obscura-policy: 1\npipelines: any\nmin_group_size: 5\ndp: { epsilon: 3, delta: 1.0e-5, max_epsilon_per_job: 1 }\n';

const COUNT = `obscura: 1
name: count
inputs: { visits: { columns: { region: string } } }
steps:
  - id: n
    aggregate: { from: visits, measures: { n: { count: "*" } } }
outputs: { n: { min_group_size: 10 } }
`;
const DP_COUNT = COUNT.replace('name: count', 'name: dp-count').replace(
  'min_group_size: 10 }',
  'min_group_size: 10, dp: { epsilon: 0.25 } }',
);

const work = mkdtempSync(join(tmpdir(), 'obscura-faults-'));
const dataDir = join(work, 'node');
let node: Node;
let owner: AccountKey;
let analyst: AccountKey;
let worker: WorkerRecord;
let csv: string;

const upload = (name: string) =>
  sealAndUpload({
    url: node.url,
    file: csv,
    out: join(work, `${name}.sealed`),
    owner,
    worker,
    analysts: [analyst.address],
    policy: POLICY,
  });
const submit = async (pipeline: string, dataset: string) =>
  JobRecordSchema.parse(
    await submitJob(new ApiClient(node.url, analyst), analyst, { pipeline, inputs: { visits: dataset } }),
  );
const invariants = () => checkInvariants({ node, dataDir, owner, analyst });
const job = async (id: string) => (await settledJobs(node.url, analyst)).find((j) => j.id === id);
/** Restart after a crash, dying next at `next` (if given). */
async function restart(next?: Parameters<typeof boot>[1]): Promise<void> {
  await crashed(node);
  node = await boot(dataDir, next);
}

let dataset: string;
let signed: SignedManifest;

beforeAll(async () => {
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  copyFileSync(inject('chainSnapshot'), join(dataDir, 'chain.sqlite'));
  csv = join(work, 'visits.csv');
  writeFileSync(
    csv,
    `${readFileSync(join(PROJECT_ROOT, 'datasets/visits.csv'), 'utf8').split('\n').slice(0, 301).join('\n')}\n`,
  );
  owner = await accountKeyFromSuri('//FaultsOwner');
  analyst = await accountKeyFromSuri('//FaultsAnalyst');
  node = await boot(dataDir, 'upload.staged');
  const { workers } = (await new ApiClient(node.url, owner).get('/v1/workers')) as {
    workers: WorkerRecord[];
  };
  worker = workers[0] as WorkerRecord;
}, 120_000);

afterEach((t) => {
  // What the node said is the first thing to read when an invariant breaks.
  if (t.task.result?.state === 'fail') console.error(node?.output().slice(-6000));
});

afterAll(async () => {
  if (node) await stop(node);
  rmSync(work, { recursive: true, force: true });
});

describe('kill -9 at each point, restart on the same data directory', () => {
  it('during an upload’s staging: the dataset is invisible, the staging file gone', {
    timeout: 180_000,
  }, async () => {
    await expect(upload('a')).rejects.toThrow();
    await restart('upload.validated');
    const { datasets } = await invariants();
    expect(datasets).toEqual([]);
  });

  it('between the enclave’s verdict and the blob’s commit: invisible, nothing left', {
    timeout: 180_000,
  }, async () => {
    await expect(upload('b')).rejects.toThrow();
    await restart('upload.committed');
    expect((await invariants()).datasets).toEqual([]);
  });

  it('between the blob’s commit and the dataset’s record: the orphan blob is removed', {
    timeout: 180_000,
  }, async () => {
    await expect(upload('c')).rejects.toThrow();
    await restart('job.running');
    expect((await invariants()).datasets).toEqual([]);
  });

  it('mid-job: the acknowledged dataset is there; the job ends failed as interrupted', {
    timeout: 180_000,
  }, async () => {
    ({ dataset, signed } = await upload('d'));
    const running = await submit(COUNT, dataset);
    await restart('result.anchored');
    const { datasets } = await invariants();
    expect(datasets.map((d) => d.id)).toEqual([dataset]);
    expect((await job(running.id))?.error?.code).toBe('job_interrupted');
  });

  it('between anchoring a result and storing it: the result is recovered, not lost', {
    timeout: 180_000,
  }, async () => {
    const anchored = await submit(COUNT, dataset);
    await restart('spend.committed');
    await invariants();
    const after = await job(anchored.id);
    expect(after?.status, JSON.stringify(after?.error)).toBe('succeeded');
    expect(node.output()).toMatch(/resuming the anchor of its result/);
  });

  it('after a DP spend’s commit, before its anchor: the spend is anchored at restart and counted', {
    timeout: 180_000,
  }, async () => {
    const dp = await submit(DP_COUNT, dataset);
    await restart('ledger.anchored');
    const { budgets } = await invariants();
    expect((await job(dp.id))?.status).toBe('failed');
    expect(budgets[0]?.spends.map((s) => s.job)).toEqual([dp.id]);
    expect(budgets[0]?.epsilon.spent).toBeCloseTo(0.25, 9);
  });

  it('after a DP spend’s anchor, before the host records it: found on chain, not spent twice', {
    timeout: 180_000,
  }, async () => {
    const dp = await submit(DP_COUNT, dataset);
    await restart('policy.applied');
    const { budgets } = await invariants();
    expect((await job(dp.id))?.status).toBe('failed');
    expect(budgets[0]?.spends).toHaveLength(2);
    expect(budgets[0]?.epsilon.spent).toBeCloseTo(0.5, 9);
  });

  it('during a policy update: applied by the enclave means in force after the restart', {
    timeout: 180_000,
  }, async () => {
    const v2 = signPolicyUpdate(
      {
        dataset: manifestHash(signed.manifest),
        version: 2,
        policy: parseDatasetPolicy(POLICY.replace('min_group_size: 5', 'min_group_size: 8')),
        revoked: false,
      },
      owner,
    );
    await expect(new ApiClient(node.url, owner).post(`/v1/datasets/${dataset}/policy`, v2)).rejects.toThrow();
    await restart();
    await invariants();
    const state = (await new ApiClient(node.url, owner).get(`/v1/datasets/${dataset}/policy`)) as {
      version: number;
    };
    expect(state.version).toBe(2);
    // The dataset is still usable: host, enclave and chain agree on its policy.
    const ok = await submit(COUNT, dataset);
    const done = (await settledJobs(node.url, analyst)).find((j) => j.id === ok.id);
    expect(done?.status, JSON.stringify(done?.error)).toBe('succeeded');
    await invariants();
  });
});
