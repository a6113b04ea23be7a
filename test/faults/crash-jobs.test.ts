/**
 * Crash harness, jobs, ledger and policy: a real `obscura serve` is SIGKILLed at each named
 * point of a job's, a budget spend's and a policy update's write paths (OBSCURA_FAILPOINT,
 * src/common/failpoint.ts) and restarted on the same data directory, and every restart must
 * show the invariants (node.ts): what was acknowledged is there and usable, every job ends
 * (or resumes), a result is stored iff its anchor is on chain (one anchored before the crash
 * is recovered, not lost), and every budget spend is anchored and counted. One data
 * directory goes through the points in turn, so each restart also recovers from all the
 * crashes before it. The upload points are in crash-uploads.test.ts, beside this file.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ApiClient } from '../../src/cli/client.ts';
import { manifestHash, type SignedManifest } from '../../src/crypto/manifest.ts';
import { parseDatasetPolicy, signPolicyUpdate } from '../../src/privacy/index.ts';
import { settledJobs } from './node.ts';
import { COUNT, DP_COUNT } from '../helpers/pipelines.ts';
import { CrashRig, POLICY } from './rig.ts';

let rig: CrashRig;
let dataset: string;
let signed: SignedManifest;

beforeAll(async () => {
  // The first failpoint is in a job: the upload before it passes no failpoint.
  rig = await CrashRig.start('jobs', 'job.running');
  ({ dataset, signed } = await rig.upload('d'));
}, 120_000);

afterEach((t) => {
  // What the node said is the first thing to read when an invariant breaks.
  if (t.task.result?.state === 'fail') console.error(rig?.node.output().slice(-6000));
});

afterAll(async () => {
  await rig?.close();
});

describe('kill -9 at each point of a job, a spend and a policy update, restart on the same data directory', () => {
  it('mid-job: the acknowledged dataset is there; the job ends failed as interrupted', {
    timeout: 180_000,
  }, async () => {
    const running = await rig.submit(COUNT, dataset);
    await rig.restart('result.anchored');
    const { datasets } = await rig.invariants();
    expect(datasets.map((d) => d.id)).toEqual([dataset]);
    expect((await rig.job(running.id))?.error?.code).toBe('job_interrupted');
  });

  it('between anchoring a result and storing it: the result is recovered, not lost', {
    timeout: 180_000,
  }, async () => {
    const anchored = await rig.submit(COUNT, dataset);
    await rig.restart('spend.committed');
    await rig.invariants();
    const after = await rig.job(anchored.id);
    expect(after?.status, JSON.stringify(after?.error)).toBe('succeeded');
    expect(rig.node.output()).toMatch(/resuming the anchor of its result/);
  });

  it('after a DP spend’s commit, before its anchor: the spend is anchored at restart and counted', {
    timeout: 180_000,
  }, async () => {
    const dp = await rig.submit(DP_COUNT, dataset);
    await rig.restart('ledger.anchored');
    const { budgets } = await rig.invariants();
    expect((await rig.job(dp.id))?.status).toBe('failed');
    expect(budgets[0]?.spends.map((s) => s.job)).toEqual([dp.id]);
    expect(budgets[0]?.epsilon.spent).toBeCloseTo(0.25, 9);
  });

  it('after a DP spend’s anchor, before the host records it: found on chain, not spent twice', {
    timeout: 180_000,
  }, async () => {
    const dp = await rig.submit(DP_COUNT, dataset);
    await rig.restart('policy.applied');
    const { budgets } = await rig.invariants();
    expect((await rig.job(dp.id))?.status).toBe('failed');
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
      rig.owner,
    );
    await expect(
      new ApiClient(rig.node.url, rig.owner).post(`/v1/datasets/${dataset}/policy`, v2),
    ).rejects.toThrow();
    await rig.restart();
    await rig.invariants();
    const state = (await new ApiClient(rig.node.url, rig.owner).get(`/v1/datasets/${dataset}/policy`)) as {
      version: number;
    };
    expect(state.version).toBe(2);
    // The dataset is still usable: host, enclave and chain agree on its policy.
    const ok = await rig.submit(COUNT, dataset);
    const done = (await settledJobs(rig.node.url, rig.analyst)).find((j) => j.id === ok.id);
    expect(done?.status, JSON.stringify(done?.error)).toBe('succeeded');
    await rig.invariants();
  });
});
