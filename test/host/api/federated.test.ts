/**
 * Federated training through the whole system: a host with three enclave workers, one
 * owner's partition sealed to each, and `obscura run --input data=A --input data=B --input
 * data=C` training one model across them; the anchored result names every worker and
 * verifies. Binding a list to anything but a single train output, or two partitions on one
 * worker, is refused before anything runs. A federated job that fails on a condition of
 * the rows (too few on a worker) fails with the one data-free code.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningHost, startHost } from '../../../src/host/api/host.ts';
import { ApiClient } from '../../../src/cli/client.ts';
import { submitJob } from '../../../src/client/job-request.ts';
import { type AccountKey, accountKeyFromSuri, loadAccountKey } from '../../../src/crypto/index.ts';
import { verifyResultDocument } from '../../../src/provenance/index.ts';
import { DATA_CONDITION_CODE, DATA_CONDITION_MESSAGE } from '../../../src/enclave/data-condition.ts';
import { JobRecordSchema, ResultDocumentSchema } from '../../../src/contracts/api-records.ts';
import { obscura } from '../../helpers/cli.ts';
import { refusal, sealAndUpload } from '../../helpers/datasets.ts';
import { finished, resultOutputs } from '../../helpers/jobs.ts';
import { workerChain } from '../../helpers/worker-chain.ts';
import { inProcessEnclave } from '../../helpers/in-process-enclave.ts';

const dir = mkdtempSync(join(tmpdir(), 'obscura-federated-'));
let host: RunningHost;
let owner: AccountKey;
let analyst: AccountKey;
const datasets: string[] = [];
const PIPELINE = `obscura: 1
name: federated-risk
inputs: { data: { columns: { x0: float64, x1: float64, region: string, y: bool } } }
steps:
  - id: m
    train: { from: data, model: logistic_regression, features: [x0, x1, region], label: y, options: { epochs: 2, learning_rate: 0.05, rounds: 3 } }
outputs: { m: { min_group_size: 10 } }
`;

beforeAll(async () => {
  host = await startHost({
    dataDir: join(dir, 'data'),
    port: 0,
    chainEndpoint: (await workerChain()).endpoint,
    workerIds: ['worker-1', 'worker-2', 'worker-3'],
    enclaveSpawn: inProcessEnclave,
  });
  owner = await accountKeyFromSuri('//FederatedOwner');
  expect((await obscura(['keys', 'new', '--out', 'analyst.key'], { cwd: dir })).code).toBe(0);
  analyst = await loadAccountKey(join(dir, 'analyst.key'));
  let seed = 3;
  const rnd = () => {
    seed = (seed * 16807) % 2147483647;
    return seed / 2147483647;
  };
  for (const [w, worker] of host.workers.list().entries()) {
    const lines = ['x0,x1,region,y'];
    for (let i = 0; i < 600; i++) {
      const [x0, x1] = [rnd() * 2 - 1, rnd() * 2 - 1];
      const region = ['north', 'south'][Math.floor(rnd() * 2)] as string;
      lines.push(`${x0.toFixed(3)},${x1.toFixed(3)},${region},${rnd() < 1 / (1 + Math.exp(-(2 * x0 - x1)))}`);
    }
    const file = join(dir, `part-${w}.csv`);
    writeFileSync(file, `${lines.join('\n')}\n`);
    datasets.push(
      (
        await sealAndUpload({
          url: host.url,
          file,
          out: `${file}.sealed`,
          owner,
          worker,
          analysts: [analyst.address],
        })
      ).dataset,
    );
  }
  writeFileSync(join(dir, 'p.yaml'), PIPELINE);
}, 180_000);

afterAll(async () => {
  await host?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('federated jobs', () => {
  it('train one model across three workers from the CLI', async () => {
    const args = [
      'run',
      'p.yaml',
      ...datasets.flatMap((d) => ['--input', `data=${d}`]),
      '--key',
      'analyst.key',
      '--wait',
      '--api',
      host.url,
    ];
    const r = await obscura(args, { cwd: dir });
    expect(r.code, r.stderr).toBe(0);
    const doc = ResultDocumentSchema.parse(
      await new ApiClient(host.url, analyst).get(`/v1/results/${r.stdout.trim()}`),
    );
    expect(doc.signed.result.federation).toMatchObject({
      rounds: 3,
      workers: [{ worker: 'worker-1' }, { worker: 'worker-2' }, { worker: 'worker-3' }],
    });
    expect(doc.signed.result.inputs.map((i) => i.dataset)).toEqual(datasets);
    const auc = (await resultOutputs(host.url, analyst, doc.id)).m?.rows.find(
      (row) => row[0] === 'auc',
    )?.[1] as number;
    expect(auc).toBeGreaterThan(0.7);
    expect(
      (await verifyResultDocument(doc, { chainEndpoint: host.chainEndpoint, allowSimulated: true })).ok,
    ).toBe(true);
  }, 120_000);

  it('refuses two training partitions on one worker; an aggregate over a list passes the federation checks (a union)', async () => {
    const api = new ApiClient(host.url, analyst);
    const aggregate = PIPELINE.replace(
      /steps:[\s\S]*$/,
      'steps:\n  - id: a\n    aggregate: { from: data, measures: { n: { count: "*" } } }\noutputs: { a: {} }\n',
    );
    expect(
      await refusal(api.post('/v1/jobs', { pipeline: aggregate, inputs: { data: datasets } })),
    ).toMatchObject({ status: 400, code: 'job_request_missing' });
    expect(
      await refusal(
        api.post('/v1/jobs', { pipeline: PIPELINE, inputs: { data: [datasets[0], datasets[0]] } }),
      ),
    ).toMatchObject({ status: 400, code: 'federation_invalid' });
    const single = await refusal(
      api.post('/v1/jobs', { pipeline: PIPELINE, inputs: { data: [datasets[0]] } }),
    );
    expect(single).toMatchObject({ status: 400, code: 'body_invalid' });
  });

  it('a federated job whose rows fail a condition of the data fails with the one data-free code', async () => {
    // Few rows on each worker keep x0 > 0.99: fewer than min_group_size, a fact about the data.
    const few = PIPELINE.replace(
      '  - id: m\n    train: { from: data,',
      '  - id: kept\n    filter: { from: data, where: "x0 > 0.99" }\n  - id: m\n    train: { from: kept,',
    );
    const api = new ApiClient(host.url, analyst);
    let job = JobRecordSchema.parse(
      await submitJob(api, analyst, { pipeline: few, inputs: { data: datasets } }),
    );
    job = await finished(host.url, analyst, job);
    expect(job.status).toBe('failed');
    expect(job.error).toEqual({ code: DATA_CONDITION_CODE, message: DATA_CONDITION_MESSAGE });
  }, 120_000);
});
