import { describe, expect, it } from 'vitest';
import { setupBackend } from '../src/backend/setup.js';
import { classifyFailure } from '../src/backend/oom.js';

// A real exhaustion of the wasm heap (4 GiB cap), in its own test file: vitest gives each
// file a fresh process, and a wasm heap that has hit its cap is not trusted afterwards.
describe('wasm heap exhaustion', () => {
  it('fails at the allocation with a recognisable out-of-memory error, classified oom', async () => {
    const tf = await setupBackend('wasm');
    const held: import('@tensorflow/tfjs-core').Tensor[] = [];
    let caught: unknown = null;
    try {
      // 768 MiB each: the sixth cannot fit under the cap.
      for (let i = 0; i < 8; i++) held.push(tf.zeros([192 * 2 ** 20]));
    } catch (e) {
      caught = e;
    }
    expect(caught, 'eight 768 MiB tensors cannot all fit in a 4 GiB heap').toBeInstanceOf(RangeError);
    const err = caught as RangeError;
    expect(err.message).toMatch(/^wasm heap exhausted: cannot allocate 768\.0 MiB \(heap at [\d.]+ GiB of its 4 GiB cap\)$/);
    expect(held.length).toBeGreaterThanOrEqual(3);
    expect(held.length).toBeLessThan(6);
    const c = classifyFailure({ message: err.message, name: err.name });
    expect(c.outcome).toBe('oom');
    expect(c.reason).toMatch(/wasm heap exhausted \(could not allocate 768\.0 MiB at [\d.]+ GiB of the 4 GiB cap\)/);
    tf.dispose(held);
  }, 60_000);
});
