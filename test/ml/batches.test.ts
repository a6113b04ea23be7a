/**
 * Batches built from subarrays (src/ml/batches.ts): every row once, in order, in batches of
 * the asked size with a short last one, the same every epoch; chunked prediction equal to
 * tfjs's own prediction over the whole matrix; and training through them learning what
 * fit() on whole tensors learns.
 */
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { mlBackend } from '../../src/ml/backend.ts';
import { batchDataset, predictRows } from '../../src/ml/batches.ts';
import { buildModel, TRAIN_DEFAULTS } from '../../src/ml/train.ts';

const WIDTH = 3;
function rows(n: number): { x: Float32Array; y: Float32Array } {
  const x = new Float32Array(n * WIDTH);
  const y = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < WIDTH; j++) x[i * WIDTH + j] = Math.sin(i * (j + 1) * 0.37);
    y[i] = (x[i * WIDTH] as number) - 0.5 * (x[i * WIDTH + 1] as number) > 0 ? 1 : 0;
  }
  return { x, y };
}

async function drain(
  ds: ReturnType<typeof batchDataset>,
): Promise<{ xs: number[][]; ys: number[]; sizes: number[] }> {
  const it = await ds.iterator();
  const out = { xs: [] as number[][], ys: [] as number[], sizes: [] as number[] };
  for (let r = await it.next(); !r.done; r = await it.next()) {
    out.sizes.push(r.value.xs.shape[0]);
    expect(r.value.xs.shape[1]).toBe(WIDTH);
    expect(r.value.ys.shape).toEqual([r.value.xs.shape[0], 1]);
    out.xs.push(...(r.value.xs.arraySync() as number[][]));
    out.ys.push(...(r.value.ys.dataSync() as Float32Array));
    tf.dispose([r.value.xs, r.value.ys]);
  }
  return out;
}

beforeAll(async () => {
  await mlBackend();
});

describe('batchDataset', () => {
  it('yields every row once, in order, in batches of batchSize with a short last one, each epoch alike', async () => {
    const { x, y } = rows(10);
    const ds = batchDataset(x, y, WIDTH, 4);
    expect(ds.size).toBe(3);
    const first = await drain(ds);
    expect(first.sizes).toEqual([4, 4, 2]);
    expect(first.ys).toEqual(Array.from(y));
    expect(first.xs.flat()).toEqual(Array.from(x));
    expect(await drain(ds)).toEqual(first);
  });

  it('refuses values that are not rows of the given width', () => {
    expect(() => batchDataset(new Float32Array(7), new Float32Array(2), WIDTH, 4)).toThrow(
      /7 values are not 2 rows of 3/,
    );
  });

  it('trains to the same model as fit() on whole tensors', async () => {
    const { x, y } = rows(600);
    const o = { ...TRAIN_DEFAULTS, batchSize: 64, epochs: 3 };
    const a = buildModel('logistic_regression', 'classification', WIDTH, o);
    const b = buildModel('logistic_regression', 'classification', WIDTH, o);
    const [xt, yt] = [tf.tensor2d(x, [600, WIDTH]), tf.tensor2d(y, [600, 1])];
    const ha = await a.fit(xt, yt, { epochs: 3, batchSize: 64, shuffle: false, verbose: 0 });
    const hb = await b.fitDataset(batchDataset(x, y, WIDTH, 64), { epochs: 3, verbose: 0 });
    tf.dispose([xt, yt]);
    const wa = a.getWeights().map((w) => Array.from(w.dataSync()));
    const wb = b.getWeights().map((w) => Array.from(w.dataSync()));
    for (const [i, w] of wa.entries()) for (const [k, v] of w.entries()) expect(wb[i]?.[k]).toBeCloseTo(v, 5);
    expect((hb.history.loss ?? []).map(Number)[2]).toBeCloseTo(Number((ha.history.loss ?? [])[2]), 5);
  });
});

describe('predictRows', () => {
  it('predicts what the model predicts on the whole matrix, across several chunks', () => {
    const n = 20_000; // more than two chunks of 8192
    const { x } = rows(n);
    const model = buildModel('mlp', 'classification', WIDTH, { ...TRAIN_DEFAULTS, hiddenUnits: [4] });
    const whole = tf.tidy(() =>
      (model.predict(tf.tensor2d(x, [n, WIDTH]), { batchSize: n }) as tf.Tensor).dataSync(),
    );
    const chunked = predictRows(model, x, WIDTH);
    expect(chunked.length).toBe(n);
    let worst = 0;
    for (let i = 0; i < n; i++)
      worst = Math.max(worst, Math.abs((chunked[i] as number) - (whole[i] as number)));
    expect(worst).toBeLessThan(1e-6);
    expect(predictRows(model, new Float32Array(0), WIDTH)).toEqual(new Float32Array(0));
  });
});
