/**
 * The TypeScript client (`import { ObscuraClient } from 'obscura'`) against the API
 * in-process: it signs as its account, parses every answer with the API's schemas, signs
 * the analyst's job request itself, and surfaces refusals as ObscuraErrors with the API's
 * codes. The package's library entry points at the compiled client.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sealDataset } from '../../src/cli/seal-dataset.ts';
import { type AccountKey, isObscuraError, ObscuraClient } from '../../src/client/index.ts';
import { accountKeyFromSuri } from '../../src/crypto/index.ts';
import { PROJECT_ROOT } from '../../src/contracts/measurement.ts';
import { EnclaveDouble, startTestApp, type TestApp } from '../helpers/app.ts';

const PIPELINE = readFileSync(join(PROJECT_ROOT, 'pipelines/cost-by-region.yaml'), 'utf8');
const CSV = 'patient_id,region,age,cost\nP1,north,40,10.5\nP2,south,51,20.25\nP3,north,17,3.0\n';

let app: TestApp;
let owner: AccountKey;
let analyst: AccountKey;
let dataset: string;
const work = mkdtempSync(join(tmpdir(), 'obscura-client-test-'));

async function code(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (e) {
    if (isObscuraError(e)) return e.code;
    throw e;
  }
  throw new Error('expected a refusal');
}

beforeAll(async () => {
  owner = await accountKeyFromSuri('//ClientOwner');
  analyst = await accountKeyFromSuri('//ClientAnalyst');
  const enclave = new EnclaveDouble('worker-1', {
    validate_dataset: ({ input }) => ({
      rows: input.manifest.manifest.rows,
      schema: input.manifest.manifest.schema,
    }),
  });
  app = await startTestApp({ enclaves: [enclave] });
  const file = join(work, 'visits.csv');
  writeFileSync(file, CSV);
  const out = join(work, 'visits.sealed');
  const { signed } = await sealDataset({
    file,
    out,
    owner,
    worker: { id: enclave.info.workerId, recipient: enclave.info.keys.recipient },
    analysts: [analyst.address],
    measurements: [enclave.info.measurement],
  });
  const form = new FormData();
  form.append('manifest', JSON.stringify(signed));
  form.append('sealed', new Blob([readFileSync(out)]), 'x.sealed');
  dataset = ((await new ObscuraClient(app.url, owner).postForm('/v1/datasets', form)) as { id: string }).id;
});

afterAll(async () => {
  await app?.close();
  rmSync(work, { recursive: true, force: true });
});

describe('ObscuraClient', () => {
  it('reads what its account may read, typed', async () => {
    const client = new ObscuraClient(app.url, analyst);
    const [d] = await client.datasets();
    expect(d).toMatchObject({ id: dataset, owner: owner.address, rows: 3 });
    expect((await client.dataset(dataset)).schema.map((c) => c.name)).toEqual([
      'patient_id',
      'region',
      'age',
      'cost',
    ]);
    // Unsigned, the same read is refused with the API's code.
    expect(await code(new ObscuraClient(app.url).datasets())).toBe('key_required');
    expect(await code(client.dataset('nope'))).toBe('dataset_not_found');
  });

  it('dry-runs, then signs and submits a job as its analyst', async () => {
    const client = new ObscuraClient(app.url, analyst);
    const job = { pipeline: PIPELINE, inputs: { visits: dataset }, purpose: 'client test' };
    const preview = await client.dryRun(job);
    expect(preview.inputs[0]).toMatchObject({ dataset, owner: owner.address });
    const submitted = await client.submitJob(job);
    expect(submitted).toMatchObject({ analyst: analyst.address, status: 'queued' });
    expect((await client.job(submitted.id)).id).toBe(submitted.id);
    expect((await client.jobs({ status: 'queued' })).map((j) => j.id)).toContain(submitted.id);
    expect(await client.jobs({ status: 'succeeded' })).toEqual([]);
    expect((await client.preview(submitted.id)).request?.request.analyst).toBe(analyst.address);
    // Only the analyst's own key signs a job request.
    expect(await code(new ObscuraClient(app.url).submitJob(job))).toBe('key_required');
    // No runner runs here: the job stays queued, and waiting for it gives up with its code.
    const seen: string[] = [];
    await expect(
      client.waitForJob(submitted.id, {
        timeoutMs: 50,
        intervalMs: 20,
        onProgress: (j) => seen.push(j.status),
      }),
    ).rejects.toMatchObject({ code: 'job_wait_timeout' });
    expect(seen[0]).toBe('queued');
  });

  it('is the package entry, compiled', () => {
    const pkg = JSON.parse(readFileSync(join(PROJECT_ROOT, 'package.json'), 'utf8')) as {
      exports: Record<string, { types: string; default: string }>;
    };
    // scripts/build.ts writes dist/<path>.js for every src/<path>.ts.
    expect(pkg.exports['.']).toEqual({
      types: './dist/client/index.d.ts',
      default: './dist/client/index.js',
    });
  });
});
