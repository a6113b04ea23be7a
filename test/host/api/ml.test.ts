/**
 * Training through the whole system (host, enclave in-process, embedded chain, CLI): the
 * readmission example runs in the enclave, its signed result carries the weights and their
 * hash, `obscura verify` passes, `obscura result --weights` writes files that TensorFlow.js
 * loads, the backend is logged; and an owner whose policy releases metrics only gets a
 * weights job refused before it runs.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiClient } from '../../../src/cli/client.ts';
import {
  type AccountKey,
  accountKeyFromSuri,
  createKeyFile,
  loadAccountKey,
} from '../../../src/crypto/index.ts';
import { PROJECT_ROOT } from '../../../src/contracts/measurement.ts';
import { mlBackend } from '../../../src/ml/backend.ts';
import { verifyResultDocument } from '../../../src/provenance/index.ts';
import { JobRecordSchema, ResultDocumentSchema } from '../../../src/contracts/api-records.ts';
import { obscura } from '../../helpers/cli.ts';
import { refusal } from '../../helpers/datasets.ts';
import { type DataHost, startDataHost } from '../../helpers/data-host.ts';
import { finished, postJob, resultOutputs } from '../../helpers/jobs.ts';
import { inProcessEnclave } from '../../helpers/in-process-enclave.ts';

const PIPELINE = readFileSync(join(PROJECT_ROOT, 'pipelines/readmission-model.yaml'), 'utf8');

let t: DataHost;
const work = mkdtempSync(join(tmpdir(), 'obscura-ml-'));
let owner: AccountKey;
let analyst: AccountKey;
let open: string;
let metricsOnly: string;

beforeAll(async () => {
  t = await startDataHost({ enclaveSpawn: inProcessEnclave });
  owner = await accountKeyFromSuri('//MlOwner');
  // A key file, since `obscura result` signs its read as the analyst.
  await createKeyFile(join(work, 'analyst.key'));
  analyst = await loadAccountKey(join(work, 'analyst.key'));
  ({ dataset: open } = await t.seal({ owner, analysts: [analyst] }));
  ({ dataset: metricsOnly } = await t.seal({
    owner,
    analysts: [analyst],
    policy: 'obscura-policy: 1\nmodels: { release: metrics }\n',
  }));
}, 120_000);

afterAll(async () => {
  await t?.close();
  rmSync(work, { recursive: true, force: true });
});

describe('training in the enclave', () => {
  it('releases signed metrics and weights that TensorFlow.js loads', async () => {
    let job = JobRecordSchema.parse(
      await postJob(t.host.url, analyst, { pipeline: PIPELINE, inputs: { visits: open } }),
    );
    job = await finished(t.host.url, analyst, job);
    expect(job.status, JSON.stringify(job.error)).toBe('succeeded');
    const doc = ResultDocumentSchema.parse(
      await new ApiClient(t.host.url, analyst).get(`/v1/results/${job.result}`),
    );
    const out = (await resultOutputs(t.host.url, analyst, doc.id)).risk_model;
    expect(out?.model?.backend).toBe('exact');
    expect(out?.rows.map((r) => r[0])).toContain('auc');
    expect(
      (await verifyResultDocument(doc, { chainEndpoint: t.host.chainEndpoint, allowSimulated: true })).ok,
    ).toBe(true);
    expect(t.logs.join('\n')).toMatch(/trained a logistic_regression by an exact solve/);

    const dir = join(work, 'model');
    const r = await obscura(
      ['result', job.result as string, '--weights', dir, '--key', 'analyst.key', '--api', t.host.url],
      { cwd: work },
    );
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(out?.model?.weights?.sha256 as string);
    const json = JSON.parse(readFileSync(join(dir, 'model.json'), 'utf8')) as {
      modelTopology: object;
      weightsManifest: { weights: tf.io.WeightsManifestEntry[] }[];
    };
    const bin = readFileSync(join(dir, 'weights.bin'));
    await mlBackend();
    const model = await tfl.loadLayersModel(
      tf.io.fromMemory({
        modelTopology: json.modelTopology,
        weightSpecs: json.weightsManifest[0]?.weights ?? [],
        weightData: bin.buffer.slice(bin.byteOffset, bin.byteOffset + bin.length),
      }),
    );
    // age, cost (standardised) and the one-hot regions: a probability comes out.
    const width = (model.inputs[0]?.shape[1] ?? 0) as number;
    const p = (model.predict(tf.zeros([1, width])) as tf.Tensor).dataSync()[0] as number;
    expect(p).toBeGreaterThan(0);
    expect(p).toBeLessThan(1);
  }, 120_000);

  it('refuses weights from a dataset whose policy releases metrics only, before queueing', async () => {
    const e = await refusal(
      postJob(t.host.url, analyst, { pipeline: PIPELINE, inputs: { visits: metricsOnly } }),
    );
    expect(e).toMatchObject({ status: 403, code: 'policy_model_release' });
    expect(e.message).toMatch(/releases metrics only/);
  });
});
