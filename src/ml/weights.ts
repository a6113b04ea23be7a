/**
 * Released weights in the TensorFlow.js layers format, so anyone can load them with
 * `tf.loadLayersModel(tf.io.fromMemory({ modelTopology, weightSpecs, weightData }))`
 * (weightData base64-decoded) — or write `model.json` and `weights.bin` from them. The
 * SHA-256 covers the topology, the weight specs and the weight bytes, and is part of the
 * signed result, so the weights' provenance is the result's.
 */
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { canonicalJson, sha256Hex } from '../common/hash.ts';

/** A model's weights as a result carries them. */
export interface ReleasedWeights {
  format: 'tfjs-layers';
  modelTopology: unknown;
  weightSpecs: unknown[];
  /** The weight bytes, base64. */
  weightData: string;
  /** SHA-256 of JCS({ modelTopology, weightSpecs }) + "\n" + the weight bytes as hex. */
  sha256: string;
}

/** The hash of released weights (see ReleasedWeights.sha256). */
export function weightsHash(
  w: Pick<ReleasedWeights, 'modelTopology' | 'weightSpecs' | 'weightData'>,
): string {
  const bytes = Buffer.from(w.weightData, 'base64');
  return sha256Hex(
    Buffer.concat([
      Buffer.from(`${canonicalJson({ modelTopology: w.modelTopology, weightSpecs: w.weightSpecs })}\n`),
      bytes,
    ]),
  );
}

/** Export a model's topology and weights. */
export async function exportWeights(model: tfl.LayersModel): Promise<ReleasedWeights> {
  let saved: tf.io.ModelArtifacts | undefined;
  await model.save(
    tf.io.withSaveHandler(async (artifacts) => {
      saved = artifacts;
      return { modelArtifactsInfo: { dateSaved: new Date(0), modelTopologyType: 'JSON' } };
    }),
  );
  if (!saved) throw new Error('the model was not saved');
  const data = saved.weightData;
  const buffers = Array.isArray(data) ? data : data ? [data] : [];
  const weightData = Buffer.concat(buffers.map((b) => Buffer.from(b))).toString('base64');
  const out = { modelTopology: saved.modelTopology, weightSpecs: saved.weightSpecs ?? [], weightData };
  return { format: 'tfjs-layers', ...out, sha256: weightsHash(out) };
}
