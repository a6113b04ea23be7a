/**
 * The TensorFlow.js backend: the native `@tensorflow/tfjs-node` where it installed (an
 * optional dependency: its install downloads libtensorflow, which fails on machines
 * without internet access), otherwise the WebAssembly backend, which ships inside its npm
 * package. Chosen once per process; the name is logged by the caller and recorded in
 * every model result.
 */
import * as tf from '@tensorflow/tfjs-core';

let chosen: Promise<string> | undefined;

async function choose(): Promise<string> {
  try {
    // A variable specifier: the package is optional, and type-checking must not need it.
    const native = '@tensorflow/tfjs-node';
    await import(native);
    if (await tf.setBackend('tensorflow')) return 'tensorflow';
  } catch {
    // not installed, or libtensorflow missing: fall back
  }
  await import('@tensorflow/tfjs-backend-wasm');
  if (await tf.setBackend('wasm')) {
    await tf.ready();
    return 'wasm';
  }
  await import('@tensorflow/tfjs-backend-cpu');
  await tf.setBackend('cpu');
  await tf.ready();
  return 'cpu';
}

/** Initialise the backend (once) and return its name: tensorflow, wasm or cpu. */
export function mlBackend(): Promise<string> {
  chosen ??= choose();
  return chosen;
}
