import type { Tf } from '../tf.js';
import type { ConcreteBackend } from './resolve.js';

/** Runs in the trial process: loads the chosen backend and returns the tf namespace bound to it. */
export async function setupBackend(name: ConcreteBackend): Promise<Tf> {
  if (name === 'tensorflow-gpu' || name === 'tensorflow') {
    // tfjs-node(-gpu) re-exports @tensorflow/tfjs with its native backend registered.
    const pkg = name === 'tensorflow-gpu' ? '@tensorflow/tfjs-node-gpu' : '@tensorflow/tfjs-node';
    const tf = (await import(pkg)) as Tf;
    await tf.setBackend('tensorflow');
    return tf;
  }
  const tf = await import('@tensorflow/tfjs');
  if (name === 'wasm') {
    const { initWasmBackend } = await import('./kernels/index.js');
    await initWasmBackend();
  } else {
    await tf.setBackend('cpu');
  }
  await tf.ready();
  if (tf.getBackend() !== (name === 'wasm' ? 'wasm' : 'cpu')) throw new Error(`backend ${name} did not initialise (active: ${tf.getBackend()})`);
  return tf;
}
