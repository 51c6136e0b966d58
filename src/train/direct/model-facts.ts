/**
 * What the direct step (runner.ts) reads off a model's layers for plan.ts: plain facts,
 * taken from tfjs-layers' objects, and the plan for a model.
 */
import type { LayersModel, Tensor } from '../../tf.js';
import type { IoPlan } from '../../model/shapes.js';
import { requireTf } from '../../backend/tfjs-require.js';
import { isFusedConvLayer } from '../../backend/kernels/fuse-conv-layers.js';
import { directPlan, type DirectPlan, type LayerFacts } from './plan.js';

export type LayerVariable = { read(): Tensor };
export type Layer = {
  getClassName(): string; trainable: boolean; trainableWeights: unknown[]; nonTrainableWeights: unknown[];
  call?: unknown; _callHook?: unknown; strides?: number[]; poolSize?: number[]; padding?: string; dataFormat?: string;
  activation?: { getClassName(): string } | null; useBias?: boolean; units?: number; kernel?: LayerVariable | null; bias?: LayerVariable | null;
};

let stockClasses: Map<string, object> | null = null;
/** tfjs-layers' own classes of the layers plan.ts knows (a throwaway instance of each, never built). */
function stockClass(name: string): object | undefined {
  if (stockClasses == null) {
    const layers = (requireTf('@tensorflow/tfjs-layers') as typeof import('@tensorflow/tfjs-layers')).layers;
    stockClasses = new Map<string, object>([
      ['Conv2D', Object.getPrototypeOf(layers.conv2d({ filters: 1, kernelSize: 1 })) as object],
      ['MaxPooling2D', Object.getPrototypeOf(layers.maxPooling2d({ poolSize: 2 })) as object],
      ['Flatten', Object.getPrototypeOf(layers.flatten()) as object],
      ['Dense', Object.getPrototypeOf(layers.dense({ units: 1 })) as object],
    ]);
  }
  return stockClasses.get(name);
}

function factsOf(l: Layer): LayerFacts {
  const className = l.getClassName();
  const ownCall = Object.prototype.hasOwnProperty.call(l, 'call');
  const fusedConv = className === 'Conv2D' && isFusedConvLayer(l);
  const stock = Object.getPrototypeOf(l) === stockClass(className) && l._callHook == null && (!ownCall || fusedConv);
  return {
    className, stock, trainable: l.trainable, weights: l.trainableWeights.map((_, i) => String(i)), nonTrainable: l.nonTrainableWeights.length,
    fusedConv, ...(l.strides ? { strides: l.strides } : {}), ...(l.poolSize ? { poolSize: l.poolSize } : {}),
    ...(l.padding ? { padding: l.padding } : {}), ...(l.dataFormat ? { dataFormat: l.dataFormat } : {}),
    ...(l.activation ? { activation: l.activation.getClassName() } : {}), ...(l.useBias !== undefined ? { useBias: l.useBias } : {}),
    ...(l.units !== undefined ? { units: l.units } : {}),
  };
}

/** Why `model` trains on the tape under `io`, or null when the direct step knows every layer. */
export function directStepRefusal(model: LayersModel, io: IoPlan): string | null {
  const plan = planOf(model, io);
  return typeof plan === 'string' ? plan : null;
}

export function planOf(model: LayersModel, io: IoPlan): { plan: DirectPlan; layers: Layer[] } | string {
  if (model.getClassName() !== 'Sequential') return 'not a Sequential model';
  // The tape's layers check their input against the model's (inputSpec); batches here are [n, ...io.xShape].
  const input = model.inputs[0]?.shape.slice(1) ?? [];
  if (model.inputs.length !== 1 || input.length !== io.xShape.length || input.some((d, i) => d != null && d !== io.xShape[i])) {
    return `the batches' samples [${io.xShape.join(', ')}] are not the model's input [${input.join(', ')}]`;
  }
  const layers = model.layers as unknown as Layer[];
  const plan = directPlan(layers.map(factsOf), io, io.xShape.length);
  return typeof plan === 'string' ? plan : { plan, layers };
}

