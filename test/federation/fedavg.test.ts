/**
 * Federated training: the merges on their own (weighted averaging, metrics from merged
 * statistics against the exact ones, the global encoding), the channel's refusals, and
 * three real enclave workers in one process tree training one logistic regression on
 * their own partitions — rows never leave a worker, only sealed messages pass through this
 * test (playing the host) — reaching within 0.02 AUC of centralised training on the same
 * rows.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sealDataset } from '../../src/cli/seal-dataset.ts';
import { generateEd25519 } from '../../src/common/ed25519.ts';
import { accountKeyFromSuri, generateIdentity } from '../../src/crypto/index.ts';
import { EnclaveClient } from '../../src/host/enclave-client.ts';
import { openOutputs } from '../../src/contracts/result-outputs.ts';
import {
  evalStats,
  federatedAverage,
  mergeEncoding,
  mergeMetrics,
  openFrom,
  sealFor,
} from '../../src/federation/index.ts';
import { runFederatedTraining } from '../../src/host/federation-coordinator.ts';
import { auc } from '../../src/ml/metrics.ts';
import { TRAIN_DEFAULTS, trainModel } from '../../src/ml/train.ts';
import { signedRequestForInputs } from '../../src/client/job-request.ts';
import { compiledEnclave } from '../helpers/compiled-enclave.ts';

/** A seeded Lehmer generator in [0, 1): test data only. */
function lcg(seed: number): () => number {
  let s = seed;
  return () => {
    s = (s * 16807) % 2147483647;
    return s / 2147483647;
  };
}

describe('merges', () => {
  it('federated averaging weighs each worker by its rows', () => {
    const shapes = [[2], [1]];
    const avg = federatedAverage([
      { weights: { shapes, values: [[1, 2], [3]] }, rows: 1 },
      { weights: { shapes, values: [[4, 8], [0]] }, rows: 2 },
    ]);
    expect(avg).toEqual({ shapes, values: [[3, 6], [1]] });
  });
  it('metrics from merged statistics match the metrics of all predictions together', () => {
    const rnd = lcg(1);
    const y = Array.from({ length: 3000 }, () => (rnd() < 0.3 ? 1 : 0));
    const p = y.map((v) => Math.min(0.999, Math.max(0.001, 0.3 * v + 0.7 * rnd())));
    const parts = [
      evalStats('classification', p.slice(0, 1000), y.slice(0, 1000)),
      evalStats('classification', p.slice(1000), y.slice(1000)),
    ];
    expect(Math.abs((mergeMetrics(parts).auc as number) - auc(p, y))).toBeLessThan(0.002);
    const r = [evalStats('regression', [1, 2], [1, 3]), evalStats('regression', [5], [4])];
    expect(mergeMetrics(r).rmse).toBeCloseTo(Math.sqrt(2 / 3), 12);
    expect(mergeMetrics(r).r2).toBeCloseTo(1 - 2 / (26 - 64 / 3), 12);
  });
  it('one encoding from every worker, leaving out categories rarer than min_group_size overall', () => {
    const stats = [
      {
        features: [
          { name: 'x', kind: 'numeric' as const, n: 2, sum: 2, sumsq: 2 },
          { name: 'r', kind: 'onehot' as const, counts: { a: 3, b: 1 } },
        ],
        label: { n: 2, sum: 1, sumsq: 1 },
      },
      {
        features: [
          { name: 'x', kind: 'numeric' as const, n: 2, sum: 6, sumsq: 18 },
          { name: 'r', kind: 'onehot' as const, counts: { b: 1, c: 9 } },
        ],
        label: { n: 2, sum: 1, sumsq: 1 },
      },
    ];
    const { encoding, labelMean } = mergeEncoding(stats, 3);
    expect(encoding[0]).toEqual({ name: 'x', kind: 'numeric', mean: 2, std: 1 });
    expect(encoding[1]).toEqual({ name: 'r', kind: 'onehot', vocabulary: ['a', 'c'] });
    expect(labelMean).toBe(0.5);
  });
  it("a message opens only for its recipient and only with its sender's key", async () => {
    const to = generateIdentity();
    const from = generateEd25519();
    const msg = await sealFor(to.recipient, from.seed, { w: [1, 2] });
    expect(await openFrom(msg, to.identity, from.publicKey)).toEqual({ w: [1, 2] });
    await expect(openFrom(msg, to.identity, generateEd25519().publicKey)).rejects.toMatchObject({
      code: 'federation_message_invalid',
    });
    await expect(openFrom(msg, generateIdentity().identity, from.publicKey)).rejects.toMatchObject({
      code: 'federation_message_invalid',
    });
  });
});

