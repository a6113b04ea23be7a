/**
 * Approvals, dry runs and policy updates end to end with real processes (host, enclave,
 * embedded chain, CLI): a dataset whose policy says `pipelines: approval`; a dry run that
 * reports every check without creating a job; a job that waits until the owner approves
 * (through `obscura approve`) and then runs; approvals the enclave refuses when forged; a
 * policy update and a revocation anchored on chain, after which the enclave refuses jobs
 * that carry the superseded policy.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DatasetBudgetSchema, JobPreviewSchema } from '../../../src/contracts/api-schemas.ts';
import { ApiClient } from '../../../src/cli/client.ts';
import { type AccountKey, accountKeyFromSuri, loadAccountKey } from '../../../src/crypto/index.ts';
import { manifestHash, type SignedManifest } from '../../../src/crypto/manifest.ts';
import {
  parseDatasetPolicy,
  purposeHash,
  signApproval,
  signPolicyUpdate,
} from '../../../src/privacy/index.ts';
import { pipelineHash, parsePipeline } from '../../../src/pipelines/index.ts';
import { JobRecordSchema } from '../../../src/contracts/api-records.ts';
import { obscura } from '../../helpers/cli.ts';
import { refusal } from '../../helpers/datasets.ts';
import { type DataHost, startDataHost } from '../../helpers/data-host.ts';
import { enclaveJob, postJob, resultOutputs, settled } from '../../helpers/jobs.ts';
import { inProcessEnclave } from '../../helpers/in-process-enclave.ts';

const PIPELINE = `obscura: 1
name: cost-by-region-approved
inputs: { visits: { columns: { region: string, cost: float64 } } }
steps:
  - id: by_region
    aggregate: { from: visits, group_by: [region], measures: { n: { count: "*" }, total: { sum: cost } } }
outputs: { by_region: { min_group_size: 5 } }
`;

let t: DataHost;
const work = mkdtempSync(join(tmpdir(), 'obscura-approvals-'));
let owner: AccountKey;
let analyst: AccountKey;
let stranger: AccountKey;
let signed: SignedManifest;
let sealedPath: string;
let dataset: string;
const hash = pipelineHash(parsePipeline(PIPELINE));
const PURPOSE = 'regional cost study';

const api = (key?: AccountKey) => new ApiClient(t.host.url, key);
const cli = (args: string[]) => obscura([...args, '--api', t.host.url], { cwd: work });

beforeAll(async () => {
  t = await startDataHost({ enclaveSpawn: inProcessEnclave });
  await cli(['keys', 'new', '--out', 'owner.key']);
  await cli(['keys', 'new', '--out', 'other.key']);
  owner = await loadAccountKey(join(work, 'owner.key'));
  await cli(['keys', 'new', '--out', 'analyst.key']);
  analyst = await loadAccountKey(join(work, 'analyst.key'));
  stranger = await accountKeyFromSuri('//ApprovalStranger');
  ({
    dataset,
    signed,
    sealed: sealedPath,
  } = await t.seal({
    owner,
    analysts: [analyst],
    policy: `obscura-policy: 1\npipelines: approval\ndp: { epsilon: 2.5, delta: 1.0e-6 }\n`,
  }));
  writeFileSync(join(work, 'p.yaml'), PIPELINE);
}, 120_000);

afterAll(async () => {
  await t?.close();
  rmSync(work, { recursive: true, force: true });
});

describe('approvals', () => {
  let jobId: string;

  it('a dry run reports every check and the cost, and creates no job', async () => {
    const before = ((await api(analyst).get('/v1/jobs')) as { jobs: unknown[] }).jobs.length;
    const preview = JobPreviewSchema.parse(
      await api(analyst).post('/v1/jobs?dry_run=true', {
        pipeline: PIPELINE,
        inputs: { visits: dataset },
        purpose: 'regional cost study',
      }),
    );
    expect(preview.ok).toBe(false);
    expect(preview.purpose).toBe('regional cost study');
    expect(preview.inputs[0]).toMatchObject({
      dataset,
      owner: owner.address,
      approval: 'pending',
      columnsRead: ['region', 'cost'],
    });
    expect(preview.inputs[0]?.uses).toMatchObject({ group_by: ['region'], aggregate: ['cost'] });
    expect(Object.fromEntries(preview.checks.map((c) => [c.check, c.ok]))).toEqual({
      pipeline: true,
      revocation: true,
      analysts: true,
      policies: true,
      approvals: false,
      worker: true,
      budget: true,
    });
    expect(preview.checks.find((c) => c.check === 'approvals')?.code).toBe('policy_approval_required');
    expect(preview.cost).toEqual({ epsilon: 0, delta: 0 });
    expect(((await api(analyst).get('/v1/jobs')) as { jobs: unknown[] }).jobs.length).toBe(before);
    // A dry run that names a column the dataset lacks fails the pipeline check, with its code.
    const bad = JobPreviewSchema.parse(
      await api(analyst).post('/v1/jobs?dry_run=true', {
        pipeline: PIPELINE.replaceAll('cost', 'price'),
        inputs: { visits: dataset },
      }),
    );
    expect(bad.checks.find((c) => c.check === 'pipeline')).toMatchObject({
      ok: false,
      code: 'pipeline_schema_mismatch',
    });
  });

  it('obscura run --dry-run tells a job that needs approval (WAIT, exit 3) from a refused one (FAIL, exit 1)', async () => {
    const r = await cli([
      'run',
      'p.yaml',
      '--input',
      `visits=${dataset}`,
      '--key',
      'analyst.key',
      '--dry-run',
    ]);
    expect(r.code).toBe(3);
    expect(r.stdout).toMatch(/WAIT approvals: waiting for the owners of visits/);
    expect(r.stdout).not.toMatch(/FAIL/);
    expect(r.stdout).toContain(`needs approval from ${owner.address}`);
    expect(r.stdout).toMatch(/privacy cost: epsilon 0, delta 0/);
    writeFileSync(join(work, 'bad.yaml'), PIPELINE.replaceAll('cost', 'price'));
    const refused = await cli([
      'run',
      'bad.yaml',
      '--input',
      `visits=${dataset}`,
      '--key',
      'analyst.key',
      '--dry-run',
    ]);
    expect(refused.code).toBe(1);
    expect(refused.stdout).toMatch(/FAIL pipeline: /);
    expect(refused.stdout).toMatch(/refused: the job would not run/);
  });

  it('obscura run --wait on a job that needs approval exits 3 at once, naming the job and its approver', async () => {
    // Its own purpose: the approval given below for PURPOSE must not release (and spend a run on) this job.
    const args = ['run', 'p.yaml', '--input', `visits=${dataset}`, '--key', 'analyst.key', '--wait'];
    const started = Date.now();
    const r = await cli([...args, '--purpose', 'waiting study']);
    expect(r.code, r.stderr).toBe(3);
    const id = r.stdout.trim();
    expect(JobRecordSchema.parse(await api(analyst).get(`/v1/jobs/${id}`)).status).toBe('awaiting_approval');
    expect(r.stderr).toContain(`job ${id} waits for approval from ${owner.address}`);
    expect(r.stderr).toMatch(/--wait-approval/);
    expect(Date.now() - started).toBeLessThan(30_000);
    const json = await cli([...args, '--purpose', 'waiting study', '--json']);
    expect(json.code).toBe(3);
    expect(JSON.parse(json.stdout)).toMatchObject({
      status: 'awaiting_approval',
      awaitingApprovalFrom: [owner.address],
    });
    // With --wait-approval it waits (here until its short timeout).
    const waits = await cli([...args, '--purpose', 'waiting study', '--wait-approval', '--timeout', '1']);
    expect(waits.code).toBe(1);
    expect(waits.stderr).toMatch(/still awaiting_approval; stopped waiting \(job_wait_timeout\)/);
  }, 60_000);

  it('an owner refuses a waiting job with a reason (obscura refuse): it ends failed and its analyst reads why', async () => {
    const job = JobRecordSchema.parse(
      await postJob(t.host.url, analyst, {
        pipeline: PIPELINE,
        inputs: { visits: dataset },
        purpose: 'refused study',
      }),
    );
    expect(job.status).toBe('awaiting_approval');
    const path = `/v1/jobs/${job.id}/refusal`;
    // Only an owner whose approval it waits for may refuse it, and only with a reason.
    expect(await refusal(api(analyst).post(path, { reason: 'no' }))).toMatchObject({
      status: 403,
      code: 'refusal_not_owner',
    });
    expect(await refusal(api(owner).post(path, { reason: ' ' }))).toMatchObject({ status: 400 });
    const r = await cli(['refuse', job.id, '--key', 'owner.key', '--reason', 'not for this purpose']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(`refused job ${job.id}`);
    const seen = JobRecordSchema.parse(await api(analyst).get(`/v1/jobs/${job.id}`));
    expect(seen.status).toBe('failed');
    expect(seen.error).toMatchObject({ code: 'refused_by_owner' });
    expect(seen.error?.message).toContain('not for this purpose');
    expect(await refusal(api(owner).post(path, { reason: 'again' }))).toMatchObject({
      status: 409,
      code: 'job_not_awaiting_approval',
    });
  }, 60_000);

  it('a job waits for approval, listed for its owner with purpose and columns', async () => {
    const job = JobRecordSchema.parse(
      await postJob(t.host.url, analyst, {
        pipeline: PIPELINE,
        inputs: { visits: dataset },
        purpose: PURPOSE,
      }),
    );
    jobId = job.id;
    expect(job.status).toBe('awaiting_approval');
    const { pending } = (await api(owner).get(`/v1/approvals?owner=${owner.address}`)) as {
      pending: unknown[];
    };
    const mine = pending.map((p) => JobPreviewSchema.parse(p)).find((p) => p.job === jobId);
    expect(mine).toMatchObject({ purpose: 'regional cost study', pipeline: { hash } });
    expect(
      ((await api(stranger).get(`/v1/approvals?owner=${stranger.address}`)) as { pending: unknown[] })
        .pending,
    ).toEqual([]);
    // Approvals are shown to the owners concerned and the requesting analyst, never to others.
    expect(((await api(stranger).get('/v1/approvals')) as { pending: unknown[] }).pending).toEqual([]);
    expect(
      ((await api(analyst).get('/v1/approvals')) as { pending: { job: string }[] }).pending.map((p) => p.job),
    ).toContain(jobId);
    const listed = await cli(['approvals', '--key', 'owner.key']);
    expect(listed.code, listed.stderr).toBe(0);
    expect(listed.stdout).toContain(jobId);
    const anonymous = await cli(['approvals']);
    expect(anonymous.code).toBe(1);
    expect(anonymous.stderr).toMatch(/--key.*OBSCURA_KEY.*\(key_required\)/);
    await new Promise((r) => setTimeout(r, 1500));
    expect(JobRecordSchema.parse(await api(analyst).get(`/v1/jobs/${jobId}`)).status).toBe(
      'awaiting_approval',
    );
  });

  it('refuses approvals by anyone but the owner, on the host and in the enclave', async () => {
    const ds = manifestHash(signed.manifest);
    const terms = { dataset: ds, pipeline: hash, analyst: analyst.address, purpose: purposeHash(PURPOSE) };
    const forged = signApproval(terms, stranger);
    // A stranger may not read the dataset: answered as if it did not exist.
    expect(await refusal(api(stranger).post('/v1/approvals', forged))).toMatchObject({
      status: 404,
      code: 'dataset_not_found',
    });
    // The allowed analyst knows the dataset, but is not its owner.
    expect(await refusal(api(analyst).post('/v1/approvals', signApproval(terms, analyst)))).toMatchObject({
      status: 403,
      code: 'approval_not_owner',
    });
    const tampered = {
      ...signApproval(terms, owner),
      approval: { ...signApproval(terms, owner).approval, pipeline: 'b'.repeat(64) },
    };
    expect(await refusal(api(owner).post('/v1/approvals', tampered))).toMatchObject({
      status: 422,
      code: 'approval_signature_invalid',
    });
    const enclave = t.host.workers.get(t.host.workers.list()[0]?.id as string);
    const input = { name: 'visits', datasetId: dataset, blobPath: sealedPath, manifest: signed };
    await expect(
      enclave.request('run_job', {
        job: await enclaveJob(analyst, { id: 'x1', pipeline: PIPELINE, inputs: [input], purpose: PURPOSE }),
      }),
    ).rejects.toMatchObject({
      code: 'policy_approval_required',
    });
    await expect(
      enclave.request('run_job', {
        job: await enclaveJob(analyst, {
          id: 'x2',
          pipeline: PIPELINE,
          inputs: [{ ...input, approval: forged }],
          purpose: PURPOSE,
        }),
      }),
    ).rejects.toMatchObject({
      code: 'approval_not_owner',
    });
  });

  it('obscura approve shows the preview, signs, and the job runs', async () => {
    // Another account may not even see the job.
    const none = await cli(['approve', jobId, '--key', 'other.key', '--yes']);
    expect(none.code).toBe(1);
    expect(none.stderr).toMatch(/job_not_found/);
    const bad = await cli(['approve', jobId, '--key', 'owner.key', '--yes', '--runs', '0']);
    expect(bad.stderr).toMatch(/approval_runs_invalid/);
    const r = await cli(['approve', jobId, '--key', 'owner.key', '--yes', '--runs', '2', '--expires', '2d']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/purpose: regional cost study/);
    expect(r.stderr).toMatch(
      new RegExp(`approval: for analyst ${analyst.address} and this purpose only, 2 run\\(s\\), until `),
    );
    expect(r.stdout).toMatch(new RegExp(`jobs released: ${jobId}`));
    const done = await settled(t.host.url, analyst, jobId);
    expect(done.status, JSON.stringify(done.error)).toBe('succeeded');
    // The approval is stored: the same analyst runs the pipeline for the same purpose once more without waiting…
    const again = JobRecordSchema.parse(
      await postJob(t.host.url, analyst, {
        pipeline: PIPELINE,
        inputs: { visits: dataset },
        purpose: PURPOSE,
      }),
    );
    expect(again.status).toBe('queued');
    expect((await settled(t.host.url, analyst, again.id)).status).toBe('succeeded');
    // …and then its two runs are used: a third job waits for a new approval.
    const third = JobRecordSchema.parse(
      await postJob(t.host.url, analyst, {
        pipeline: PIPELINE,
        inputs: { visits: dataset },
        purpose: PURPOSE,
      }),
    );
    expect(third.status).toBe('awaiting_approval');
    // For another purpose the approval never counted.
    const other = JobRecordSchema.parse(
      await postJob(t.host.url, analyst, {
        pipeline: PIPELINE,
        inputs: { visits: dataset },
        purpose: 'something else',
      }),
    );
    expect(other.status).toBe('awaiting_approval');
  }, 60_000);
});

describe('policy updates', () => {
  it('the budget is visible to the owner and allowed analysts only', async () => {
    const b = DatasetBudgetSchema.parse(await api(owner).get(`/v1/datasets/${dataset}/budget`));
    expect(b).toMatchObject({
      dataset,
      epsilon: { total: 2.5, spent: 0, remaining: 2.5 },
      delta: { total: 1e-6, spent: 0 },
    });
    expect(
      DatasetBudgetSchema.parse(await api(analyst).get(`/v1/datasets/${dataset}/budget`)).epsilon.remaining,
    ).toBe(2.5);
    expect(await refusal(api(stranger).get(`/v1/datasets/${dataset}/budget`))).toMatchObject({
      status: 404,
      code: 'dataset_not_found',
    });
  });

  it('a newer policy is applied by the enclave and anchored; the old one is refused after', async () => {
    const ds = manifestHash(signed.manifest);
    const v2 = signPolicyUpdate(
      {
        dataset: ds,
        version: 2,
        policy: parseDatasetPolicy('obscura-policy: 1\npipelines: any\nmin_group_size: 400\n'),
        revoked: false,
      },
      owner,
    );
    expect(await refusal(api(stranger).post(`/v1/datasets/${dataset}/policy`, v2))).toMatchObject({
      status: 404,
      code: 'dataset_not_found',
    });
    expect(await refusal(api(analyst).post(`/v1/datasets/${dataset}/policy`, v2))).toMatchObject({
      status: 403,
      code: 'policy_update_not_owner',
    });
    const skipped = signPolicyUpdate({ dataset: ds, version: 3, revoked: false }, owner);
    expect(await refusal(api(owner).post(`/v1/datasets/${dataset}/policy`, skipped))).toMatchObject({
      status: 409,
      code: 'policy_update_version',
    });
    // A job waiting for approval when the policy drops `pipelines: approval` is released by the update.
    const waiting = JobRecordSchema.parse(
      await postJob(t.host.url, analyst, {
        pipeline: PIPELINE.replace('name: cost-by-region-approved', 'name: waiting'),
        inputs: { visits: dataset },
      }),
    );
    expect(waiting.status).toBe('awaiting_approval');
    const r = (await api(owner).post(`/v1/datasets/${dataset}/policy`, v2)) as { ledgerSeq: number };
    expect(r.ledgerSeq).toBeGreaterThanOrEqual(1);
    expect((await settled(t.host.url, analyst, waiting.id)).status).toBe('succeeded');
    expect(await api(owner).get(`/v1/datasets/${dataset}/policy`)).toMatchObject({
      version: 2,
      revoked: false,
      policy: { min_group_size: 400 },
    });
    // A host that hands the enclave the superseded policy (none: version 1) is refused.
    const enclave = t.host.workers.get(t.host.workers.list()[0]?.id as string);
    const input = {
      name: 'visits',
      datasetId: dataset,
      blobPath: sealedPath,
      manifest: signed,
      approval: signApproval(
        { dataset: ds, pipeline: hash, analyst: analyst.address, purpose: purposeHash('') },
        owner,
      ),
    };
    await expect(
      enclave.request('run_job', {
        job: await enclaveJob(analyst, { id: 'old', pipeline: PIPELINE, inputs: [input] }),
      }),
    ).rejects.toMatchObject({
      code: 'policy_update_stale',
    });
    // With the new policy no approval is needed and min_group_size is 400.
    const job = JobRecordSchema.parse(
      await postJob(t.host.url, analyst, { pipeline: PIPELINE, inputs: { visits: dataset } }),
    );
    expect(job.status).toBe('queued');
    const done = await settled(t.host.url, analyst, job.id);
    expect(done.status, JSON.stringify(done.error)).toBe('succeeded');
    expect((await resultOutputs(t.host.url, analyst, done.result as string))['by_region']?.minGroupSize).toBe(
      400,
    );
  }, 60_000);

  it('obscura policy update --revoke makes every later job fail, on the host and in the enclave', async () => {
    const r = await cli(['policy', 'update', dataset, '--key', 'owner.key', '--revoke']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/revoked dataset/);
    expect(
      await refusal(postJob(t.host.url, analyst, { pipeline: PIPELINE, inputs: { visits: dataset } })),
    ).toMatchObject({ status: 403, code: 'dataset_revoked' });
    const ds = manifestHash(signed.manifest);
    const v2 = (await api(owner).get(`/v1/datasets/${dataset}/policy`)) as { update: unknown };
    expect(v2).toMatchObject({ version: 3, revoked: true });
    const enclave = t.host.workers.get(t.host.workers.list()[0]?.id as string);
    const input = {
      name: 'visits',
      datasetId: dataset,
      blobPath: sealedPath,
      manifest: signed,
      approval: signApproval(
        { dataset: ds, pipeline: hash, analyst: analyst.address, purpose: purposeHash('') },
        owner,
      ),
    };
    // Whatever update the host hands over, version 3 (revoked) is in force.
    const older = signPolicyUpdate({ dataset: ds, version: 2, revoked: false }, owner);
    await expect(
      enclave.request('run_job', {
        job: await enclaveJob(analyst, {
          id: 'rv',
          pipeline: PIPELINE,
          inputs: [{ ...input, policyUpdate: older }],
        }),
      }),
    ).rejects.toMatchObject({
      code: 'policy_update_stale',
    });
    const unrevoke = signPolicyUpdate({ dataset: ds, version: 4, revoked: false }, owner);
    expect(await refusal(api(owner).post(`/v1/datasets/${dataset}/policy`, unrevoke))).toMatchObject({
      status: 409,
      code: 'dataset_revoked',
    });
  }, 60_000);
});
