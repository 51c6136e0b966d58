// The hand-written SIMD module (src/backend/kernels/simd/kernels.wat): the
// committed binary must match the source, the module must load against the
// tfjs heap, and every kernel path that uses it (plus its JS fallback) must
// match the cpu backend.
import { readFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { rand, relErr, TOL, type Shape } from './helpers/numeric.js';
import { setDirectConv2D } from '../src/backend/kernels/conv2d.js';
import { setDirectMaxPool } from '../src/backend/kernels/max-pool.js';
import { setDirectFilterGrad } from '../src/backend/kernels/conv2d-backprop-filter.js';
import { setDirectInputGrad } from '../src/backend/kernels/conv2d-backprop-input.js';
import { initWasmBackend } from '../src/backend/kernels/index.js';
import { setSimdKernelsEnabled, simdKernels } from '../src/backend/kernels/simd/index.js';
import { KERNELS_WASM_BASE64 } from '../src/backend/kernels/simd/kernels-wasm.js';
import { asWasmBackend } from '../src/backend/kernels/wasm-internals.js';
// @ts-ignore plain ESM build script without type declarations
import { assemble, loadWabt, paths, tsModule } from '../scripts/build-wasm.mjs';



/** Runs a kernel on cpu and wasm with the same inputs; returns max relative error. */
async function compareKernel(name: string, inputs: Record<string, [Float32Array | Int32Array, Shape]>,
    attrs: tf.NamedAttrMap): Promise<number> {
  const run = (): [Float32Array | Int32Array, Shape, string] => tf.tidy(() => {
    const ins: tf.NamedTensorMap = {};
    for (const [k, [v, s]] of Object.entries(inputs)) {
      ins[k] = v instanceof Int32Array ? tf.tensor(v, s, 'int32') : tf.tensor(v, s);
    }
    const out = tf.engine().runKernel(name, ins, attrs) as tf.Tensor;
    return [out.dataSync().slice() as Float32Array | Int32Array, out.shape, out.dtype];
  });
  await tf.setBackend('cpu');
  const [ref, refShape, refDtype] = run();
  await tf.setBackend('wasm');
  const [got, gotShape, gotDtype] = run();
  expect(gotShape).toEqual(refShape);
  expect(gotDtype).toBe(refDtype);
  return relErr(got, ref);
}

beforeAll(async () => {
  await initWasmBackend();
});

afterEach(() => {
  setSimdKernelsEnabled(true);
  setDirectFilterGrad(true);
  setDirectInputGrad(true);
  setDirectConv2D(true);
  setDirectMaxPool(true);
});

describe('SIMD module build', () => {
  const wasm = readFileSync(paths.wasm as string);

  it('kernels-wasm.ts embeds exactly the committed kernels.wasm', () => {
    expect(Buffer.from(KERNELS_WASM_BASE64, 'base64').equals(wasm)).toBe(true);
    expect(readFileSync(paths.ts as string, 'utf8')).toBe(tsModule(wasm));
  });

  it('committed kernels.wasm is up to date with kernels.wat', async (ctx) => {
    const wabt = await loadWabt();
    if (wabt == null) {
      console.warn('skipping the kernels.wat -> kernels.wasm staleness check: `wabt` is not installed');
      ctx.skip();
      return;
    }
    const fresh = Buffer.from(assemble(wabt, readFileSync(paths.wat as string, 'utf8')) as Uint8Array);
    expect(fresh.equals(wasm), 'kernels.wasm is stale: run node scripts/build-wasm.mjs').toBe(true);
  });

  it('instantiates against the tfjs heap on this runtime', () => {
    expect(simdKernels(asWasmBackend(tf.backend()))).not.toBeNull();
  });
});

interface ConvCase { b: number; h: number; w: number; ci: number; co: number; k: number;
  s: number; pad: 'same' | 'valid' }
const convCases: ConvCase[] = [];
for (const s of [1, 2]) {
  for (const pad of ['same', 'valid'] as const) {
    convCases.push({ b: 1, h: 9, w: 7, ci: 1, co: 4, k: 5, s, pad }); // contiguous im2col rows
    convCases.push({ b: 3, h: 7, w: 11, ci: 5, co: 3, k: 3, s, pad }); // odd run lengths
    convCases.push({ b: 2, h: 6, w: 6, ci: 4, co: 8, k: 2, s, pad }); // even filter, vector runs
  }
}
convCases.push({ b: 20, h: 12, w: 12, ci: 8, co: 16, k: 5, s: 1, pad: 'valid' }); // CNN layer 2 shape
// Direct filter-grad kernel (unpadded): 4-tap x 8-channel blocks, 1-tap
// leftovers, 4-wide and scalar channel tails, stride 2, batch 1.
convCases.push({ b: 5, h: 13, w: 11, ci: 1, co: 8, k: 5, s: 1, pad: 'valid' }); // 5 taps a row: 4 + 1
convCases.push({ b: 1, h: 8, w: 7, ci: 7, co: 24, k: 2, s: 1, pad: 'valid' }); // 14 taps: 4+4+4+2, 3 channel blocks
convCases.push({ b: 2, h: 7, w: 6, ci: 7, co: 8, k: 1, s: 1, pad: 'valid' }); // 7 taps: 4 + 3
convCases.push({ b: 2, h: 6, w: 3, ci: 2, co: 8, k: 3, s: 1, pad: 'valid' }); // one output column
// Direct input-grad kernel (unpadded, fw*inC >= 8): 4-pixel x 8-float blocks,
// the run's 4-wide and scalar tails, leftover pixels, odd outC, stride 2, batch 1.
convCases.push({ b: 3, h: 11, w: 12, ci: 4, co: 5, k: 3, s: 2, pad: 'valid' }); // run 12, 5 columns: 4 + 1
convCases.push({ b: 1, h: 9, w: 13, ci: 9, co: 3, k: 2, s: 1, pad: 'valid' }); // run 18: 16 + 2 scalar
convCases.push({ b: 1, h: 9, w: 10, ci: 3, co: 13, k: 4, s: 1, pad: 'valid' }); // 12 taps, 8+4+1 channels
convCases.push({ b: 3, h: 11, w: 12, ci: 2, co: 12, k: 3, s: 2, pad: 'valid' }); // stride 2
convCases.push({ b: 2, h: 10, w: 9, ci: 1, co: 2, k: 1, s: 1, pad: 'valid' }); // scalar channels only
convCases.push({ b: 2, h: 9, w: 9, ci: 3, co: 16, k: 3, s: 2, pad: 'valid' }); // 16 channels (immediate offsets), stride 2

describe.each([['simd', true, true], ['simd, xnnpack filter grad and matmul input grad', true, false],
  ['js fallback', false, false]] as const)('conv backprop, %s', (_mode, simd, direct) => {
  it.each(convCases.map((c) => [`b${c.b} ${c.h}x${c.w}x${c.ci}->${c.co} k${c.k} s${c.s} ${c.pad}`, c] as const))(
    '%s', async (_n, c) => {
      setSimdKernelsEnabled(simd);
      setDirectFilterGrad(direct);
      setDirectInputGrad(direct);
      const xShape = [c.b, c.h, c.w, c.ci];
      const filterShape = [c.k, c.k, c.ci, c.co];
      const dyShape = tf.backend_util.computeConv2DInfo(xShape as [number, number, number, number],
        filterShape as [number, number, number, number], c.s, 1, c.pad).outShape;
      const dy = rand(dyShape);
      const common = { strides: [c.s, c.s], pad: c.pad, dataFormat: 'NHWC' };
      expect(await compareKernel('Conv2DBackpropFilter', { x: [rand(xShape), xShape], dy: [dy, dyShape] },
        { ...common, filterShape })).toBeLessThanOrEqual(TOL);
      expect(await compareKernel('Conv2DBackpropInput', { dy: [dy, dyShape], filter: [rand(filterShape), filterShape] },
        { ...common, inputShape: xShape })).toBeLessThanOrEqual(TOL);
    });
});

describe.each([['simd direct', true, true], ['simd, stock xnnpack', true, false],
  ['js fallback (stock)', false, true]] as const)('Conv2D forward, %s', (_mode, simd, direct) => {
  it.each([
    ['b1 9x11x1->8 k5 s1 valid (pixel tail)', [1, 9, 11, 1], [5, 5, 1, 8], 1, 'valid'],
    ['b4 28x28x1->8 k5 s1 valid (CNN layer 1)', [4, 28, 28, 1], [5, 5, 1, 8], 1, 'valid'],
    ['b3 12x12x8->16 k5 s1 valid (CNN layer 2)', [3, 12, 12, 8], [5, 5, 8, 16], 1, 'valid'],
    ['b2 13x10x3->8 k3 s2 valid', [2, 13, 10, 3], [3, 3, 3, 8], 2, 'valid'],
    ['b2 11x11x4->8 k3 s2 valid (32-byte pixel step)', [2, 11, 11, 4], [3, 3, 4, 8], 2, 'valid'],
    ['b2 7x9x8->8 k1x3 s1 valid (8 channels, one filter row)', [2, 7, 9, 8], [1, 3, 8, 8], 1, 'valid'],
    ['b2 9x9x2->16 k4x2 s1 valid', [2, 9, 9, 2], [4, 2, 2, 16], 1, 'valid'],
    ['b2 8x8x3->8 k3 same (stock)', [2, 8, 8, 3], [3, 3, 3, 8], 1, 'same'],
    ['b2 8x8x3->12 k3 valid (stock)', [2, 8, 8, 3], [3, 3, 3, 12], 1, 'valid'],
    ['b1 6x6x20->8 k3 valid (stock)', [1, 6, 6, 20], [3, 3, 20, 8], 1, 'valid'],
  ] as const)('%s', async (_n, xShape, fShape, stride, pad) => {
    setSimdKernelsEnabled(simd);
    setDirectConv2D(direct);
    expect(await compareKernel('Conv2D', { x: [rand([...xShape]), [...xShape]], filter: [rand([...fShape]), [...fShape]] },
      { strides: [stride, stride], pad, dataFormat: 'NHWC', dilations: [1, 1] })).toBeLessThanOrEqual(TOL);
  });
});

describe.each([['simd 2x2', true], ['stock', false]] as const)('MaxPool forward, %s', (_mode, direct) => {
  // Ours: the same bits as cpu, NaN and -Inf never win, a window of only NaN gives -Inf.
  // The stock kernel (other windows, or ours off) is checked on finite inputs:
  // its NaN handling is XNNPACK's, not cpu's.
  it.each([
    ['2x2 s2 valid, c=8', [2, 6, 8, 8], 2, 2, 'valid'],
    ['2x2 s2 valid, c=7 (vector + scalar tail)', [3, 8, 6, 7], 2, 2, 'valid'],
    ['2x2 s2 valid, odd sizes, c=3, batch 1', [1, 9, 7, 3], 2, 2, 'valid'],
    ['2x2 s2 same, odd sizes (stock)', [1, 9, 7, 5], 2, 2, 'same'],
    ['3x3 s2 valid (stock)', [2, 7, 9, 4], 3, 2, 'valid'],
  ] as const)('%s', async (_n, shape, size, stride, pad) => {
    setDirectMaxPool(direct);
    const ours = direct && size === 2 && pad === 'valid';
    const xv = rand([...shape]);
    if (ours) {
      for (let i = 0; i < xv.length; i++) if (i % 97 === 5) xv[i] = NaN; else if (i % 89 === 3) xv[i] = -Infinity;
      const c = shape[3];
      for (const k of [0, c, shape[2] * c, (shape[2] + 1) * c]) xv[k] = NaN; // the first window of channel 0: all NaN
    }
    const run = (): Float32Array => tf.tidy(() =>
      tf.maxPool(tf.tensor(xv, [...shape]) as tf.Tensor4D, size, stride, pad).dataSync().slice() as Float32Array);
    await tf.setBackend('cpu');
    const ref = run();
    await tf.setBackend('wasm');
    const got = run();
    if (ours) expect(got[0]).toBe(-Infinity);
    expect(Array.from(got)).toEqual(Array.from(ref));
  });
});

describe.each([['simd', true], ['js fallback', false]] as const)('MaxPoolGrad, %s', (_mode, simd) => {
  // relu'd inputs give tied zeros; NaN/-Inf entries must never win.
  it.each([
    ['2x2 s2 valid, c=8', [2, 6, 8, 8], 2, 2, 'valid'],
    ['2x2 s2 valid, c=7 (vector + scalar tail)', [3, 8, 6, 7], 2, 2, 'valid'],
    ['2x2 s2 valid, odd sizes, c=3', [2, 9, 7, 3], 2, 2, 'valid'],
    ['2x2 s2 same, odd sizes (general)', [1, 9, 7, 5], 2, 2, 'same'],
    ['3x3 s2 same, c=9 (general)', [2, 7, 9, 9], 3, 2, 'same'],
    ['3x3 s1 valid, c=4 (general)', [1, 6, 5, 4], 3, 1, 'valid'],
    ['2x2 s1 same, c=1 (general)', [4, 5, 5, 1], 2, 1, 'same'],
  ] as const)('%s', async (_n, shape, size, stride, pad) => {
    setSimdKernelsEnabled(simd);
    const xv = rand([...shape]).map((v, i) => (i % 97 === 5 ? NaN : i % 89 === 3 ? -Infinity : Math.max(0, v)));
    const yShape = tf.backend_util.computePool2DInfo([...shape] as [number, number, number, number],
      size, stride, 1, pad).outShape;
    const dy = rand(yShape);
    const attrs = { filterSize: size, strides: stride, pad };
    const run = (): Float32Array => tf.tidy(() => {
      const x = tf.tensor(xv, [...shape]) as tf.Tensor4D;
      const y = tf.maxPool(x, size, stride, pad);
      return (tf.engine().runKernel('MaxPoolGrad', { dy: tf.tensor(dy, yShape), input: x, output: y },
        attrs) as tf.Tensor).dataSync().slice() as Float32Array;
    });
    await tf.setBackend('cpu');
    const ref = run();
    await tf.setBackend('wasm');
    expect(relErr(run(), ref)).toBeLessThanOrEqual(TOL);
  });
});

describe('Sum (bias gradient fast path, else stock)', () => {
  it.each([
    ['[128,6,6,8] axes 0,1,2 (CNN bias grad)', [128, 6, 6, 8], [0, 1, 2], false],
    ['[300,16] axis 0', [300, 16], [0], false],
    ['[5,7,12] axes 0,1 keepDims', [5, 7, 12], [0, 1], true],
    ['[1,4] axis 0', [1, 4], [0], false],
    ['[600,3] axis 0 (general width)', [600, 3], [0], false],
    ['[9,2,20] axes -3,-2 (general width)', [9, 2, 20], [-3, -2], false],
    ['[4,5,6] axis 1 (stock)', [4, 5, 6], [1], false],
    ['[4,5,6] axis 2 (stock)', [4, 5, 6], [2], true],
    ['[4,5] all axes (stock)', [4, 5], [0, 1], false],
    ['[7] axis 0 (stock)', [7], [0], false],
  ] as const)('%s', async (_n, shape, axis, keepDims) => {
    expect(await compareKernel('Sum', { x: [rand([...shape]), [...shape]] }, { axis: [...axis], keepDims }))
      .toBeLessThanOrEqual(TOL);
  });

  it('int32 input goes to the stock kernel', async () => {
    const x = Int32Array.from({ length: 24 }, (_, i) => i - 7);
    expect(await compareKernel('Sum', { x: [x, [6, 4]] }, { axis: [0], keepDims: false })).toBe(0);
  });
});

describe('Add (bias add fast path, else stock)', () => {
  it.each([
    ['[2,5,5,8] + [8]', [2, 5, 5, 8], [8]],
    ['[16] + [3,4,16]', [16], [3, 4, 16]],
    ['[3,7] + [1,7] (general width)', [3, 7], [1, 7]],
    ['[4,20] + [20] (general width)', [4, 20], [20]],
    ['[1,12] + [12]', [1, 12], [12]],
    ['same shape (stock)', [3, 4], [3, 4]],
    ['[3,1] + [3,4] (stock)', [3, 1], [3, 4]],
    ['[4] + [4] (stock)', [4], [4]],
    ['scalar + [2,3] (stock)', [], [2, 3]],
  ] as const)('%s', async (_n, aShape, bShape) => {
    expect(await compareKernel('Add', { a: [rand([...aShape]), [...aShape]], b: [rand([...bShape]), [...bShape]] }, {}))
      .toBeLessThanOrEqual(TOL);
  });

  it('int32 operands go to the stock kernel', async () => {
    const a = Int32Array.from({ length: 12 }, (_, i) => i);
    const b = Int32Array.from([5, -2, 9]);
    expect(await compareKernel('Add', { a: [a, [4, 3]], b: [b, [3]] }, {})).toBe(0);
  });
});

describe.each([['simd', true], ['js fallback', false]] as const)('Relu gradient (one BstuneReluGrad pass on wasm), %s', (_mode, simd) => {
  // 4k+3 elements: vector body and scalar tail; x holds NaN, ±0, ±Inf; dy holds -0, Inf, NaN.
  const n = 4 * 37 + 3;
  const xv = rand([n]);
  const dyv = rand([n]);
  xv.set([NaN, -0, 0, Infinity, -Infinity, 1e-30, -1e-30], 0);
  dyv.set([2, Infinity, -0, NaN, Infinity, -0, 3], 0);
  xv[n - 1] = NaN;
  xv[n - 2] = 0;
  dyv[n - 2] = Infinity;
  const bits = (a: Float32Array): number[] => Array.from(new Uint32Array(a.buffer, a.byteOffset, a.length));
  const grad = (): Float32Array => tf.tidy(() => {
    const g = tf.grad((x: tf.Tensor) => tf.relu(x))(tf.tensor(xv), tf.tensor(dyv));
    return g.dataSync().slice() as Float32Array;
  });

  it('equals mul(dy, step(x)) on wasm bit for bit, and the cpu backend', async () => {
    setSimdKernelsEnabled(simd);
    await tf.setBackend('wasm');
    const got = grad();
    const stock = tf.tidy(() => tf.mul(tf.tensor(dyv), tf.cast(tf.step(tf.tensor(xv)), 'float32')).dataSync().slice() as Float32Array);
    expect(bits(got)).toEqual(bits(stock));
    await tf.setBackend('cpu');
    const ref = grad(); // the stock gradient: ours delegates off wasm
    await tf.setBackend('wasm');
    expect(bits(got)).toEqual(bits(ref));
  });

  it('runs one kernel instead of Step and Multiply', async () => {
    setSimdKernelsEnabled(simd);
    await tf.setBackend('wasm');
    const prof = await tf.profile(() => { grad(); });
    const names = prof.kernels.map((k) => k.name);
    expect(names).toContain('BstuneReluGrad');
    expect(names).not.toContain('Step');
  });
});

describe.each([['simd matmul_tn / matmul_nt', true], ['XNNPACK / stock', false]] as const)('BatchMatMul, %s', (_mode, simd) => {
  it.each([
    ['aᵀ·b: MLP dW 64x784ᵀ·64x10', [64, 784], [64, 10], true, false],
    ['aᵀ·b: k 130 (two chunks), m 23, n 7', [130, 23], [130, 7], true, false],
    ['aᵀ·b: rank 3 batch 1, m 4, n 1', [1, 9, 4], [1, 9, 1], true, false],
    ['a·b narrow: MLP forward 33x784·784x10', [33, 784], [784, 10], false, false],
    ['a·b narrow: rank 3 batch 1, k 21 (tail), n 6', [1, 3, 21], [1, 21, 6], false, false],
    ['a·bᵀ: k 40, 9 x 13', [9, 40], [13, 40], false, true],
  ] as const)('%s', async (_n, aShape, bShape, transposeA, transposeB) => {
    setSimdKernelsEnabled(simd);
    expect(await compareKernel('BatchMatMul', { a: [rand([...aShape]), [...aShape]], b: [rand([...bShape]), [...bShape]] },
      { transposeA, transposeB })).toBeLessThanOrEqual(TOL);
  });
});
