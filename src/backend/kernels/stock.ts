// One of our wasm kernels in front of the stock one: ours runs the cases it
// speeds up and hands every other call to the kernel it replaced, unchanged.
import type * as tfc from '@tensorflow/tfjs-core';
import type { KernelConfig, TensorInfo } from '@tensorflow/tfjs-core';
import { tfCore as tf } from '../tfjs-require.js';

export type KernelArgs = Parameters<tfc.KernelFunc>[0];
/** Runs the stock kernel on the same arguments. */
export type Stock = (args: KernelArgs) => TensorInfo;

export interface StockOverride {
  /** The config to register for `wasm`. */
  config: KernelConfig;
  /** Called at registration with the kernel ours replaces (the fallback); ours itself is ignored. */
  setStock(existing: KernelConfig | undefined): void;
  /** The stock kernel, once setStock has seen it. */
  stock(): KernelConfig | null;
}

export function overStock(kernelName: string, kernelFunc: (args: KernelArgs, stock: Stock) => TensorInfo): StockOverride {
  let stock: KernelConfig | null = null;
  const runStock: Stock = (args) => {
    if (stock == null) throw new Error(`bstune kernels: stock wasm ${kernelName} missing`);
    return stock.kernelFunc(args) as TensorInfo;
  };
  const config: KernelConfig = {
    kernelName,
    backendName: 'wasm',
    kernelFunc: ((args: KernelArgs) => kernelFunc(args, runStock)) as tfc.KernelFunc,
    // The stock kernels bind their C++ entry points in setupFunc, which the engine runs for
    // the *registered* config on every setBackend: forward it.
    setupFunc: (backend) => stock?.setupFunc?.(backend),
  };
  return {
    config,
    setStock(existing) {
      if (existing != null && existing.kernelFunc !== config.kernelFunc) stock = existing;
    },
    stock: () => stock,
  };
}

/** Idempotent: registers ours for wasm, or with `on` false puts the stock kernel back (tests). */
export function registerOverStock(o: StockOverride, on = true): void {
  const name = o.config.kernelName;
  const existing = tf.getKernel(name, 'wasm');
  if (existing == null) throw new Error(`bstune: stock wasm ${name} kernel missing`);
  o.setStock(existing);
  const wanted = on ? o.config : o.stock()!;
  if (existing === wanted) return;
  tf.unregisterKernel(name, 'wasm');
  tf.registerKernel(wanted);
}
