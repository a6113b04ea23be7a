/**
 * Feeding rows to TensorFlow.js one batch at a time, each batch a tensor made from a
 * subarray of the encoded rows. tfjs-layers' `fit(x, y)` and `predict(x)` instead cut
 * every batch out of one tensor of all the rows, and the WebAssembly backend's `slice`
 * copies the whole source tensor out of wasm memory for each cut: the cost grows with
 * rows × batches. Measured on 1M × 20 rows (2 epochs, wasm): predicting 100k validation
 * rows at tfjs's default batch of 32 took 21 s and slicing fit's index tensor 5 s, of a
 * 45 s run; built from subarrays, both are linear and the copies are batch-sized.
 *
 * This is a dataset in the structural sense tfjs-layers' `fitDataset` and
 * `evaluateDataset` accept (an object with `iterator()`): tf.data.generator would do the
 * same but brings @tensorflow/tfjs-data and its node-fetch for these few lines.
 */
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';

/** One batch as fitDataset wants it. */
export interface Batch {
  xs: tf.Tensor2D;
  ys: tf.Tensor2D;
}

/** What fitDataset and evaluateDataset take: anything with an async iterator() and a size. */
export interface BatchDataset {
  size: number;
  iterator(): Promise<{ next(): Promise<IteratorResult<Batch>> }>;
}

/**
 * Rows x (n × width, row-major) and labels y as consecutive batches of `batchSize`, in order,
 * every epoch the same. `checkpoint` runs before each batch and may throw to stop training
 * (a job's deadline or cancellation).
 */
export function batchDataset(
  x: Float32Array,
  y: Float32Array,
  width: number,
  batchSize: number,
  checkpoint?: () => Promise<void>,
): BatchDataset {
  const n = y.length;
  if (x.length !== n * width)
    throw new RangeError(`batchDataset: ${x.length} values are not ${n} rows of ${width}`);
  const size = Math.max(1, Math.ceil(n / batchSize));
  return {
    size,
    async iterator() {
      let start = 0;
      return {
        async next(): Promise<IteratorResult<Batch>> {
          if (start >= n) return { done: true, value: undefined };
          await checkpoint?.();
          const end = Math.min(n, start + batchSize);
          const rows = end - start;
          const value = {
            xs: tf.tensor2d(x.subarray(start * width, end * width), [rows, width]),
            ys: tf.tensor2d(y.subarray(start, end), [rows, 1]),
          };
          start = end;
          return { done: false, value };
        },
      };
    },
  };
}

/** Rows per tensor when predicting: large enough that per-call overhead vanishes, small enough to keep activations modest. */
const PREDICT_CHUNK = 8192;

/** Predictions (probabilities or values) of `model` on an n × width matrix, chunk by chunk. */
export function predictRows(model: tfl.LayersModel, x: Float32Array, width: number): Float32Array {
  const n = width ? x.length / width : 0;
  const out = new Float32Array(n);
  for (let start = 0; start < n; start += PREDICT_CHUNK) {
    const end = Math.min(n, start + PREDICT_CHUNK);
    const rows = end - start;
    // batchSize = the chunk, so tfjs runs it as one batch and does not slice it again.
    const chunk = tf.tidy(() =>
      (
        model.predict(tf.tensor2d(x.subarray(start * width, end * width), [rows, width]), {
          batchSize: rows,
        }) as tf.Tensor
      ).dataSync(),
    );
    out.set(chunk, start);
  }
  return out;
}
