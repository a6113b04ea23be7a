/**
 * Dataset policies end to end with real processes: a dataset sealed with a signed policy;
 * a job grouping by a column the policy does not allow is refused 403 by the host before it
 * is queued, and the same forged job handed straight to the enclave is refused there too
 * (the host cannot skip the check); a policy's min_group_size suppresses more groups.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiClient } from '../../../src/cli/client.ts';
import type { SignedManifest } from '../../../src/crypto/manifest.ts';
import { type AccountKey, accountKeyFromSuri } from '../../../src/crypto/index.ts';
import { parseDatasetPolicy } from '../../../src/privacy/index.ts';
import { JobRecordSchema } from '../../../src/contracts/api-records.ts';
import { obscura } from '../../helpers/cli.ts';
import { type DataHost, startDataHost, VISITS_CSV } from '../../helpers/data-host.ts';
import { enclaveJob, finished, postJobBody, resultOutputs } from '../../helpers/jobs.ts';
import { inProcessEnclave } from '../../helpers/in-process-enclave.ts';

const MIN = 200;
const POLICY = `obscura-policy: 1
columns: { group_by: [region], aggregate: [cost], never_output: [patient_id] }
min_group_size: ${MIN}
`;
const pipeline = (groupBy: string) => `obscura: 1
name: count-by-${groupBy}
inputs: { visits: { columns: { ${groupBy}: ${groupBy === 'age' ? 'int32' : 'string'}, cost: float64 } } }
steps:
  - id: grouped
    aggregate: { from: visits, group_by: [${groupBy}], measures: { n: { count: "*" }, total: { sum: cost } } }
outputs: { grouped: { min_group_size: 1 } }
`;

let t: DataHost;
const work = mkdtempSync(join(tmpdir(), 'obscura-policy-'));
let owner: AccountKey;
let analyst: AccountKey;
let signed: SignedManifest;
let sealedPath: string;
let dataset: string;

async function submit(
  body: unknown,
): Promise<{ status: number; code?: string; job?: ReturnType<typeof JobRecordSchema.parse> }> {
  try {
    return { status: 202, job: JobRecordSchema.parse(await postJobBody(t.host.url, analyst, body)) };
  } catch (e) {
    const err = e as { status: number; code: string };
    return { status: err.status, code: err.code };
  }
}

beforeAll(async () => {
  t = await startDataHost({ enclaveSpawn: inProcessEnclave });
  owner = await accountKeyFromSuri('//PolicyOwner');
  analyst = await accountKeyFromSuri('//PolicyAnalyst');
  ({ dataset, signed, sealed: sealedPath } = await t.seal({ owner, analysts: [analyst], policy: POLICY }));
  expect(signed.manifest.policy).toEqual(parseDatasetPolicy(POLICY));
}, 120_000);

afterAll(async () => {
  await t?.close();
  rmSync(work, { recursive: true, force: true });
});

describe('dataset policies', () => {
  it('the host refuses a job grouping by a column not in group_by, before queueing it', async () => {
    const before = (await new ApiClient(t.host.url, analyst).get('/v1/jobs')) as { jobs: unknown[] };
    const r = await submit({ pipeline: pipeline('age'), inputs: { visits: dataset } });
    expect(r).toEqual({ status: 403, code: 'policy_column_not_allowed' });
    const after = (await new ApiClient(t.host.url, analyst).get('/v1/jobs')) as { jobs: unknown[] };
    expect(after.jobs.length).toBe(before.jobs.length);
  });

  it('the enclave refuses the same forged job handed to it directly', async () => {
    const enclave = t.host.workers.get(t.host.workers.list()[0]?.id as string);
    const job = await enclaveJob(analyst, {
      id: 'forged',
      pipeline: pipeline('age'),
      inputs: [{ name: 'visits', datasetId: dataset, blobPath: sealedPath, manifest: signed }],
    });
    await expect(enclave.request('run_job', { job })).rejects.toMatchObject({
      code: 'policy_column_not_allowed',
      status: 403,
    });
    // A host that strips the policy from the manifest breaks the owner's signature.
    const { policy: _dropped, ...bare } = signed.manifest;
    const stripped = {
      ...job,
      inputs: [
        { ...(job.inputs[0] as (typeof job.inputs)[number]), manifest: { ...signed, manifest: bare } },
      ],
    };
    await expect(enclave.request('run_job', { job: stripped })).rejects.toMatchObject({
      code: 'manifest_signature_invalid',
    });
  });

  it("raises the output's min_group_size to the policy's, suppressing more groups", async () => {
    const r = await submit({ pipeline: pipeline('region'), inputs: { visits: dataset } });
    expect(r.status).toBe(202);
    let job = r.job as NonNullable<typeof r.job>;
    job = await finished(t.host.url, analyst, job);
    expect(job.status, JSON.stringify(job.error)).toBe('succeeded');
    const out = (await resultOutputs(t.host.url, analyst, job.result as string))['grouped'];
    // Per region in the CSV: with the pipeline's min_group_size of 1 nothing would be suppressed.
    const counts = new Map<string, number>();
    for (const line of readFileSync(VISITS_CSV, 'utf8').trim().split('\n').slice(1)) {
      const region = line.split(',')[1] as string;
      counts.set(region, (counts.get(region) ?? 0) + 1);
    }
    const small = [...counts.values()].filter((n) => n < MIN).length;
    expect(small).toBeGreaterThanOrEqual(2);
    expect(out?.minGroupSize).toBe(MIN);
    expect(out?.suppressedGroups).toBe(small);
    expect(out?.rows.length).toBe(counts.size - small);
    for (const row of out?.rows ?? []) expect(row[1]).toBeGreaterThanOrEqual(MIN);
  }, 60_000);

  it("obscura seal --policy-file signs the policy in; its analysts are the manifest's without --allow", async () => {
    const cli = (args: string[]) => obscura([...args, '--api', t.host.url], { cwd: work });
    expect((await cli(['keys', 'new', '--out', 'cli-owner.key'])).code).toBe(0);
    writeFileSync(
      join(work, 'p.yaml'),
      `obscura-policy: 1\nanalysts: ["${analyst.address}"]\nmin_group_size: 7\n`,
    );
    writeFileSync(join(work, 'bad.yaml'), 'obscura-policy: 1\nmin_group_size: 0\n');
    const base = [
      'seal',
      VISITS_CSV,
      '--worker',
      t.host.workers.list()[0]?.id as string,
      '--key',
      'cli-owner.key',
      '--allow-simulated',
    ];
    const bad = await cli([...base, '--policy-file', 'bad.yaml', '--out', 'bad.sealed']);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/min_group_size/);
    const none = await cli([...base, '--out', 'none.sealed']);
    expect(none.code).toBe(1);
    expect(none.stderr).toMatch(/--allow/);
    const r = await cli([...base, '--policy-file', 'p.yaml', '--out', 'cli.sealed']);
    expect(r.code, r.stderr).toBe(0);
    const m = JSON.parse(readFileSync(join(work, 'cli.sealed.manifest.json'), 'utf8')) as SignedManifest;
    expect(m.manifest.analysts).toEqual([analyst.address]);
    expect(m.manifest.policy).toEqual({
      'obscura-policy': 1,
      analysts: [analyst.address],
      min_group_size: 7,
    });
    // --policy takes a dataset policy too (told apart by `obscura-policy`), as policies.md writes it.
    const viaPolicy = await cli([...base, '--policy', 'p.yaml', '--out', 'via.sealed']);
    expect(viaPolicy.code, viaPolicy.stderr).toBe(0);
    const m2 = JSON.parse(readFileSync(join(work, 'via.sealed.manifest.json'), 'utf8')) as SignedManifest;
    expect(m2.manifest.policy).toEqual(m.manifest.policy);
    const both = await cli([
      ...base,
      '--policy',
      'p.yaml',
      '--policy-file',
      'p.yaml',
      '--out',
      'both.sealed',
    ]);
    expect(both.code).toBe(1);
    expect(both.stderr).toMatch(/policy_conflict/);
  }, 60_000);
});
