import type { Tf } from '../tf.js';
import type { ConcreteBackend } from './resolve.js';
import { requireTf } from './tfjs-require.js';

/**
 * The offline tf namespace: core + layers + the chosen backend. The umbrella
 * `@tensorflow/tfjs` package also loads the converter, tfjs-data and the WebGL backend,
 * none of which a trial uses; skipping them takes about 40% off each trial's start-up.
 */
function offlineTf(): Tf {
  // require(), not import(): see tfjs-require.ts.
  const core = requireTf('@tensorflow/tfjs-core') as object;
  const layers = requireTf('@tensorflow/tfjs-layers') as object;
  return { ...core, ...layers } as unknown as Tf;
}

/** Runs in the trial process: loads the chosen backend and returns the tf namespace bound to it. */
export async function setupBackend(name: ConcreteBackend): Promise<Tf> {
  if (name === 'tensorflow-gpu' || name === 'tensorflow') {
    // tfjs-node(-gpu) re-exports @tensorflow/tfjs with its native backend registered.
    const pkg = name === 'tensorflow-gpu' ? '@tensorflow/tfjs-node-gpu' : '@tensorflow/tfjs-node';
    // A CommonJS package: loaded with require() (tfjs-require.ts).
    const tf = requireTf(pkg) as Tf;
    await tf.setBackend('tensorflow');
    return tf;
  }
  const tf = offlineTf();
  if (name === 'webgpu') {
    // Optional packages: loaded only here, with navigator.gpu set before the backend module.
    await (await import('./webgpu/session.js')).setupWebgpu(tf);
  } else if (name === 'wasm') {
    const { initWasmBackend } = await import('./kernels/index.js');
    await initWasmBackend();
    (await import('./shared-data.js')).registerSharedDataKernels();
    (await import('./transpose.js')).registerTransposeKernel();
    (await import('./wasm-oom.js')).guardWasmAllocations(tf);
  } else {
    requireTf('@tensorflow/tfjs-backend-cpu');
    await tf.setBackend('cpu');
  }
  await tf.ready();
  if (tf.getBackend() !== name) throw new Error(`backend ${name} did not initialise (active: ${tf.getBackend()})`);
  return tf;
}
