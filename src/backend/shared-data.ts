/**
 * Identity and same-dtype Cast on the wasm backend without a copy. The engine clones
 * every tensor a gradient needs (inputs and outputs of each op on the tape) with the
 * Identity kernel, and the clone's gradient is a Cast to float32; stock wasm copies the
 * data for both (the CNN's step at batch 128 made 29 such copies, ~1 ms). The cpu and
 * webgl backends share the data instead, counting references, as wasm's own Reshape
 * does. Safe because no kernel here writes into an input: the fused Adam writes new
 * buffers (never in place) for the same reason.
 */
import type * as tfc from '@tensorflow/tfjs-core';
import type { TensorInfo } from '@tensorflow/tfjs-core';
import { tfCore as tf } from './tfjs-require.js';
import { overStock, registerOverStock } from './kernels/stock.js';

interface RefCounting {
  incRef(dataId: object): void;
}

function share(x: TensorInfo, backend: unknown): TensorInfo {
  (backend as RefCounting).incRef(x.dataId);
  return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
}

const identityOverride = overStock(tf.Identity, (args, stock) => {
  const { x } = args.inputs as { x: TensorInfo };
  return x.dtype === 'string' ? stock(args) : share(x, args.backend);
});

const castOverride = overStock(tf.Cast, (args, stock) => {
  const { x } = args.inputs as { x: TensorInfo };
  const { dtype } = args.attrs as { dtype: tfc.DataType };
  return dtype !== x.dtype || dtype === 'string' ? stock(args) : share(x, args.backend);
});

/** Idempotent: replaces the stock wasm Identity and Cast (kept for what they still do); `false` puts the stock ones back (tests). */
export function registerSharedDataKernels(on = true): void {
  registerOverStock(identityOverride, on);
  registerOverStock(castOverride, on);
}
