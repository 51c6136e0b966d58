// Locating the .wasm binaries: the Node bundle of tfjs-backend-wasm finds them
// next to itself, but bundlers and some loaders break that, so we point it
// explicitly at the installed package's dist/ (resolved from this module, so
// it works from src/ under vitest, from dist/, and as an installed dependency).
import { createRequire } from 'node:module';
import * as path from 'node:path';
import type * as tfc from '@tensorflow/tfjs-core';
import { requireTf, tfCore as tf } from '../tfjs-require.js';

export function wasmBinaryDir(): string {
  const require = createRequire(import.meta.url);
  const main = require.resolve('@tensorflow/tfjs-backend-wasm');
  return path.dirname(main) + path.sep;
}

let initPromise: Promise<void> | null = null;

export async function setupWasmBackend(register: () => void): Promise<void> {
  initPromise ??= (async () => {
    const wasm = requireTf('@tensorflow/tfjs-backend-wasm') as typeof import('@tensorflow/tfjs-backend-wasm');
    if (tf.findBackend('wasm') == null) {
      wasm.setWasmPaths(wasmBinaryDir());
    }
    register();
    if (!(await tf.setBackend('wasm'))) {
      throw new Error(`tfjs wasm backend failed to initialise (binaries in ${wasmBinaryDir()})`);
    }
    await tf.ready();
  })();
  try {
    await initPromise;
  } catch (e) {
    initPromise = null;
    throw e;
  }
  // Another caller may have switched backends since the first init.
  if (tf.getBackend() !== 'wasm') await tf.setBackend('wasm');
}

