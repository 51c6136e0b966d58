// wasm Identity and same-dtype Cast share the input's data (no copy): values and
// reference counts stay right, other casts still convert, and a CNN's gradients and
// an Adam step are bit-identical to those with the stock copying kernels.
import { beforeAll, describe, expect, it } from 'vitest';
import { setupBackend } from '../src/backend/setup.js';
import { registerSharedDataKernels } from '../src/backend/shared-data.js';
import { buildModel } from '../src/model/build.js';
import { createOptimizer } from '../src/train/loop.js';
import type { Tf, Tensor } from '../src/tf.js';

let tf: Tf;
beforeAll(async () => {
  tf = await setupBackend('wasm');
});

describe('wasm Identity and Cast without a copy', () => {
  it('a cla clone shares the data (no new buffer) and outlives its source; int32 to float32 still converts', () => {
    const x = tf.tensor([1.5, -2, 3], [3]);
    const before = tf.memory().numDataBuffers;
    const y = tf.engine().runKernel('Identity', { x }) as Tensor;
    expect(tf.memory().numDataBuffers).toBe(before);
    const c = tf.cast(x, 'float32');
    x.dispose();
    expect([...y.dataSync()]).toEqual([1.5, -2, 3]);
    expect([...c.dataSync()]).toEqual([1.5, -2, 3]);
    y.dispose();
    c.dispose();
    const i = tf.tensor([1, -2, 7], [3], 'int32');
    const f = tf.cast(i, 'float32');
    expect(f.dtype).toBe('float32');
    expect([...f.dataSync()]).toEqual([1, -2, 7]);
    tf.dispose([i, f]);
  });

  it('CNN gradients and two Adam steps are the same bits as with the stock copying kernels', () => {
    const run = (shared: boolean): Float32Array[] => {
      registerSharedDataKernels(shared);
      const model = buildModel(tf, { kind: 'cnn', filters: [4, 8], kernelSize: 3, poolSize: 2, dense: [6] }, 7);
      const optimizer = createOptimizer(tf, { name: 'adam', learningRate: 0.01, baseBatchSize: 32, scaling: 'none', momentum: 0.9, warmup: {}, decay: 'none', minLearningRate: 0 } as never, 0.01);
      const x = tf.tensor4d(Float32Array.from({ length: 5 * 28 * 28 }, (_, i) => ((i * 37) % 255) / 255), [5, 28, 28, 1]);
      const y = tf.oneHot(tf.tensor1d([1, 3, 5, 7, 9], 'int32'), 10);
      const grads: Float32Array[] = [];
      for (let step = 0; step < 2; step++) {
        const { value, grads: g } = tf.variableGrads(() => tf.losses.softmaxCrossEntropy(y, model.apply(x, { training: true }) as Tensor) as never);
        for (const t of Object.values(g)) grads.push(Float32Array.from(t.dataSync() as Float32Array));
        optimizer.applyGradients(g);
        tf.dispose([value, ...Object.values(g)]);
      }
      const weights = model.getWeights().map((w) => Float32Array.from(w.dataSync() as Float32Array));
      tf.dispose([x, y]);
      optimizer.dispose();
      model.dispose();
      return [...grads, ...weights];
    };
    try {
      const stock = run(false);
      const shared = run(true);
      expect(shared.length).toBe(stock.length);
      shared.forEach((a, i) => expect(Buffer.from(a.buffer).equals(Buffer.from(stock[i]!.buffer))).toBe(true));
    } finally {
      registerSharedDataKernels(true);
    }
  });
});
