/**
 * The API host against the real enclave (in-process) and the embedded chain, called over HTTP:
 * every bad input named by the end-to-end issue gets its own 4xx problem and leaves nothing
 * stored; a hostile host that tampers with stored manifests gets the job failed by the
 * enclave with the reason.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROUTES } from '../../../src/host/api/openapi.ts';
import { ApiClient } from '../../../src/cli/client.ts';
import { signedRequestFor } from '../../../src/client/job-request.ts';
import { sealDataset } from '../../../src/cli/seal-dataset.ts';
import {
  type AccountKey,
  accountKeyFromSuri,
  generateIdentity,
  sealFile,
} from '../../../src/crypto/index.ts';
import { manifestHash, type SignedManifest, signManifest } from '../../../src/crypto/manifest.ts';
import { PROJECT_ROOT } from '../../../src/contracts/measurement.ts';
import { parsePipeline, pipelineHash } from '../../../src/pipelines/index.ts';
import { type SignedJobRequest, signJobRequest } from '../../../src/privacy/job-request.ts';
import { JobRecordSchema } from '../../../src/contracts/api-records.ts';
import { refusal } from '../../helpers/datasets.ts';
import { startTestHost } from '../../helpers/host.ts';
import { inProcessEnclave } from '../../helpers/in-process-enclave.ts';
import { postJobBody, resultOutputs } from '../../helpers/jobs.ts';

const MARKER = 'MARKER-7f3a9c';
const CSV = join(PROJECT_ROOT, 'datasets/visits.csv');
const PIPELINE = readFileSync(join(PROJECT_ROOT, 'pipelines/cost-by-region.yaml'), 'utf8');

let t: Awaited<ReturnType<typeof startTestHost>>;
const work = mkdtempSync(join(tmpdir(), 'obscura-api-'));
let owner: AccountKey;
let analyst: AccountKey;
let stranger: AccountKey;
let worker: { id: string; recipient: string; measurement: string };
const responses: string[] = [];

async function raw(method: string, path: string, init: RequestInit = {}): Promise<Response> {
  const res = await fetch(new URL(path, t.host.url), { method, ...init });
  const text = await res.clone().text();
  responses.push(text);
  return res;
}

async function upload(
  key: AccountKey,
  sealedPath: string,
  manifest: SignedManifest | string,
): Promise<{ status: number; body: Record<string, unknown> }> {
  const form = new FormData();
  form.append('manifest', typeof manifest === 'string' ? manifest : JSON.stringify(manifest));
  form.append('sealed', new Blob([readFileSync(sealedPath)]), 'x.sealed');
  try {
    const body = (await new ApiClient(t.host.url, key).postForm('/v1/datasets', form)) as Record<
      string,
      unknown
    >;
    responses.push(JSON.stringify(body));
    return { status: 201, body };
  } catch (e) {
    const err = e as { status: number; code: string; message: string };
    responses.push(err.message);
    return { status: err.status, body: { code: err.code, detail: err.message } };
  }
}

async function sealed(name: string, opts: { analysts?: string[] } = {}) {
  const out = join(work, `${name}.sealed`);
  const r = await sealDataset({
    file: CSV,
    out,
    owner,
    worker,
    analysts: opts.analysts ?? [analyst.address],
    measurements: [worker.measurement],
  });
  return { out, ...r };
}

function blobFiles(): string[] {
  const root = join(t.dataDir, 'blobs', 'sha256');
  try {
    return readdirSync(root).flatMap((d) => readdirSync(join(root, d)));
  } catch {
    return [];
  }
}

/** The analyst's signed request for `pipeline` over one dataset, bound to the manifest given (whatever the CLI would check). */
function requestOver(
  key: AccountKey,
  pipeline: string,
  id: string,
  manifest: SignedManifest,
): SignedJobRequest {
  const doc = parsePipeline(pipeline);
  return signJobRequest(
    {
      pipeline: pipelineHash(doc),
      inputs: { visits: { dataset: id, manifest: manifestHash(manifest.manifest) } },
      outputs: Object.keys(doc.outputs),
    },
    key,
  );
}

async function submit(
  key: AccountKey,
  body: unknown,
): Promise<{ status: number; code?: string; job?: ReturnType<typeof JobRecordSchema.parse> }> {
  try {
    const job = JobRecordSchema.parse(await postJobBody(t.host.url, key, body));
    return { status: 202, job };
  } catch (e) {
    const err = e as { status: number; code: string; message: string };
    responses.push(err.message);
    return { status: err.status, code: err.code };
  }
}

