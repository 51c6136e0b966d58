// Shared geometry for the depthwise backprop kernels. Both walk every
// (output pixel, filter tap) pair once, so stride, dilation and padding are
// handled uniformly and the channel loop stays innermost and contiguous.
import type * as tfc from '@tensorflow/tfjs-core';
import { tfCore as tf } from '../tfjs-require.js';

export interface DepthwiseAttrs {
  strides: [number, number] | number;
  dilations: [number, number] | number;
  pad: 'valid' | 'same' | number | tfc.backend_util.ExplicitPadding;
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
}

export function depthwiseInfo(xShape: number[], filterShape: number[],
    attrs: DepthwiseAttrs): tfc.backend_util.Conv2DInfo {
  return tf.backend_util.computeConv2DInfo(xShape as [number, number, number, number],
    filterShape as [number, number, number, number], attrs.strides, attrs.dilations ?? 1,
    attrs.pad, attrs.dimRoundingMode, true, 'channelsLast');
}

/**
 * Calls visit(xPixel, dyPixel, tap) for every in-bounds (output pixel, tap)
 * pair, with x/dy pixel indices counted in pixels (multiply by channels).
 */
export function forEachTap(info: tfc.backend_util.Conv2DInfo,
    visit: (xPixel: number, dyPixel: number, tap: number) => void): void {
  const { batchSize, inHeight, inWidth, outHeight, outWidth, filterHeight, filterWidth,
    strideHeight, strideWidth, dilationHeight, dilationWidth } = info;
  const top = info.padInfo.top;
  const left = info.padInfo.left;
  let dyPixel = 0;
  for (let b = 0; b < batchSize; b++) {
    const xImage = b * inHeight * inWidth;
    for (let oh = 0; oh < outHeight; oh++) {
      for (let ow = 0; ow < outWidth; ow++, dyPixel++) {
        for (let kh = 0; kh < filterHeight; kh++) {
          const ih = oh * strideHeight + kh * dilationHeight - top;
          if (ih < 0 || ih >= inHeight) continue;
          for (let kw = 0; kw < filterWidth; kw++) {
            const iw = ow * strideWidth + kw * dilationWidth - left;
            if (iw < 0 || iw >= inWidth) continue;
            visit(xImage + ih * inWidth + iw, dyPixel, kh * filterWidth + kw);
          }
        }
      }
    }
  }
}
