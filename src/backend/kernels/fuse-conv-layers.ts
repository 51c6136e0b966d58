// Which Conv2D layers train through BstuneConv2DBiasRelu (conv-bias-relu.ts).
// fuseConvBiasRelu(model) gives each 2-D, channels-last, relu, biased, unpadded,
// undilated Conv2D layer of the model (nested models included) that runs
// tfjs-layers' own call (not a subclass's or an instance's) its own `call`:
// while gradients are recorded on the wasm backend with our SIMD kernels, and
// the input fits our direct conv, the layer runs the fused kernel; in every
// other case (inference, other backends, no SIMD, other shapes or dtypes) it
// runs tfjs-layers' own call unchanged. Weights, names and the serialized model
// stay as they were. Idempotent; call it wherever a model is about to train.
import type * as tfc from '@tensorflow/tfjs-core';
import { tfCore as tf } from '../tfjs-require.js';
import { directConv2DEnabled, directConvInfo } from './conv2d.js';
import { CONV_BIAS_RELU, type ConvBiasReluAttrs } from './conv-bias-relu.js';
import { simdKernels } from './simd/index.js';
import { asWasmBackend } from './wasm-internals.js';

type CallArgs = [inputs: tfc.Tensor | tfc.Tensor[], kwargs: Record<string, unknown>];

/** The parts of tfjs-layers' Conv2D (and of container models) read here. */
interface LayerLike {
  call(...args: CallArgs): tfc.Tensor | tfc.Tensor[];
  getClassName(): string;
  layers?: LayerLike[];
  rank?: number;
  dataFormat?: string;
  padding?: string;
  strides?: number[];
  dilationRate?: number | number[];
  useBias?: boolean;
  activation?: { getClassName(): string } | null;
  kernel?: { read(): tfc.Tensor } | null;
  bias?: { read(): tfc.Tensor } | null;
  poolSize?: number[];
}

/** Fused conv layers whose next sibling layer is a 2x2 stride-2 valid channels-last MaxPooling2D. */
const poolNext = new WeakSet<LayerLike>();

function isPool2x2(l: LayerLike | undefined): boolean {
  const twos = (v: unknown): boolean => Array.isArray(v) && v.length === 2 && v[0] === 2 && v[1] === 2;
  return l != null && l.getClassName() === 'MaxPooling2D' && twos(l.poolSize) && twos(l.strides) &&
    l.padding === 'valid' && l.dataFormat === 'channelsLast';
}

const FUSED = Symbol('bstune.fusedConvBiasRelu');
let enabled = !(typeof process !== 'undefined' && process.env?.BSTUNE_FUSE_CONV === '0');

/** Tests and benches: off runs every layer through tfjs-layers' own call. */
export function setConvBiasReluFusion(on: boolean): void {
  enabled = on;
}

/** Whether fused layers train through the fused op (BSTUNE_FUSE_CONV, setConvBiasReluFusion). */
export function convBiasReluFusionEnabled(): boolean {
  return enabled;
}

/** Whether fuseConvBiasRelu gave this layer the fused call (src/train/direct reads it). */
export function isFusedConvLayer(layer: unknown): boolean {
  return (layer as { [FUSED]?: true } | null)?.[FUSED] === true;
}

function fusable(l: LayerLike): boolean {
  const ones = (v: unknown): boolean => (Array.isArray(v) ? v : [v]).every((d) => d === 1);
  return l.getClassName() === 'Conv2D' && l.rank === 2 && l.dataFormat === 'channelsLast' &&
    l.padding === 'valid' && ones(l.dilationRate) && l.useBias === true && l.bias != null && l.kernel != null &&
    l.activation?.getClassName() === 'relu' && Array.isArray(l.strides) && l.strides.length === 2;
}

/**
 * Whether the layer runs tfjs-layers' own Conv2D call: a createModel() module may subclass
 * Conv2D (getClassName still says 'Conv2D') or set a layer's call, and fusing would skip it.
 * tfjs-layers' Conv2D is the deepest class in the chain whose own className is 'Conv2D'.
 */
function ownCall(l: LayerLike): boolean {
  let conv2d: { call?: unknown } | null = null;
  for (let p = Object.getPrototypeOf(l) as { constructor?: unknown } | null; p != null; p = Object.getPrototypeOf(p) as typeof p) {
    const c = p.constructor as { className?: unknown } | undefined;
    if (c != null && Object.prototype.hasOwnProperty.call(c, 'className') && c.className === 'Conv2D') conv2d = p as { call?: unknown };
  }
  return conv2d != null && l.call === conv2d.call;
}

/** The fused op's output when it applies to this call, else null. */
function fusedCall(l: LayerLike, inputs: tfc.Tensor | tfc.Tensor[]): tfc.Tensor | null {
  if (!enabled || !directConv2DEnabled() || tf.engine().state.gradientDepth === 0) return null;
  if (tf.getBackend() !== 'wasm' || tf.getKernel(CONV_BIAS_RELU, 'wasm') == null) return null;
  const x = Array.isArray(inputs) ? (inputs.length === 1 ? inputs[0]! : null) : inputs;
  if (x == null || simdKernels(asWasmBackend(tf.backend())) == null) return null;
  const filter = l.kernel!.read();
  const bias = l.bias!.read();
  const strides = l.strides as [number, number];
  if (bias.dtype !== 'float32' || bias.rank !== 1 ||
      directConvInfo(x, filter, { strides, pad: 'valid', dataFormat: 'NHWC', dilations: [1, 1] }) == null) return null;
  const attrs: ConvBiasReluAttrs = poolNext.has(l) ? { strides, pool2x2: true } : { strides };
  const [y] = tf.engine().runKernel(CONV_BIAS_RELU, { x, filter, bias }, attrs as unknown as tfc.NamedAttrMap) as tfc.Tensor[];
  return y!;
}

/** Returns how many layers of `model` take the fused op (0 when none fit). */
export function fuseConvBiasRelu(model: unknown): number {
  let count = 0;
  const visit = (l: LayerLike): void => {
    if (Array.isArray(l.layers)) {
      l.layers.forEach((child, i) => {
        if (isPool2x2(l.layers![i + 1])) poolNext.add(child);
      });
      l.layers.forEach(visit);
    }
    if (!fusable(l)) return;
    const own = l as LayerLike & { [FUSED]?: true };
    if (!own[FUSED] && !ownCall(l)) return;
    count++;
    if (own[FUSED]) return;
    const layersCall = l.call.bind(l);
    own[FUSED] = true;
    l.call = (...args: CallArgs) => tf.tidy(() => fusedCall(l, args[0]) ?? layersCall(...args));
  };
  visit(model as LayerLike);
  return count;
}
