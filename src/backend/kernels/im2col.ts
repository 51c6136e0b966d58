// im2col helpers working directly on the wasm heap (float32 element offsets).

export interface Im2ColGeometry {
  inH: number; inW: number; inC: number;
  outH: number; outW: number;
  fh: number; fw: number;
  strideH: number; strideW: number;
  dilationH: number; dilationW: number;
  padTop: number; padLeft: number;
}

/**
 * Writes the transposed im2col matrix colT[(kh,kw,ci), (b,oh,ow)] for batches
 * [b0, b1) of an NHWC input at `xOff`. Rows are written sequentially so the
 * output stream is cache friendly; padded taps are zero.
 */
export function im2colTransposed(heap: Float32Array, xOff: number, colOff: number,
    b0: number, b1: number, g: Im2ColGeometry): void {
  const { inH, inW, inC, outH, outW, fh, fw, strideH, strideW } = g;
  const rowLen = (b1 - b0) * outH * outW;
  const imgSize = inH * inW * inC;
  let o = colOff;
  for (let kh = 0; kh < fh; kh++) {
    const ihBase = kh * g.dilationH - g.padTop;
    for (let kw = 0; kw < fw; kw++) {
      const iwBase = kw * g.dilationW - g.padLeft;
      // Output columns whose tap lands inside the image.
      const owMin = Math.min(outW, Math.max(0, Math.ceil(-iwBase / strideW)));
      const owMax = Math.max(owMin, Math.min(outW, Math.floor((inW - 1 - iwBase) / strideW) + 1));
      const contiguous = inC === 1 && strideW === 1;
      for (let ci = 0; ci < inC; ci++) {
        const rowEnd = o + rowLen;
        for (let b = b0; b < b1; b++) {
          const xb = xOff + b * imgSize + ci;
          for (let oh = 0; oh < outH; oh++) {
            const ih = oh * strideH + ihBase;
            if (ih < 0 || ih >= inH) {
              heap.fill(0, o, o + outW);
              o += outW;
              continue;
            }
            for (let ow = 0; ow < owMin; ow++) heap[o++] = 0;
            let xi = xb + (ih * inW + owMin * strideW + iwBase) * inC;
            const n = owMax - owMin;
            if (contiguous && n >= 16) {
              heap.copyWithin(o, xi, xi + n);
              o += n;
            } else {
              const step = strideW * inC;
              for (let e = o + n; o < e; xi += step) heap[o++] = heap[xi];
            }
            for (let ow = owMax; ow < outW; ow++) heap[o++] = 0;
          }
        }
        if (o !== rowEnd) throw new Error('im2col: internal size mismatch');
      }
    }
  }
}

/**
 * Scatter-adds col[(b,oh,ow), (kh,kw,ci)] for batches [b0, b1) into the NHWC
 * image at `dxOff` (the adjoint of im2col). For a fixed (pixel, kh) the
 * (kw, ci) run is contiguous in both buffers, which keeps the loop simple.
 */
export function col2imAdd(heap: Float32Array, colOff: number, dxOff: number,
    b0: number, b1: number, g: Im2ColGeometry): void {
  const { inH, inW, inC, outH, outW, fh, fw, strideH, strideW } = g;
  const kk = fh * fw * inC;
  let c = colOff;
  for (let b = b0; b < b1; b++) {
    const img = dxOff + b * inH * inW * inC;
    for (let oh = 0; oh < outH; oh++) {
      for (let ow = 0; ow < outW; ow++, c += kk) {
        const iw0 = ow * strideW - g.padLeft;
        const kwMin = Math.max(0, -iw0);
        const kwMax = Math.min(fw, inW - iw0);
        if (kwMax <= kwMin) continue;
        const run = (kwMax - kwMin) * inC;
        for (let kh = 0; kh < fh; kh++) {
          const ih = oh * strideH + kh - g.padTop;
          if (ih < 0 || ih >= inH) continue;
          let d = img + (ih * inW + iw0 + kwMin) * inC;
          let s = c + (kh * fw + kwMin) * inC;
          for (const e = d + run; d < e;) heap[d++] += heap[s++];
        }
      }
    }
  }
}
