/**
 * Crash harness, uploads: a real `obscura serve` is SIGKILLed at each named point of an
 * upload's write path (OBSCURA_FAILPOINT, src/common/failpoint.ts) and restarted on the same
 * data directory, and every restart must show the invariants (node.ts): what was not
 * acknowledged is invisible, no staging file or orphan blob is left. One data directory goes
 * through the three points in turn, so each restart also recovers from the crashes before
 * it. The job and ledger points are in crash-jobs.test.ts, which runs beside this file.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { CrashRig } from './rig.ts';

let rig: CrashRig;

beforeAll(async () => {
  rig = await CrashRig.start('uploads', 'upload.staged');
}, 120_000);

afterEach((t) => {
  // What the node said is the first thing to read when an invariant breaks.
  if (t.task.result?.state === 'fail') console.error(rig?.node.output().slice(-6000));
});

afterAll(async () => {
  await rig?.close();
});

describe('kill -9 at each point of an upload, restart on the same data directory', () => {
  it('during an upload’s staging: the dataset is invisible, the staging file gone', {
    timeout: 180_000,
  }, async () => {
    await expect(rig.upload('a')).rejects.toThrow();
    await rig.restart('upload.validated');
    const { datasets } = await rig.invariants();
    expect(datasets).toEqual([]);
  });

  it('between the enclave’s verdict and the blob’s commit: invisible, nothing left', {
    timeout: 180_000,
  }, async () => {
    await expect(rig.upload('b')).rejects.toThrow();
    await rig.restart('upload.committed');
    expect((await rig.invariants()).datasets).toEqual([]);
  });

  it('between the blob’s commit and the dataset’s record: the orphan blob is removed', {
    timeout: 180_000,
  }, async () => {
    await expect(rig.upload('c')).rejects.toThrow();
    await rig.restart();
    expect((await rig.invariants()).datasets).toEqual([]);
    // The directory is still usable: the next upload is acknowledged and listed.
    const { dataset } = await rig.upload('d');
    expect((await rig.invariants()).datasets.map((d) => d.id)).toEqual([dataset]);
  });
});
