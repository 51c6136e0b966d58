/**
 * A worker thread of a data-parallel trial: its own single-threaded backend (wasm with
 * bstune's kernels), a replica of the model with the main thread's weights, its own
 * optimizer; it trains its shard of every step the main thread posts (see pool.ts).
 * The applier (rank 1) then sums the shards and applies the update, and publishes its
 * weights; every other replica copies them before its next gradient.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { setupBackend } from '../../backend/setup.js';
import { createModel } from '../../model/create.js';
import { createOptimizer, readLearningRate, setLearningRate } from '../loop.js';
import { Replica } from './replica.js';
import { APPLIER, CTRL, ERROR_BYTES, F64, OP, f64Index, slotOf, sumSlots } from './layout.js';
import type { WorkerInit } from './pool.js';
import type { Dataset } from '../../data/types.js';

const init = workerData as WorkerInit;
const ctrl = new Int32Array(init.shared.ctrl);
const f64 = new Float64Array(init.shared.f64);
const x = new Float32Array(init.shared.x);
const y = init.shared.yFloat ? new Float32Array(init.shared.y) : new Int32Array(init.shared.y);
const slots = new Float32Array(init.shared.slots);
const published = new Float32Array(init.shared.weights);

/** Waits until ctrl[i] reaches `target`; false when a replica failed. Short waits, so an abort is seen promptly. */
function waitFor(i: number, target: number): boolean {
  for (;;) {
    if (Atomics.load(ctrl, CTRL.abort) !== 0) return false;
    const v = Atomics.load(ctrl, i);
    if (v >= target) return true;
    Atomics.wait(ctrl, i, v, 200);
  }
}

function fail(e: unknown, heapBytes: number | null): void {
  const err = e instanceof Error ? e : new Error(String(e));
  const text = new TextEncoder().encode(`${err.name}: ${err.message}`.slice(0, ERROR_BYTES / 4));
  new Uint8Array(init.shared.error).set(text.subarray(0, ERROR_BYTES));
  Atomics.store(ctrl, CTRL.errorLength, Math.min(text.length, ERROR_BYTES));
  if (heapBytes !== null) f64[f64Index(init.rank, 'heapBytes')] = heapBytes;
  Atomics.compareExchange(ctrl, CTRL.abort, 0, init.rank + 1);
  Atomics.notify(ctrl, CTRL.arrived);
  Atomics.notify(ctrl, CTRL.posted);
}

async function main(): Promise<void> {
  let heap = (): number | null => null;
  try {
    const tf = await setupBackend(init.backend);
    heap = () => (tf.backend() as unknown as { wasm?: { HEAPU8?: Uint8Array } }).wasm?.HEAPU8?.byteLength ?? null;
    const shapeOnly = { ...init.data, source: init.data.origin, train: { images: new Float32Array(0), labels: new Int32Array(0), count: 0 }, validation: { images: new Float32Array(0), labels: new Int32Array(0), count: 0 } } as Dataset;
    const { model } = await createModel(tf, init.model, init.seed, shapeOnly);
    const weights = model.getWeights();
    if (weights.length !== init.weights.length || weights.some((w, i) => w.size !== init.weights[i]!.length)) {
      throw new Error('the model built in a worker thread does not match the main thread\'s (a model module must build the same layers every time)');
    }
    // setWeights assigns these tensors' buffers to the variables; disposed here, the variables hold the only reference
    // (kept, they held a second copy of every weight for the whole run, counted in each replica's memory figure).
    const initial = init.weights.map((w, i) => tf.tensor(w, weights[i]!.shape, weights[i]!.dtype));
    model.setWeights(initial);
    tf.dispose(initial);
    const optimizer = createOptimizer(tf, init.optimizer, 0);
    const replica = new Replica(tf, model, init.io, optimizer, init.rank, init.count);
    const rows = replica.fromShared(x, y, init.batch, init.accumulate);
    const applier = init.rank === APPLIER;
    // The op of the last step, and the step whose update this replica's model holds (the applier's is always current).
    let lastStep = 0;
    let synced = 0;
    parentPort!.postMessage({ type: 'ready' });
    for (let op = 1; ; op++) {
      if (!waitFor(CTRL.posted, op)) return;
      const kind = Atomics.load(ctrl, CTRL.op);
      if (kind === OP.stop) return;
      if (!applier && synced < lastStep) {
        if (!waitFor(CTRL.published, lastStep)) return;
        replica.setWeights(published);
        synced = lastStep;
      }
      const slot = slotOf(slots, init.count, replica.weights, op, init.rank);
      if (kind === OP.dumpWeights) {
        replica.flatWeights(slot);
        Atomics.add(ctrl, CTRL.arrived, 1);
        Atomics.notify(ctrl, CTRL.arrived);
        continue;
      }
      const profile = Atomics.load(ctrl, CTRL.profile) === 1;
      const lr = f64[F64.learningRate]!;
      setLearningRate(optimizer, lr);
      // Before arriving, so the main thread reads it after the barrier (a device read for SGD: traces only).
      if (applier && init.traceLearningRate) f64[F64.appliedLearningRate] = readLearningRate(optimizer);
      if (init.failAtStep === op) throw new Error(`injected failure in training thread ${init.rank + 1} at step ${op}`);
      const baseline = tf.memory().numBytes;
      let r = { loss: 0, correct: 0 };
      if (profile) {
        const info = await tf.profile(() => { r = replica.gradients(rows, init.batch, init.accumulate, slot); return []; });
        f64[f64Index(init.rank, 'peakBytes')] = Math.max(info.peakBytes, baseline);
        f64[f64Index(init.rank, 'baselineBytes')] = baseline;
      } else {
        r = replica.gradients(rows, init.batch, init.accumulate, slot);
      }
      f64[f64Index(init.rank, 'loss')] = r.loss;
      f64[f64Index(init.rank, 'correct')] = r.correct;
      Atomics.add(ctrl, CTRL.arrived, 1);
      Atomics.notify(ctrl, CTRL.arrived);
      lastStep = op;
      if (!applier) continue;
      if (!waitFor(CTRL.arrived, op * init.count)) return;
      replica.apply(sumSlots(slots, init.count, replica.weights, op, replica.scratch));
      replica.flatWeights(published);
      Atomics.store(ctrl, CTRL.published, op);
      Atomics.notify(ctrl, CTRL.published);
    }
  } catch (e) {
    fail(e, heap());
  }
}

void main();
