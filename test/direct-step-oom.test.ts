import { describe, expect, it } from 'vitest';
import { setupBackend } from '../src/backend/setup.js';
import { classifyFailure } from '../src/backend/oom.js';
import { buildModel } from '../src/model/build.js';
import { DirectStep } from '../src/train/direct/runner.js';
import type { IoPlan } from '../src/model/shapes.js';

// A real exhaustion of the wasm heap (4 GiB cap) inside the direct training step, in its own
// file: vitest gives each file a fresh process, and a heap that hit its cap is not trusted after.
const MNIST: IoPlan = { xShape: [784], outputSize: 10, loss: 'sparseCategoricalCrossentropy', fromLogits: true, labels: 'sparse', accuracy: 'argmax' };

describe('wasm heap exhaustion in the direct step', () => {
  it('fails with the out-of-memory error find-max classifies, and frees what the step held', async () => {
    const tf = await setupBackend('wasm');
    const m = buildModel(tf, { kind: 'mlp', hidden: [16] }, 3);
    const step = DirectStep.of(m, MNIST)!;
    expect(step).not.toBeNull();
    // 4 × 768 MiB held; a batch of 310,000 samples is 0.9 GiB of input, and the step's
    // intermediates (each 12 to 20 MiB) then run past the cap (at 20:01 the loss's 11.8 MiB did).
    const held = [0, 1, 2, 3].map(() => tf.zeros([192 * 2 ** 20]));
    const backend = tf.backend() as unknown as { numDataIds(): number };
    const before = backend.numDataIds();
    const n = 310_000;
    const x = new Float32Array(n * 784).fill(0.5);
    const y = Int32Array.from({ length: n }, (_, i) => i % 10);
    let caught: unknown = null;
    try {
      const g = step.gradients(x, y, n);
      if (g) step.free(g.grads);
    } catch (e) {
      caught = e;
    }
    expect(caught, 'the step cannot fit under the cap').toBeInstanceOf(RangeError);
    const err = caught as Error;
    expect(err.message).toMatch(/^wasm heap exhausted: cannot allocate/);
    expect(classifyFailure({ message: err.message, name: err.name }).outcome).toBe('oom');
    expect(backend.numDataIds()).toBe(before);
    tf.dispose(held);
    m.dispose();
  }, 120_000);
});