describe('three workers', () => {
  const dir = mkdtempSync(join(tmpdir(), 'obscura-fed-'));
  const enclaves: EnclaveClient[] = [];
  const ROWS = 3000;
  const rows: { x: number[]; region: string; y: boolean }[][] = [[], [], []];
  beforeAll(async () => {
    for (const id of ['fed-a', 'fed-b', 'fed-c'])
      enclaves.push(
        await EnclaveClient.start({ dataDir: join(dir, 'data'), workerId: id, spawn: compiledEnclave }),
      );
    const rnd = lcg(11);
    for (let w = 0; w < 3; w++) {
      for (let i = 0; i < ROWS; i++) {
        const x = [rnd() * 2 - 1 + 0.3 * w, rnd() * 2 - 1, rnd() * 2 - 1];
        const region = ['north', 'south', 'east'][Math.floor(rnd() * 3)] as string;
        const z = 2 * (x[0] as number) - 1.5 * (x[1] as number) + (region === 'north' ? 0.8 : 0) - 0.3;
        (rows[w] as (typeof rows)[number]).push({ x, region, y: rnd() < 1 / (1 + Math.exp(-z)) });
      }
    }
  }, 60_000);
  afterAll(async () => {
    await Promise.all(enclaves.map((e) => e.stop()));
    rmSync(dir, { recursive: true, force: true });
  });

  it('train together within 0.02 AUC of centralised training, keeping their rows', async () => {
    const owner = await accountKeyFromSuri('//FedOwner');
    const analyst = await accountKeyFromSuri('//FedAnalyst');
    const partitions = [];
    for (const [w, enclave] of enclaves.entries()) {
      const file = join(dir, `part-${w}.csv`);
      writeFileSync(
        file,
        `x0,x1,x2,region,y\n${(rows[w] as (typeof rows)[number]).map((r) => `${r.x.map((v) => v.toFixed(4)).join(',')},${r.region},${r.y}`).join('\n')}\n`,
      );
      const { signed } = await sealDataset({
        file,
        out: `${file}.sealed`,
        owner,
        worker: { id: enclave.info.workerId, recipient: enclave.info.keys.recipient },
        analysts: [analyst.address],
        measurements: [enclave.info.measurement],
      });
      partitions.push({
        enclave,
        input: { name: 'data', datasetId: `part-${w}`, blobPath: `${file}.sealed`, manifest: signed },
      });
    }
    const pipeline = `obscura: 1
name: federated-risk
inputs: { data: { columns: { x0: float64, x1: float64, x2: float64, region: string, y: bool } } }
steps:
  - id: m
    train: { from: data, model: logistic_regression, features: [x0, x1, x2, region], label: y, options: { epochs: 2, learning_rate: 0.05, rounds: 5, seed: 5 } }
outputs: { m: { min_group_size: 10, release: weights } }
`;
    const request = await signedRequestForInputs(
      analyst,
      pipeline,
      partitions.map((p) => p.input),
    );
    const { signed, ciphertext } = await runFederatedTraining({
      job: { id: 'fed-1', request, pipeline },
      step: 'm',
      rounds: 5,
      partitions,
    });
    expect(signed.result.request).toEqual(request);
    // Sealed to the analyst and the partitions' owner, never in the clear on the way out.
    expect(signed.result.outputs.visibility).toBe('sealed');
    expect(
      signed.result.outputs.visibility === 'sealed' && signed.result.outputs.readers.map((r) => r.role),
    ).toEqual(['analyst', 'owner']);
    const out = (
      await openOutputs(signed.result, ciphertext ? Buffer.from(ciphertext, 'base64') : undefined, analyst)
    ).m;
    expect(
      await openOutputs(signed.result, ciphertext ? Buffer.from(ciphertext, 'base64') : undefined, owner),
    ).toEqual({ m: out });
    const metrics = Object.fromEntries((out?.rows ?? []).map(([k, v]) => [k, v]));
    expect(metrics).toMatchObject({ rounds: 5, workers: 3 });
    expect(signed.result.federation?.workers.map((w) => w.worker)).toEqual(['fed-a', 'fed-b', 'fed-c']);
    expect(signed.result.inputs.map((i) => i.dataset)).toEqual(['part-0', 'part-1', 'part-2']);
    expect(out?.model?.weights?.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(out?.model?.rows).toEqual({ train: 3 * (ROWS - ROWS * 0.2), validation: 3 * ROWS * 0.2 });

    // Centralised: the same rows in one place, the same options, as many epochs in all.
    const all = rows.flat();
    const col = (name: string, type: string, values: unknown[]) => ({ name, type, values });
    const central = await trainModel({
      step: 'm',
      kind: 'logistic_regression',
      features: [0, 1, 2]
        .map((j) =>
          col(
            `x${j}`,
            'float64',
            all.map((r) => r.x[j]),
          ),
        )
        .concat([
          col(
            'region',
            'string',
            all.map((r) => r.region),
          ),
        ]),
      label: col(
        'y',
        'bool',
        all.map((r) => r.y),
      ),
      options: { ...TRAIN_DEFAULTS, epochs: 10, learningRate: 0.05, seed: 5, patience: 10 },
    });
    console.info(
      `federated AUC ${(metrics.auc as number).toFixed(4)}, centralised AUC ${(central.metrics.auc as number).toFixed(4)}`,
    );
    expect(central.metrics.auc).toBeGreaterThan(0.7);
    expect(Math.abs((metrics.auc as number) - (central.metrics.auc as number))).toBeLessThan(0.02);
  }, 120_000);
});
