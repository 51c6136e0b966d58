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
import type { KernelConfig, TensorInfo } from '@tensorflow/tfjs-core';
import { tfCore as tf } from './tfjs-require.js';

interface RefCounting {
  incRef(dataId: object): void;
}

let stockIdentity: KernelConfig | null = null;
let stockCast: KernelConfig | null = null;

function share(x: TensorInfo, backend: unknown): TensorInfo {
  (backend as RefCounting).incRef(x.dataId);
  return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
}

const identityConfig: KernelConfig = {
  kernelName: tf.Identity,
  backendName: 'wasm',
  kernelFunc: ((args: { inputs: tfc.NamedTensorInfoMap; backend: unknown }) => {
    const { x } = args.inputs as { x: TensorInfo };
    if (x.dtype === 'string') return stockIdentity!.kernelFunc(args as Parameters<tfc.KernelFunc>[0]);
    return share(x, args.backend);
  }) as unknown as tfc.KernelFunc,
};

const castConfig: KernelConfig = {
  kernelName: tf.Cast,
  backendName: 'wasm',
  kernelFunc: ((args: { inputs: tfc.NamedTensorInfoMap; backend: unknown; attrs?: tfc.NamedAttrMap }) => {
    const { x } = args.inputs as { x: TensorInfo };
    const { dtype } = args.attrs as { dtype: tfc.DataType };
    if (dtype !== x.dtype || dtype === 'string') return stockCast!.kernelFunc(args as Parameters<tfc.KernelFunc>[0]);
    return share(x, args.backend);
  }) as unknown as tfc.KernelFunc,
};

/** Idempotent: replaces the stock wasm Identity and Cast (kept for what they still do); `false` puts the stock ones back (tests). */
export function registerSharedDataKernels(on = true): void {
  for (const config of [identityConfig, castConfig]) {
    const existing = tf.getKernel(config.kernelName, 'wasm');
    if (existing == null) throw new Error(`bstune: stock wasm ${config.kernelName} kernel missing`);
    if (existing !== config) {
      if (config === identityConfig) stockIdentity = existing;
      else stockCast = existing;
    }
    const wanted = on ? config : config === identityConfig ? stockIdentity! : stockCast!;
    if (existing === wanted) continue;
    tf.unregisterKernel(config.kernelName, 'wasm');
    tf.registerKernel(wanted);
  }
}
