/**
 * Uploads and jobs share the enclave: upload checks go into the enclave process a few at a
 * time (FairGate), so a job sent while a stream of checks waits is answered without waiting
 * for the stream to drain, and every check still runs in full.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sealDataset } from '../../src/cli/seal-dataset.ts';
import { signedRequestForInputs } from '../../src/client/job-request.ts';
import { PROJECT_ROOT } from '../../src/contracts/measurement.ts';
import { accountKeyFromSuri } from '../../src/crypto/index.ts';
import { EnclaveClient } from '../../src/host/enclave-client.ts';
import { FairGate } from '../../src/host/enclave-share.ts';
import { compiledEnclave } from '../helpers/compiled-enclave.ts';

describe('FairGate', () => {
  it('runs at most `limit` tasks at once, in arrival order, and frees a turn when a task fails', async () => {
    const gate = new FairGate(2);
    let running = 0;
    let most = 0;
    const started: number[] = [];
    const task = (n: number) => async () => {
      started.push(n);
      running++;
      most = Math.max(most, running);
      await new Promise((r) => setTimeout(r, 5));
      running--;
      if (n === 1) throw new Error('task 1 fails');
      return n;
    };
    const all = Array.from({ length: 6 }, (_, n) => gate.run(task(n)));
    expect(gate.waiting).toBe(4);
    const settled = await Promise.allSettled(all);
    expect(most).toBe(2);
    expect(started).toEqual([0, 1, 2, 3, 4, 5]);
    expect(settled.map((s) => s.status)).toEqual([
      'fulfilled',
      'rejected',
      'fulfilled',
      'fulfilled',
      'fulfilled',
      'fulfilled',
    ]);
    expect(gate.waiting).toBe(0);
  });

  it('refuses a limit that is not a positive integer', () => {
    expect(() => new FairGate(0)).toThrow(RangeError);
  });
});

describe('a stream of upload checks beside a job', () => {
  const dir = mkdtempSync(join(tmpdir(), 'obscura-share-'));
  let enclave: EnclaveClient;
  beforeAll(async () => {
    enclave = await EnclaveClient.start({
      dataDir: join(dir, 'data'),
      workerId: 'share',
      spawn: compiledEnclave,
    });
  }, 60_000);
  afterAll(async () => {
    await enclave?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('does not make the job wait for the stream: it is answered while most checks still wait', async () => {
    const owner = await accountKeyFromSuri('//ShareOwner');
    const csv = join(dir, 'visits.csv');
    const lines = readFileSync(join(PROJECT_ROOT, 'datasets/visits.csv'), 'utf8').split('\n');
    writeFileSync(csv, `${lines.slice(0, 201).join('\n')}\n`);
    const { signed } = await sealDataset({
      file: csv,
      out: `${csv}.sealed`,
      owner,
      worker: { id: 'share', recipient: enclave.info.keys.recipient },
      analysts: [owner.address],
      measurements: [enclave.info.measurement],
    });
    const input = { datasetId: 'visits', blobPath: `${csv}.sealed`, manifest: signed };
    const pipeline = `obscura: 1
name: share-count
inputs: { visits: { columns: { region: string } } }
steps:
  - id: n
    aggregate: { from: visits, measures: { n: { count: "*" } } }
outputs: { n: { min_group_size: 10 } }
`;
    const jobInputs = [{ ...input, name: 'visits' }];
    const request = await signedRequestForInputs(owner, pipeline, jobInputs);
    // Warm: the first job loads DuckDB, which a fair share has nothing to do with.
    await enclave.request('run_job', { job: { id: 'warm', request, pipeline, inputs: jobInputs } });

    const CHECKS = 60;
    let checked = 0;
    const stream = Array.from({ length: CHECKS }, () =>
      enclave.request('validate_dataset', { input }).then((v) => {
        checked++;
        return v;
      }),
    );
    const again = await signedRequestForInputs(owner, pipeline, jobInputs);
    await enclave.request('run_job', { job: { id: 'beside', request: again, pipeline, inputs: jobInputs } });
    const checkedWhenAnswered = checked;
    // Every check ran in full and passed (a fair share skips nothing).
    expect((await Promise.all(stream)).every((v) => v.rows === 200)).toBe(true);
    // Sent all at once, the sixty checks went before the job; taking turns, the job is done early.
    expect(checkedWhenAnswered).toBeLessThan(CHECKS / 2);
  }, 60_000);
});
