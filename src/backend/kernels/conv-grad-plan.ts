// The shared set-up of the two convolution-gradient kernels: attributes, conv geometry,
// and the batch chunking that keeps each im2col/col2im block about 1 MiB (speed was within
// noise of unchunked on the bench shapes, and it bounds memory at large batches).
import type * as tfc from '@tensorflow/tfjs-core';
import { tfCore as tf } from '../tfjs-require.js';
import type { Im2ColGeometry } from './im2col.js';

export const CHUNK_FLOATS = 1 << 18;

export interface ConvGradAttrs {
  strides: [number, number] | number;
  pad: 'valid' | 'same' | number | tfc.backend_util.ExplicitPadding;
  dataFormat: 'NHWC' | 'NCHW';
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
}

type Shape4 = [number, number, number, number];

export interface ConvGradPlan {
  info: tfc.backend_util.Conv2DInfo;
  /** Rows of the im2col matrix: filterH · filterW · inChannels. */
  kk: number;
  /** Output pixels per image. */
  perImage: number;
  /** Images per chunk. */
  chunk: number;
  geometry: Im2ColGeometry;
}

export function planConvGrad(kernel: string, attrs: ConvGradAttrs, xShape: Shape4, filterShape: Shape4): ConvGradPlan {
  if (attrs.dataFormat === 'NCHW') throw new Error(`wasm ${kernel} supports only NHWC`);
  const info = tf.backend_util.computeConv2DInfo(xShape, filterShape, attrs.strides, 1, attrs.pad, attrs.dimRoundingMode, false, 'channelsLast');
  const kk = info.filterHeight * info.filterWidth * info.inChannels;
  const perImage = info.outHeight * info.outWidth;
  const chunk = Math.max(1, Math.min(info.batchSize, Math.floor(CHUNK_FLOATS / (kk * perImage))));
  const geometry: Im2ColGeometry = {
    inH: info.inHeight, inW: info.inWidth, inC: info.inChannels, outH: info.outHeight, outW: info.outWidth,
    fh: info.filterHeight, fw: info.filterWidth, strideH: info.strideHeight, strideW: info.strideWidth,
    dilationH: 1, dilationW: 1, padTop: info.padInfo.top, padLeft: info.padInfo.left,
  };
  return { info, kk, perImage, chunk, geometry };
}