async function waitJob(id: string, reader: AccountKey = analyst) {
  for (;;) {
    const job = JobRecordSchema.parse(await new ApiClient(t.host.url, reader).get(`/v1/jobs/${id}`));
    responses.push(JSON.stringify(job));
    if (job.status === 'succeeded' || job.status === 'failed') return job;
    await new Promise((r) => setTimeout(r, 200));
  }
}

beforeAll(async () => {
  t = await startTestHost({ enclaveSpawn: inProcessEnclave });
  owner = await accountKeyFromSuri('//ObscuraOwner');
  analyst = await accountKeyFromSuri('//ObscuraAnalyst');
  stranger = await accountKeyFromSuri('//ObscuraStranger');
  const w = t.host.workers.list()[0];
  if (!w) throw new Error('no worker');
  worker = { id: w.id, recipient: w.recipient, measurement: w.measurement };
}, 180_000);

afterAll(async () => {
  await t?.close();
  rmSync(work, { recursive: true, force: true });
});

describe('uploads', () => {
  it('refuses unsigned requests with 401 problem+json', async () => {
    const res = await raw('POST', '/v1/datasets');
    expect(res.status).toBe(401);
    expect(res.headers.get('content-type')).toMatch(/application\/problem\+json/);
    expect(await res.json()).toMatchObject({ code: 'unauthenticated', status: 401 });
  });

  it('refuses a truncated sealed file, and stores nothing', async () => {
    const s = await sealed('trunc');
    const bytes = readFileSync(s.out);
    writeFileSync(s.out, bytes.subarray(0, bytes.length - 100));
    const r = await upload(owner, s.out, s.signed);
    expect(r).toMatchObject({ status: 422, body: { code: 'sealed_file_truncated' } });
    expect(blobFiles()).toEqual([]);
  });

  it('refuses a corrupted sealed file (manifest unchanged), and stores nothing', async () => {
    const s = await sealed('corrupt');
    const bytes = readFileSync(s.out);
    bytes[bytes.length - 50] = (bytes[bytes.length - 50] as number) ^ 0xff;
    writeFileSync(s.out, bytes);
    expect(await upload(owner, s.out, s.signed)).toMatchObject({
      status: 422,
      body: { code: 'sealed_file_corrupted' },
    });
    expect(blobFiles()).toEqual([]);
  });

  it('refuses a corrupted payload even with a manifest signed over it: the enclave finds it', async () => {
    const s = await sealed('corrupt2');
    const bytes = readFileSync(s.out);
    bytes[bytes.length - 50] = (bytes[bytes.length - 50] as number) ^ 0xff;
    writeFileSync(s.out, bytes);
    const { createHash } = await import('node:crypto');
    const m = {
      ...s.signed.manifest,
      ciphertext: { sha256: createHash('sha256').update(bytes).digest('hex'), bytes: bytes.length },
    };
    expect(await upload(owner, s.out, signManifest(m, owner))).toMatchObject({
      status: 422,
      body: { code: 'age_payload_corrupt' },
    });
    expect(blobFiles()).toEqual([]);
  });

  it('refuses a file sealed to another recipient', async () => {
    const s = await sealed('other');
    const other = generateIdentity();
    const stats = await sealFile(CSV, s.out, [other.recipient]);
    const m = {
      ...s.signed.manifest,
      ciphertext: { sha256: stats.ciphertextSha256, bytes: stats.ciphertextBytes },
    };
    expect(await upload(owner, s.out, signManifest(m, owner))).toMatchObject({
      status: 422,
      body: { code: 'age_no_matching_identity' },
    });
    expect(blobFiles()).toEqual([]);
  });

  it('refuses a manifest with a wrong signature, or uploaded by someone else', async () => {
    const s = await sealed('sig');
    const forged = { ...s.signed, manifest: { ...s.signed.manifest, rows: s.signed.manifest.rows + 1 } };
    expect(await upload(owner, s.out, forged)).toMatchObject({
      status: 422,
      body: { code: 'manifest_signature_invalid' },
    });
    expect(await upload(stranger, s.out, s.signed)).toMatchObject({
      status: 403,
      body: { code: 'not_dataset_owner' },
    });
    expect(await upload(owner, s.out, '{not json')).toMatchObject({
      status: 400,
      body: { code: 'manifest_invalid' },
    });
  });

  it('refuses a manifest whose plaintext hash is wrong: the enclave checks after decrypting', async () => {
    const s = await sealed('plainhash');
    const m = { ...s.signed.manifest, plaintext: { ...s.signed.manifest.plaintext, sha256: '0'.repeat(64) } };
    expect(await upload(owner, s.out, signManifest(m, owner))).toMatchObject({
      status: 422,
      body: { code: 'plaintext_hash_mismatch' },
    });
    expect(blobFiles()).toEqual([]);
  });

  it('accepts a good upload, once', async () => {
    const s = await sealed('good');
    const r = await upload(owner, s.out, s.signed);
    expect(r.status).toBe(201);
    expect(r.body).toMatchObject({ owner: owner.address, worker: worker.id, rows: s.signed.manifest.rows });
    expect(await upload(owner, s.out, s.signed)).toMatchObject({
      status: 409,
      body: { code: 'dataset_exists' },
    });
  });
});

