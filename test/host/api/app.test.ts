/**
 * The API host's own checks, in-process (createApp over test doubles of the enclave and the
 * chain, real stores): the documented surface and its access rules, uploads refused before
 * the enclave is asked and never stored when it refuses, and jobs refused with a 4xx before
 * anything is queued. What the real enclave and chain then do is the end-to-end suite's
 * (test/host/api/host.test.ts, test/adversary/).
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROUTES } from '../../../src/host/api/openapi.ts';
import { ApiClient } from '../../../src/cli/client.ts';
import { sealDataset } from '../../../src/cli/seal-dataset.ts';
import { ObscuraError } from '../../../src/common/errors.ts';
import { type AccountKey, accountKeyFromSuri } from '../../../src/crypto/index.ts';
import type { SignedManifest } from '../../../src/crypto/manifest.ts';
import { PROJECT_ROOT } from '../../../src/contracts/measurement.ts';
import { EnclaveDouble, startTestApp, type TestApp } from '../../helpers/app.ts';
import { refusal } from '../../helpers/datasets.ts';
import { submitJob } from '../../helpers/jobs.ts';

const PIPELINE = readFileSync(join(PROJECT_ROOT, 'pipelines/cost-by-region.yaml'), 'utf8');
const CSV = 'patient_id,region,age,cost\nP1,north,40,10.5\nP2,south,51,20.25\nP3,north,17,3.0\n';

let app: TestApp;
let enclave: EnclaveDouble;
const work = mkdtempSync(join(tmpdir(), 'obscura-app-test-'));
let owner: AccountKey;
let analyst: AccountKey;
let stranger: AccountKey;

/** A CSV sealed to the double's recipient and its owner-signed manifest. */
async function sealed(
  name: string,
  key: AccountKey = owner,
): Promise<{ out: string; signed: SignedManifest }> {
  const file = join(work, `${name}.csv`);
  writeFileSync(file, CSV);
  const out = join(work, `${name}.sealed`);
  const { signed } = await sealDataset({
    file,
    out,
    owner: key,
    worker: { id: enclave.info.workerId, recipient: enclave.info.keys.recipient },
    analysts: [analyst.address],
    measurements: [enclave.info.measurement],
  });
  return { out, signed };
}

function upload(key: AccountKey, s: { out: string; signed: SignedManifest | string }): Promise<unknown> {
  const form = new FormData();
  form.append('manifest', typeof s.signed === 'string' ? s.signed : JSON.stringify(s.signed));
  form.append('sealed', new Blob([readFileSync(s.out)]), 'x.sealed');
  return new ApiClient(app.url, key).postForm('/v1/datasets', form);
}

function blobFiles(): string[] {
  const root = join(app.dataDir, 'blobs', 'sha256');
  try {
    return readdirSync(root).flatMap((d) => readdirSync(join(root, d)));
  } catch {
    return [];
  }
}

beforeAll(async () => {
  owner = await accountKeyFromSuri('//AppOwner');
  analyst = await accountKeyFromSuri('//AppAnalyst');
  stranger = await accountKeyFromSuri('//AppStranger');
  // The real enclave decrypts the file and checks it against the manifest; the double accepts
  // what the manifest says, so these tests see only what the host decides.
  enclave = new EnclaveDouble('worker-1', {
    validate_dataset: ({ input }) => ({
      rows: input.manifest.manifest.rows,
      schema: input.manifest.manifest.schema,
    }),
  });
  app = await startTestApp({ enclaves: [enclave] });
});

afterAll(async () => {
  await app?.close();
  rmSync(work, { recursive: true, force: true });
});

