import type { Tf, Tensor } from '../tf.js';

/**
 * Reads float32 scalars back from the device in one transfer (one stack kernel, one
 * data()) and disposes them. On a GPU each read is a round trip that waits for the
 * queue to drain, so a training loop that read each step's loss at once would pay it
 * every step; on cpu/wasm the values are the same either way.
 */
export async function readScalars(tf: Tf, scalars: Tensor[]): Promise<number[]> {
  if (scalars.length === 0) return [];
  if (scalars.length === 1) {
    const v = await scalars[0]!.data();
    tf.dispose(scalars);
    return [v[0]!];
  }
  const stacked = tf.tidy(() => tf.stack(scalars.map((t) => tf.reshape(t, []))));
  tf.dispose(scalars);
  const values = await stacked.data();
  stacked.dispose();
  return Array.from(values);
}

/** Two scalars read at once without a stack kernel (one step's loss and accuracy), then disposed. */
export async function readPair(tf: Tf, a: Tensor, b: Tensor): Promise<number[]> {
  const [x, y] = await Promise.all([a.data(), b.data()]);
  tf.dispose([a, b]);
  return [x[0]!, y[0]!];
}