describe('jobs', () => {
  let datasetId: string;
  beforeAll(async () => {
    const s = await sealed('jobs');
    datasetId = (await upload(owner, s.out, s.signed)).body.id as string;
  });

  it('refuses an unknown input, an unknown column and a missing dataset with 4xx before anything runs', async () => {
    expect(
      await submit(analyst, { pipeline: PIPELINE, inputs: { visits: datasetId, extra: datasetId } }),
    ).toMatchObject({ status: 400, code: 'pipeline_unknown_input' });
    const unknownColumn = PIPELINE.replace(/group_by:\s*\[?\s*region/, (m) =>
      m.replace('region', 'no_such_column'),
    );
    expect(unknownColumn).not.toBe(PIPELINE);
    expect(await submit(analyst, { pipeline: unknownColumn, inputs: { visits: datasetId } })).toMatchObject({
      status: 400,
      code: 'pipeline_unknown_column',
    });
    expect(await submit(analyst, { pipeline: PIPELINE, inputs: { visits: 'f'.repeat(32) } })).toMatchObject({
      status: 404,
      code: 'dataset_not_found',
    });
    expect(await submit(analyst, { inputs: { visits: datasetId } })).toMatchObject({
      status: 400,
      code: 'body_invalid',
    });
  });

  it('answers an analyst the manifest does not allow as if the dataset did not exist', async () => {
    expect(await submit(stranger, { pipeline: PIPELINE, inputs: { visits: datasetId } })).toMatchObject({
      status: 404,
      code: 'dataset_not_found',
    });
  });

  it('runs an allowed job: suppressed groups are counted, never shown', async () => {
    const r = await submit(analyst, { pipeline: PIPELINE, inputs: { visits: datasetId } });
    expect(r.status).toBe(202);
    const job = await waitJob(r.job?.id as string);
    expect(job.status, JSON.stringify(job.error)).toBe('succeeded');
    responses.push(JSON.stringify(await new ApiClient(t.host.url, analyst).get(`/v1/results/${job.result}`)));
    const table = Object.values(await resultOutputs(t.host.url, analyst, job.result as string))[0];
    expect(table?.suppressedGroups).toBeGreaterThan(0);
    const provenance = (await new ApiClient(t.host.url, analyst).get(
      `/v1/results/${job.result}/provenance`,
    )) as { anchorCheck: { ok: boolean } };
    expect(provenance.anchorCheck.ok).toBe(true);
  });

  it('fails the job inside the enclave when a hostile host tampers with a stored manifest', async () => {
    const db = new Database(join(t.dataDir, 'obscura.sqlite'));
    const row = db.prepare('SELECT manifest_json FROM datasets WHERE id = ?').get(datasetId) as {
      manifest_json: string;
    };
    const signed = JSON.parse(row.manifest_json) as SignedManifest;
    signed.manifest.analysts.push(stranger.address);
    db.prepare('UPDATE datasets SET manifest_json = ? WHERE id = ?').run(JSON.stringify(signed), datasetId);
    db.close();
    // The analyst's CLI checks the owner's signature before it signs a request for a dataset…
    expect(await submit(stranger, { pipeline: PIPELINE, inputs: { visits: datasetId } })).toMatchObject({
      status: 400,
      code: 'job_request_missing',
    });
    await expect(
      signedRequestFor(new ApiClient(t.host.url, stranger), stranger, {
        pipeline: PIPELINE,
        inputs: { visits: datasetId },
      }),
    ).rejects.toMatchObject({
      code: 'manifest_signature_invalid',
    });
    // …and a request signed over the tampered manifest anyway is refused by the enclave.
    const r = await submit(stranger, {
      pipeline: PIPELINE,
      inputs: { visits: datasetId },
      request: requestOver(stranger, PIPELINE, datasetId, signed),
    });
    expect(r.status).toBe(202);
    const job = await waitJob(r.job?.id as string, stranger);
    expect(job.status).toBe('failed');
    expect(job.error?.code).toBe('manifest_signature_invalid');
  });

  it('fails the job inside the enclave when the owner-signed plaintext hash does not match', async () => {
    const s = await sealed('badplain-job');
    const good = await upload(owner, s.out, s.signed);
    const id = good.body.id as string;
    const m = { ...s.signed.manifest, plaintext: { ...s.signed.manifest.plaintext, sha256: 'a'.repeat(64) } };
    const db = new Database(join(t.dataDir, 'obscura.sqlite'));
    db.prepare('UPDATE datasets SET manifest_json = ? WHERE id = ?').run(
      JSON.stringify(signManifest(m, owner)),
      id,
    );
    db.close();
    // The re-signed manifest no longer hashes to the dataset's id, which the CLI refuses; sign over it anyway.
    const r = await submit(analyst, {
      pipeline: PIPELINE,
      inputs: { visits: id },
      request: requestOver(analyst, PIPELINE, id, signManifest(m, owner)),
    });
    const job = await waitJob(r.job?.id as string);
    expect(job.status).toBe('failed');
    expect(job.error?.code).toBe('plaintext_hash_mismatch');
  });
});

describe('the API surface', () => {
  it('serves every documented route and a valid OpenAPI document', async () => {
    const doc = (await (await raw('GET', '/v1/openapi.json')).json()) as {
      openapi: string;
      paths: Record<string, Record<string, unknown>>;
    };
    expect(doc.openapi).toBe('3.1.0');
    for (const r of ROUTES) expect(doc.paths[r.path]?.[r.method]).toBeDefined();
    // Public routes answer anyone; jobs and results answer unsigned callers with public items only.
    for (const p of ['/v1/health', '/v1/workers', '/v1/jobs', '/v1/results']) {
      expect((await raw('GET', p)).status, p).toBe(200);
    }
    for (const p of ['/v1/datasets', '/v1/pipelines', '/v1/approvals', '/v1/upgrades']) {
      expect((await raw('GET', p)).status, p).toBe(401);
    }
    expect((await raw('GET', '/')).headers.get('content-type')).toMatch(/text\/html/);
    const metrics = await (await raw('GET', '/metrics')).text();
    expect(metrics).toMatch(/obscura_jobs_total\{outcome="succeeded"\} [1-9]/);
    expect(metrics).toContain('obscura_http_request_duration_seconds_bucket');
    // Where the succeeded jobs' time went, phase by phase (the latency bench reads these).
    for (const phase of ['queue', 'run', 'sign', 'anchor', 'store'])
      expect(metrics).toMatch(new RegExp(`obscura_job_phase_seconds_count\\{phase="${phase}"\\} [1-9]`));
    const missing = await refusal(new ApiClient(t.host.url, analyst).get('/v1/results/nope'));
    expect(missing).toMatchObject({ status: 404, code: 'result_not_found' });
    expect((await raw('GET', '/v1/no-such-route')).status).toBe(404);
  });

  it('requires a fresh nonce for attestation and echoes it in the evidence', async () => {
    expect((await raw('GET', `/v1/workers/${worker.id}/attestation`)).status).toBe(400);
    const nonce = 'ab'.repeat(32);
    const res = (await (await raw('GET', `/v1/workers/${worker.id}/attestation?nonce=${nonce}`)).json()) as {
      evidence: { report: { nonce: string } };
    };
    expect(res.evidence.report.nonce).toBe(nonce);
  });

  it('never puts the plaintext marker in a response, a log or the data directory', async () => {
    const { filesContaining } = await import('../../helpers/leaks.ts');
    for (const r of responses) expect(r).not.toContain(MARKER);
    for (const l of t.logs) expect(l).not.toContain(MARKER);
    expect(filesContaining(t.dataDir, MARKER)).toEqual([]);
  });
});