describe('the API surface', () => {
  it('documents every route, answers public reads unsigned and refuses the rest 401', async () => {
    const doc = (await (await fetch(`${app.url}/v1/openapi.json`)).json()) as {
      openapi: string;
      paths: Record<string, Record<string, unknown>>;
    };
    expect(doc.openapi).toBe('3.1.0');
    for (const r of ROUTES) expect(doc.paths[r.path]?.[r.method], `${r.method} ${r.path}`).toBeDefined();
    for (const p of ['/v1/health', '/v1/workers', '/v1/jobs', '/v1/results']) {
      expect((await fetch(`${app.url}${p}`)).status, p).toBe(200);
    }
    for (const p of ['/v1/datasets', '/v1/pipelines', '/v1/approvals', '/v1/upgrades']) {
      const res = await fetch(`${app.url}${p}`);
      expect(res.status, p).toBe(401);
      expect(res.headers.get('content-type')).toMatch(/application\/problem\+json/);
    }
    expect((await fetch(`${app.url}/`)).headers.get('content-type')).toMatch(/text\/html/);
    expect(await (await fetch(`${app.url}/metrics`)).text()).toContain(
      'obscura_http_request_duration_seconds_bucket',
    );
    expect(await refusal(new ApiClient(app.url, analyst).get('/v1/results/nope'))).toMatchObject({
      status: 404,
      code: 'result_not_found',
    });
    const none = await fetch(`${app.url}/v1/no-such-route`);
    expect(none.status).toBe(404);
    expect(((await none.json()) as { code: string }).code).toBe('not_found');
  });

  it('lists the worker as the enclave describes itself, and the chain the host is on', async () => {
    const { workers } = (await (await fetch(`${app.url}/v1/workers`)).json()) as {
      workers: { id: string; recipient: string; status: string }[];
    };
    expect(workers).toEqual([
      expect.objectContaining({ id: 'worker-1', recipient: enclave.info.keys.recipient, status: 'running' }),
    ]);
    const health = (await (await fetch(`${app.url}/v1/health`)).json()) as { chain: { chainName: string } };
    expect(health.chain.chainName).toBe('Obscura Test Double');
  });
});

describe('uploads', () => {
  it('refuses an unsigned upload 401, and a manifest uploaded by someone else 403, before the enclave is asked', async () => {
    const s = await sealed('unsigned');
    const form = new FormData();
    form.append('manifest', JSON.stringify(s.signed));
    form.append('sealed', new Blob([readFileSync(s.out)]), 'x.sealed');
    expect((await fetch(`${app.url}/v1/datasets`, { method: 'POST', body: form })).status).toBe(401);
    expect(await refusal(upload(stranger, s))).toMatchObject({ status: 403, code: 'not_dataset_owner' });
    expect(await refusal(upload(owner, { ...s, signed: '{not json' }))).toMatchObject({
      status: 400,
      code: 'manifest_invalid',
    });
    expect(enclave.asked('validate_dataset')).toEqual([]);
    expect(blobFiles()).toEqual([]);
  });

  it('refuses a sealed file that does not match its manifest without asking the enclave', async () => {
    const s = await sealed('corrupt');
    const bytes = readFileSync(s.out);
    bytes[bytes.length - 1] = (bytes[bytes.length - 1] as number) ^ 1;
    writeFileSync(s.out, bytes);
    expect(await refusal(upload(owner, s))).toMatchObject({ status: 422, code: 'sealed_file_corrupted' });
    writeFileSync(s.out, bytes.subarray(0, bytes.length - 10));
    expect(await refusal(upload(owner, s))).toMatchObject({ status: 422, code: 'sealed_file_truncated' });
    expect(enclave.asked('validate_dataset')).toEqual([]);
    expect(blobFiles()).toEqual([]);
  });

  it('stores nothing the enclave refuses, and passes on its refusal', async () => {
    const s = await sealed('refused');
    const accept = enclave.handlers.validate_dataset;
    enclave.handlers.validate_dataset = () => {
      throw new ObscuraError(
        'dataset_hash_mismatch',
        'the plaintext does not match the hash its owner signed',
        422,
      );
    };
    try {
      expect(await refusal(upload(owner, s))).toMatchObject({ status: 422, code: 'dataset_hash_mismatch' });
    } finally {
      enclave.handlers.validate_dataset = accept;
    }
    expect(enclave.asked('validate_dataset')).toHaveLength(1);
    expect(blobFiles()).toEqual([]);
    expect(
      ((await new ApiClient(app.url, owner).get('/v1/datasets')) as { datasets: unknown[] }).datasets,
    ).toEqual([]);
  });

  it('accepts a good upload once, after the enclave validated it', async () => {
    const s = await sealed('good');
    const before = enclave.asked('validate_dataset').length;
    const record = (await upload(owner, s)) as { id: string; owner: string; rows: number };
    expect(record).toMatchObject({ owner: owner.address, rows: 3 });
    expect(enclave.asked('validate_dataset')).toHaveLength(before + 1);
    expect(blobFiles()).toHaveLength(1);
    expect(await refusal(upload(owner, s))).toMatchObject({ status: 409, code: 'dataset_exists' });
    expect(blobFiles()).toHaveLength(1);
  });
});

