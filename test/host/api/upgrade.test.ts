/**
 * Key continuity across an enclave upgrade, both paths, with real processes: a dataset
 * sealed before an authorised upgrade is readable after it; without the on-chain
 * authorisation the new code starts with no access to it, and says so.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningHost, startHost } from '../../../src/host/api/host.ts';
import { ApiClient } from '../../../src/cli/client.ts';
import { submitJob } from '../../../src/client/job-request.ts';
import { sealDataset } from '../../../src/cli/seal-dataset.ts';
import { type AccountKey, accountKeyFromSuri, loadAccountKey } from '../../../src/crypto/index.ts';
import { signUpgradeAuthorization } from '../../../src/contracts/upgrade-authorization.ts';
import { computeMeasurement, PROJECT_ROOT } from '../../../src/contracts/measurement.ts';
import { JobRecordSchema } from '../../../src/contracts/api-records.ts';
import { compiledEnclave } from '../../helpers/compiled-enclave.ts';
import { upgradedTree } from '../../helpers/tree.ts';
import { workerChain } from '../../helpers/worker-chain.ts';

const CSV = join(PROJECT_ROOT, 'datasets/visits.csv');
const PIPELINE = `obscura: 1
name: count-by-region
inputs: { visits: { columns: { region: string } } }
steps:
  - id: by_region
    aggregate: { from: visits, group_by: [region], measures: { n: { count: "*" } } }
outputs: { by_region: { min_group_size: 1 } }
`;

let work: string;
let newRoot: string;
let M1: string;
let M2: string;
let owner: AccountKey;
let analyst: AccountKey;

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'obscura-upgrade-'));
  newRoot = upgradedTree('v2');
  M1 = computeMeasurement();
  M2 = computeMeasurement(newRoot);
  owner = await accountKeyFromSuri('//UpgradeOwner');
  analyst = await accountKeyFromSuri('//UpgradeAnalyst');
});

afterAll(() => {
  rmSync(work, { recursive: true, force: true });
  rmSync(newRoot, { recursive: true, force: true });
});

/** Start v1, seal and upload a dataset accepting `measurements`, optionally authorise v1 → v2, stop. */
async function beforeUpgrade(dataDir: string, opts: { authorize: boolean; measurements: string[] }) {
  const logs: string[] = [];
  const host = await startHost({
    dataDir,
    port: 0,
    chainEndpoint: (await workerChain()).endpoint,
    enclaveSpawn: compiledEnclave,
    log: (_l, m) => logs.push(m),
  });
  try {
    const w = host.workers.list()[0] as { id: string; recipient: string; measurement: string };
    expect(w.measurement).toBe(M1);
    const out = join(work, `${Math.random().toString(16).slice(2)}.sealed`);
    const { signed } = await sealDataset({
      file: CSV,
      out,
      owner,
      worker: w,
      analysts: [analyst.address],
      measurements: opts.measurements,
    });
    const form = new FormData();
    const { readFileSync } = await import('node:fs');
    form.append('manifest', JSON.stringify(signed));
    form.append('sealed', new Blob([readFileSync(out)]), 'v.sealed');
    const dataset = (await new ApiClient(host.url, owner).postForm('/v1/datasets', form)) as { id: string };
    if (opts.authorize) {
      const denied = new ApiClient(host.url, analyst).post(
        '/v1/upgrades',
        signUpgradeAuthorization(M1, M2, analyst),
      );
      await expect(denied).rejects.toMatchObject({ code: 'not_operator' });
      // The operator is the account the host made in its data directory at first start.
      const operator = await loadAccountKey(join(dataDir, 'operator.key'));
      await new ApiClient(host.url, operator).post(
        '/v1/upgrades',
        signUpgradeAuthorization(M1, M2, operator),
      );
    }
    return { dataset: dataset.id, recipient: w.recipient };
  } finally {
    await host.close();
  }
}

async function runJob(host: RunningHost, dataset: string) {
  const api = new ApiClient(host.url, analyst);
  const job = JobRecordSchema.parse(
    await submitJob(api, analyst, { pipeline: PIPELINE, inputs: { visits: dataset } }),
  );
  for (;;) {
    const j = JobRecordSchema.parse(await api.get(`/v1/jobs/${job.id}`));
    if (j.status === 'succeeded' || j.status === 'failed') return j;
    await new Promise((r) => setTimeout(r, 200));
  }
}

describe('enclave upgrade', () => {
  it('hands the identity to authorised new code: old datasets stay readable', async () => {
    const dataDir = join(work, 'authorised');
    const { dataset, recipient } = await beforeUpgrade(dataDir, { authorize: true, measurements: [M1, M2] });
    const logs: string[] = [];
    const host = await startHost({
      dataDir,
      port: 0,
      chainEndpoint: (await workerChain()).endpoint,
      enclaveSpawn: compiledEnclave,
      enclaveRoot: newRoot,
      predecessorRoot: PROJECT_ROOT,
      predecessorSpawn: compiledEnclave,
      log: (_l, m) => logs.push(m),
    });
    try {
      const w = host.workers.list()[0];
      expect(w?.measurement).toBe(M2);
      expect(w?.recipient).toBe(recipient);
      expect(logs.join('\n')).toMatch(/handed over/);
      const job = await runJob(host, dataset);
      expect(job.status, JSON.stringify(job.error)).toBe('succeeded');
    } finally {
      await host.close();
    }
    // And the new code keeps the identity across its own restarts, without the old code.
    const again = await startHost({
      dataDir,
      port: 0,
      chainEndpoint: (await workerChain()).endpoint,
      enclaveSpawn: compiledEnclave,
      enclaveRoot: newRoot,
    });
    try {
      expect(again.workers.list()[0]?.recipient).toBe(recipient);
    } finally {
      await again.close();
    }
  }, 240_000);

  it('gives unauthorised new code no access, and says so', async () => {
    const dataDir = join(work, 'unauthorised');
    const { dataset, recipient } = await beforeUpgrade(dataDir, { authorize: false, measurements: [M1, M2] });
    const logs: string[] = [];
    const host = await startHost({
      dataDir,
      port: 0,
      chainEndpoint: (await workerChain()).endpoint,
      enclaveSpawn: compiledEnclave,
      enclaveRoot: newRoot,
      predecessorRoot: PROJECT_ROOT,
      predecessorSpawn: compiledEnclave,
      log: (_l, m) => logs.push(m),
    });
    try {
      const w = host.workers.list()[0];
      expect(w?.measurement).toBe(M2);
      expect(w?.recipient).not.toBe(recipient);
      expect(logs.join('\n')).toMatch(/no access/);
      const job = await runJob(host, dataset);
      expect(job.status).toBe('failed');
      expect(job.error?.code).toBe('dataset_wrong_recipient');
    } finally {
      await host.close();
    }
  }, 240_000);
});
