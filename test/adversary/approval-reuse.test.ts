/**
 * Attack: an approval is stretched beyond what the owner read and signed. A hostile host (or
 * another analyst) attaches the owner's approval of pipeline P — given to analyst Alice for
 * one purpose, for one run, for a limited time — to Bob's job, to Alice's job for another
 * purpose, to a job after the approval expired, or to Alice's second job; it drives the
 * enclave directly, as a host that skips its own checks would.
 * Promise it would break: an approval covers one analyst, one purpose (its SHA-256), an
 * expiry and a number of runs, all enforced by the enclave, which counts runs in its ledger
 * (anchored on chain like budget spends, so a restart or rollback cannot reset them).
 * Each test fails if the enclave runs the job.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AccountKey, accountKeyFromSuri } from '../../src/crypto/index.ts';
import { manifestHash, type SignedManifest } from '../../src/crypto/manifest.ts';
import type { EnclaveClient } from '../../src/host/enclave-client.ts';
import { parsePipeline, pipelineHash } from '../../src/pipelines/index.ts';
import { purposeHash, signApproval } from '../../src/privacy/index.ts';
import { ApiClient } from '../../src/cli/client.ts';
import { JobRecordSchema, ResultDocumentSchema } from '../../src/contracts/api-records.ts';
import { type DataHost, startDataHost } from '../helpers/data-host.ts';
import { enclaveJob, finished, postJob } from '../helpers/jobs.ts';
import { inProcessEnclave } from '../helpers/in-process-enclave.ts';

const PIPELINE = `obscura: 1
name: approval-reuse
inputs: { visits: { columns: { region: string, cost: float64 } } }
steps:
  - id: by_region
    aggregate: { from: visits, group_by: [region], measures: { n: { count: "*" }, total: { sum: cost } } }
outputs: { by_region: { min_group_size: 5 } }
`;
const PURPOSE = 'regional cost study for the 2027 budget';
const P = pipelineHash(parsePipeline(PIPELINE));

let t: DataHost;
let owner: AccountKey;
let alice: AccountKey;
let bob: AccountKey;
let enclave: EnclaveClient;
let dataset: string;
let signed: SignedManifest;
let sealed: string;

const input = (approval?: ReturnType<typeof signApproval>) => ({
  name: 'visits',
  datasetId: dataset,
  blobPath: sealed,
  manifest: signed,
  ...(approval ? { approval } : {}),
});
const approvalFor = (over: Partial<Parameters<typeof signApproval>[0]> = {}, now?: Date) =>
  signApproval(
    {
      dataset: manifestHash(signed.manifest),
      pipeline: P,
      analyst: alice.address,
      purpose: purposeHash(PURPOSE),
      ...over,
    },
    owner,
    now,
  );
let n = 0;
const id = () => `reuse-${++n}`;

beforeAll(async () => {
  t = await startDataHost({ enclaveSpawn: inProcessEnclave });
  owner = await accountKeyFromSuri('//ReuseOwner');
  alice = await accountKeyFromSuri('//ReuseAlice');
  bob = await accountKeyFromSuri('//ReuseBob');
  enclave = t.host.workers.get(t.worker.id);
  ({ dataset, signed, sealed } = await t.seal({
    owner,
    analysts: [alice, bob],
    policy: 'obscura-policy: 1\npipelines: approval\n',
  }));
}, 180_000);

afterAll(async () => {
  await t?.close();
});

describe("an owner's approval covers one analyst, purpose, expiry and number of runs", () => {
  it("refuses Alice's approval on Bob's job, in the enclave and on the host", async () => {
    const job = await enclaveJob(bob, {
      id: id(),
      pipeline: PIPELINE,
      inputs: [input(approvalFor())],
      purpose: PURPOSE,
    });
    await expect(enclave.request('run_job', { job })).rejects.toMatchObject({
      code: 'approval_analyst_mismatch',
      status: 403,
    });
    // The host stores the approval for Alice only: Bob's job waits for an approval of its own.
    await new ApiClient(t.host.url, owner).post(
      '/v1/approvals',
      approvalFor({ runs: 3, purpose: purposeHash('for Alice only') }),
    );
    const bobs = JobRecordSchema.parse(
      await postJob(t.host.url, bob, {
        pipeline: PIPELINE,
        inputs: { visits: dataset },
        purpose: 'for Alice only',
      }),
    );
    expect(bobs.status).toBe('awaiting_approval');
  }, 60_000);

  it('refuses the approval on a job for another purpose, even one character off', async () => {
    for (const purpose of ['something else entirely', `${PURPOSE} `, '']) {
      const job = await enclaveJob(alice, {
        id: id(),
        pipeline: PIPELINE,
        inputs: [input(approvalFor())],
        ...(purpose ? { purpose } : {}),
      });
      await expect(enclave.request('run_job', { job })).rejects.toMatchObject({
        code: 'approval_purpose_mismatch',
        status: 403,
      });
    }
  });

  it('refuses an expired approval', async () => {
    const tenDaysAgo = new Date(Date.now() - 10 * 86_400_000);
    const expired = approvalFor({ expiresAt: new Date(Date.now() - 60_000) }, tenDaysAgo);
    const job = await enclaveJob(alice, {
      id: id(),
      pipeline: PIPELINE,
      inputs: [input(expired)],
      purpose: PURPOSE,
    });
    await expect(enclave.request('run_job', { job })).rejects.toMatchObject({
      code: 'approval_expired',
      status: 403,
    });
  });

  it('an approval of one run runs once: the second job is refused, counted in the anchored ledger', async () => {
    const once = approvalFor({ runs: 1 });
    // The first job goes through the real host: the run is a ledger entry placed on chain before release.
    await new ApiClient(t.host.url, owner).post('/v1/approvals', once);
    const first = JobRecordSchema.parse(
      await postJob(t.host.url, alice, { pipeline: PIPELINE, inputs: { visits: dataset }, purpose: PURPOSE }),
    );
    expect(first.status).toBe('queued');
    const done = await finished(t.host.url, alice, first);
    expect(done.status, JSON.stringify(done.error)).toBe('succeeded');
    const doc = ResultDocumentSchema.parse(
      await new ApiClient(t.host.url, alice).get(`/v1/results/${done.result}`),
    );
    expect(doc.spend?.entry.entry.body).toMatchObject({
      kind: 'spend',
      charges: [],
      runs: [expect.stringMatching(/^[0-9a-f]{64}$/)],
    });
    expect(doc.spend?.placement.blockNumber).toBeLessThan(doc.anchor.blockNumber);
    // A host that hands the same approval over again, with a fresh request by Alice, is refused.
    const again = await enclaveJob(alice, {
      id: id(),
      pipeline: PIPELINE,
      inputs: [input(once)],
      purpose: PURPOSE,
    });
    await expect(enclave.request('run_job', { job: again })).rejects.toMatchObject({
      code: 'approval_runs_exhausted',
      status: 403,
    });
  }, 120_000);

  it('two jobs racing for the last run: exactly one takes it', async () => {
    const one = approvalFor({ runs: 1, expiresAt: new Date(Date.now() + 3_600_000) });
    const jobs = await Promise.all(
      [0, 1].map(() =>
        enclaveJob(alice, { id: id(), pipeline: PIPELINE, inputs: [input(one)], purpose: PURPOSE }),
      ),
    );
    const outcomes = await Promise.allSettled(jobs.map((job) => enclave.request('run_job', { job })));
    expect(outcomes.filter((o) => o.status === 'fulfilled')).toHaveLength(1);
    expect(outcomes.find((o) => o.status === 'rejected')).toMatchObject({
      reason: { code: 'approval_runs_exhausted' },
    });
  }, 90_000);
});