describe('jobs', () => {
  let datasetId: string;
  beforeAll(async () => {
    datasetId = ((await upload(owner, await sealed('jobs'))) as { id: string }).id;
  });

  it('refuses an unknown input, an unknown column, a missing dataset and a bad body with 4xx, queueing nothing', async () => {
    expect(
      await submitJob(app.url, analyst, {
        pipeline: PIPELINE,
        inputs: { visits: datasetId, extra: datasetId },
      }),
    ).toMatchObject({ status: 400, code: 'pipeline_unknown_input' });
    const unknownColumn = PIPELINE.replace(/group_by:\s*\[?\s*region/, (m) =>
      m.replace('region', 'no_such_column'),
    );
    expect(unknownColumn).not.toBe(PIPELINE);
    expect(
      await submitJob(app.url, analyst, { pipeline: unknownColumn, inputs: { visits: datasetId } }),
    ).toMatchObject({ status: 400, code: 'pipeline_unknown_column' });
    expect(
      await submitJob(app.url, analyst, { pipeline: PIPELINE, inputs: { visits: 'f'.repeat(32) } }),
    ).toMatchObject({ status: 404, code: 'dataset_not_found' });
    expect(await submitJob(app.url, analyst, { inputs: { visits: datasetId } })).toMatchObject({
      status: 400,
      code: 'body_invalid',
    });
    // A body with a `request` key goes as given: here without one, as a client that signs nothing.
    expect(
      await submitJob(app.url, analyst, {
        pipeline: PIPELINE,
        inputs: { visits: datasetId },
        request: undefined,
      }),
    ).toMatchObject({ status: 400, code: 'job_request_missing' });
    expect(app.queued()).toBe(0);
    expect(((await new ApiClient(app.url, analyst).get('/v1/jobs')) as { jobs: unknown[] }).jobs).toEqual([]);
  });

  it('answers an analyst the manifest does not allow as if the dataset did not exist', async () => {
    expect(
      await submitJob(app.url, stranger, { pipeline: PIPELINE, inputs: { visits: datasetId } }),
    ).toMatchObject({ status: 404, code: 'dataset_not_found' });
    const missing = await submitJob(app.url, stranger, {
      pipeline: PIPELINE,
      inputs: { visits: 'e'.repeat(32) },
    });
    expect(missing).toMatchObject({ status: 404, code: 'dataset_not_found' });
  });

  it('queues an allowed job with its signed request, for its analyst to read and no one else', async () => {
    const r = await submitJob(app.url, analyst, { pipeline: PIPELINE, inputs: { visits: datasetId } });
    expect(r).toMatchObject({ status: 202, job: { status: 'queued', analyst: analyst.address } });
    expect(app.queued()).toBe(1);
    const id = r.job?.id as string;
    expect(((await new ApiClient(app.url, analyst).get(`/v1/jobs/${id}`)) as { id: string }).id).toBe(id);
    expect(await refusal(new ApiClient(app.url, stranger).get(`/v1/jobs/${id}`))).toMatchObject({
      status: 404,
    });
    // Nothing ran: no runner here, and the enclave was never asked to run a job.
    expect(enclave.asked('run_job')).toEqual([]);
  });
});
