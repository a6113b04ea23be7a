/**
 * Attack: a hostile host speaks for an analyst. It hands the enclave a job spec of its own
 * making — another analyst's name on a request, a request it signed itself, a request
 * replayed to run a job twice, a stale request, or an honest request with the pipeline text
 * or the datasets swapped — driving the enclave directly (EnclaveClient), as a host that
 * skips its own checks would.
 * Promise it would break: the enclave runs a job only as the analyst who signed its request,
 * only once per request, only recently, and only exactly what the request asks for; the
 * signed result carries that request, so an auditor sees who asked for what.
 * Each test fails if the enclave accepts the forged job.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiClient } from '../../src/cli/client.ts';
import { signedRequestForInputs } from '../../src/client/job-request.ts';
import { type AccountKey, accountKeyFromSuri } from '../../src/crypto/index.ts';
import type { EnclaveClient } from '../../src/host/enclave-client.ts';
import type { JobSpec } from '../../src/contracts/enclave-protocol.ts';
import { JOB_REQUEST_MAX_AGE_MS, signJobRequest } from '../../src/privacy/job-request.ts';
import { refusal } from '../helpers/datasets.ts';
import { type DataHost, type SealedDataset, startDataHost } from '../helpers/data-host.ts';
import { enclaveJob, postJob } from '../helpers/jobs.ts';
import { inProcessEnclave } from '../helpers/in-process-enclave.ts';

const PIPELINE = `obscura: 1
name: impersonation
inputs: { visits: { columns: { region: string, cost: float64 } } }
steps:
  - id: by_region
    aggregate: { from: visits, group_by: [region], measures: { n: { count: "*" }, total: { sum: cost } } }
outputs: { by_region: { min_group_size: 5 } }
`;
const OTHER_PIPELINE = PIPELINE.replace('total: { sum: cost }', 'total: { max: cost }');

let t: DataHost;
let owner: AccountKey;
let alice: AccountKey;
let bob: AccountKey;
let hostKey: AccountKey;
let enclave: EnclaveClient;
const d: Record<'a' | 'b', SealedDataset> = {} as never;

const input = (x: (typeof d)['a']) => ({
  name: 'visits',
  datasetId: x.dataset,
  blobPath: x.sealed,
  manifest: x.signed,
});
let n = 0;
const id = () => `forged-${++n}`;

beforeAll(async () => {
  t = await startDataHost({ enclaveSpawn: inProcessEnclave });
  owner = await accountKeyFromSuri('//ImpersonationOwner');
  alice = await accountKeyFromSuri('//ImpersonationAlice');
  bob = await accountKeyFromSuri('//ImpersonationBob');
  hostKey = await accountKeyFromSuri('//ImpersonationHost');
  enclave = t.host.workers.get(t.worker.id);
  for (const k of ['a', 'b'] as const) {
    // Both datasets allow both analysts: the manifest's list alone cannot tell them apart.
    d[k] = await t.seal({ owner, analysts: [alice, bob], name: `${k}.sealed` });
  }
}, 180_000);

afterAll(async () => {
  await t?.close();
});

describe('the enclave takes the analyst only from the signed request', () => {
  it('runs an honest job as the analyst who signed it, and puts the request in the signed result', async () => {
    const job = await enclaveJob(alice, {
      id: id(),
      pipeline: PIPELINE,
      inputs: [input(d.a)],
      purpose: 'cost study',
    });
    const out = await enclave.request('run_job', { job });
    if (!('signed' in out)) throw new Error('expected a released result');
    expect(out.signed.result.analyst).toBe(alice.address);
    expect(out.signed.result.request).toEqual(job.request);
  }, 60_000);

  it('ignores an analyst name the host adds beside the request', async () => {
    const job = await enclaveJob(alice, { id: id(), pipeline: PIPELINE, inputs: [input(d.a)] });
    const out = await enclave.request('run_job', { job: { ...job, analyst: bob.address } as JobSpec });
    if (!('signed' in out)) throw new Error('expected a released result');
    expect(out.signed.result.analyst).toBe(alice.address);
  }, 60_000);

  it("refuses Alice's request rewritten to name Bob", async () => {
    const job = await enclaveJob(alice, { id: id(), pipeline: PIPELINE, inputs: [input(d.a)] });
    const rewritten = {
      ...job,
      request: { ...job.request, request: { ...job.request.request, analyst: bob.address } },
    };
    await expect(enclave.request('run_job', { job: rewritten })).rejects.toMatchObject({
      code: 'job_request_signature_invalid',
      status: 401,
    });
  });

  it("refuses a request the host signed with its own key in Bob's name, and one it signed as itself", async () => {
    const job = await enclaveJob(hostKey, { id: id(), pipeline: PIPELINE, inputs: [input(d.a)] });
    const inBobsName = {
      ...job,
      request: { ...job.request, request: { ...job.request.request, analyst: bob.address } },
    };
    await expect(enclave.request('run_job', { job: inBobsName })).rejects.toMatchObject({
      code: 'job_request_signature_invalid',
    });
    // Signed honestly as the host's own account, the manifests do not allow it.
    await expect(enclave.request('run_job', { job })).rejects.toMatchObject({
      code: 'analyst_not_allowed',
      status: 403,
    });
  });

  it('refuses a request replayed to run the job twice, even under a new job id', async () => {
    const job = await enclaveJob(alice, { id: id(), pipeline: PIPELINE, inputs: [input(d.a)] });
    expect(await enclave.request('run_job', { job })).toHaveProperty('signed');
    await expect(enclave.request('run_job', { job })).rejects.toMatchObject({
      code: 'job_request_replayed',
      status: 409,
    });
    await expect(enclave.request('run_job', { job: { ...job, id: id() } })).rejects.toMatchObject({
      code: 'job_request_replayed',
    });
    // Two copies at once: exactly one runs.
    const twin = await enclaveJob(alice, { id: id(), pipeline: PIPELINE, inputs: [input(d.a)] });
    const both = await Promise.allSettled([
      enclave.request('run_job', { job: twin }),
      enclave.request('run_job', { job: { ...twin, id: id() } }),
    ]);
    expect(both.filter((o) => o.status === 'fulfilled')).toHaveLength(1);
    expect(both.find((o) => o.status === 'rejected')).toMatchObject({
      reason: { code: 'job_request_replayed' },
    });
  }, 90_000);

  it('refuses a stale request, and one dated in the future', async () => {
    const fresh = await signedRequestForInputs(alice, PIPELINE, [input(d.a)]);
    const at = (t: number) =>
      signJobRequest(
        { pipeline: fresh.request.pipeline, inputs: fresh.request.inputs, outputs: fresh.request.outputs },
        alice,
        new Date(t),
      );
    for (const request of [at(Date.now() - JOB_REQUEST_MAX_AGE_MS - 60_000), at(Date.now() + 3_600_000)]) {
      await expect(
        enclave.request('run_job', { job: { id: id(), request, pipeline: PIPELINE, inputs: [input(d.a)] } }),
      ).rejects.toMatchObject({ code: 'job_request_expired' });
    }
  });

  it('refuses an honest request with the pipeline text swapped', async () => {
    const job = await enclaveJob(alice, { id: id(), pipeline: PIPELINE, inputs: [input(d.a)] });
    await expect(
      enclave.request('run_job', { job: { ...job, pipeline: OTHER_PIPELINE } }),
    ).rejects.toMatchObject({ code: 'job_request_mismatch', status: 422, message: /pipeline/ });
  });

  it('refuses an honest request with the dataset swapped, or its manifest, or a dataset added', async () => {
    const job = await enclaveJob(alice, { id: id(), pipeline: PIPELINE, inputs: [input(d.a)] });
    await expect(enclave.request('run_job', { job: { ...job, inputs: [input(d.b)] } })).rejects.toMatchObject(
      { code: 'job_request_mismatch', message: /inputs/ },
    );
    await expect(
      enclave.request('run_job', { job: { ...job, inputs: [{ ...input(d.a), manifest: d.b.signed }] } }),
    ).rejects.toMatchObject({ code: 'job_request_mismatch' });
    await expect(
      enclave.request('run_job', { job: { ...job, inputs: [input(d.a), { ...input(d.b), name: 'extra' }] } }),
    ).rejects.toMatchObject({ code: 'job_request_mismatch' });
  });
});

describe('the host refuses the same on POST /v1/jobs', () => {
  it("refuses a job without a request, and Bob submitting Alice's request", async () => {
    expect(
      await refusal(
        new ApiClient(t.host.url, alice).post('/v1/jobs', {
          pipeline: PIPELINE,
          inputs: { visits: d.a.dataset },
        }),
      ),
    ).toMatchObject({ status: 400, code: 'job_request_missing' });
    const request = await signedRequestForInputs(alice, PIPELINE, [input(d.a)]);
    expect(
      await refusal(
        new ApiClient(t.host.url, bob).post('/v1/jobs', {
          pipeline: PIPELINE,
          inputs: { visits: d.a.dataset },
          request,
        }),
      ),
    ).toMatchObject({ status: 403, code: 'job_request_mismatch' });
    expect(
      await refusal(
        new ApiClient(t.host.url, alice).post('/v1/jobs', {
          pipeline: PIPELINE,
          inputs: { visits: d.b.dataset },
          request,
        }),
      ),
    ).toMatchObject({ status: 422, code: 'job_request_mismatch' });
    expect(
      await refusal(
        new ApiClient(t.host.url, alice).post('/v1/jobs', {
          pipeline: PIPELINE,
          inputs: { visits: d.a.dataset },
          purpose: 'other',
          request,
        }),
      ),
    ).toMatchObject({ status: 422, code: 'job_request_mismatch' });
  });

  it('accepts a request once, and refuses it submitted again', async () => {
    const request = await signedRequestForInputs(alice, PIPELINE, [input(d.a)]);
    const body = { pipeline: PIPELINE, inputs: { visits: d.a.dataset }, request };
    expect(await new ApiClient(t.host.url, alice).post('/v1/jobs', body)).toMatchObject({
      analyst: alice.address,
    });
    expect(await refusal(new ApiClient(t.host.url, alice).post('/v1/jobs', body))).toMatchObject({
      status: 409,
      code: 'job_request_replayed',
    });
    expect(
      await postJob(t.host.url, alice, { pipeline: PIPELINE, inputs: { visits: d.a.dataset } }),
    ).toMatchObject({ analyst: alice.address });
  });
});
