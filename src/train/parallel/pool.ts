/**
 * The main thread's side of data parallelism inside a trial: it is replica 0 and starts
 * count − 1 worker threads (worker.ts), each a replica with its own backend. Per step it
 * writes the batch into shared memory, posts the step, takes the weights the applier
 * (worker 1) published after the last step, trains its own shard and waits at the
 * barrier; the applier then sums the shards' gradients and applies the update while this
 * thread returns to the training loop (its bookkeeping and the next batch overlap the
 * update). So this thread's model is one update behind until the next step or settle().
 * A failed worker sets the abort word (or its thread exits): the step then throws with
 * the worker's message, never hangs.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { Tf, LayersModel, Optimizer } from '../../tf.js';
import type { IoPlan } from '../../model/shapes.js';
import type { ModelConfig, OptimizerConfig } from '../../config/schema.js';
import type { DataShape } from '../../model/shapes.js';
import type { ConcreteBackend } from '../../backend/resolve.js';
import { Replica, type ShardRows } from './replica.js';
import { CTRL, F64, OP, allocateShared, f64Index, shardOf, sharedBytes, slotOf, type SharedBuffers } from './layout.js';

/** How a worker thread builds the same model as the main thread (its weights then come from the main thread). */
export interface ReplicaRecipe {
  backend: ConcreteBackend;
  model: ModelConfig;
  seed: number;
  data: Pick<DataShape, 'sampleShape' | 'labelShape' | 'numClasses' | 'origin'>;
}

export interface WorkerInit {
  rank: number;
  count: number;
  batch: number;
  accumulate: number;
  backend: ConcreteBackend;
  model: ModelConfig;
  seed: number;
  data: ReplicaRecipe['data'];
  io: IoPlan;
  optimizer: OptimizerConfig;
  weights: Float32Array[];
  shared: SharedBuffers;
  /** Tests: this worker throws at this step (1-based). */
  failAtStep?: number;
  /** The applier reads its optimizer's rate back each step (StepOutcome.appliedLearningRate). */
  traceLearningRate?: boolean;
}

/** dist/ holds the worker's JavaScript; tests import src/ (TypeScript) but the thread runs the build. */
function workerPath(): string {
  const here = fileURLToPath(new URL('./worker.js', import.meta.url));
  if (existsSync(here)) return here;
  return fileURLToPath(new URL('../../../dist/train/parallel/worker.js', import.meta.url));
}

/**
 * Where a step's samples come from: `fill(k)` loads micro-batch k whole; `rows`, where the
 * data set allows (in memory), writes samples start .. start + n of micro-batch k straight
 * into the given buffers, so each shard is filled where it is needed.
 */
export interface StepSource {
  fill(k: number): { x: Float32Array; y: Int32Array | Float32Array };
  rows: ((k: number, start: number, n: number, x: Float32Array, y: Int32Array | Float32Array) => void) | null;
}

export interface StepOutcome {
  loss: number;
  correct: number;
  /** Profiled steps: the sum over replicas of peak and baseline tensor bytes, plus the shared buffers. */
  peakBytes?: number;
  baselineBytes?: number;
  /** With traceLearningRate: the rate the applier's optimizer held for this step's update (this thread's applies nothing). */
  appliedLearningRate?: number;
}

export class Replicas {
  private readonly ctrl: Int32Array;
  private readonly f64: Float64Array;
  private readonly x: Float32Array;
  private readonly y: Int32Array | Float32Array;
  private readonly slots: Float32Array;
  /** The applier's weights after step op `lastStep` (once CTRL.published reaches it). */
  private readonly published: Float32Array;
  private readonly workers: Worker[] = [];
  private readonly replica: Replica;
  /** This replica's shard, copied out of the shared batch (when a step's source has no `rows`). */
  private readonly shared: ShardRows;
  private op = 0;
  /** The op of the last training step, and the step whose update this thread's model holds. */
  private lastStep = 0;
  private synced = 0;
  private failure: Error | null = null;
  private closed = false;
  private traceLearningRate = false;

  private constructor(private readonly tf: Tf, private readonly buffers: SharedBuffers, replica: Replica, readonly count: number, private readonly batch: number, private readonly accumulate: number) {
    this.replica = replica;
    this.ctrl = new Int32Array(buffers.ctrl);
    this.f64 = new Float64Array(buffers.f64);
    this.x = new Float32Array(buffers.x);
    this.y = buffers.yFloat ? new Float32Array(buffers.y) : new Int32Array(buffers.y);
    this.slots = new Float32Array(buffers.slots);
    this.published = new Float32Array(buffers.weights);
    this.shared = replica.fromShared(this.x, this.y, batch, accumulate);
  }

  /** Starts count − 1 worker replicas of `model` (its current weights) and waits until each is ready. */
  static async start(tf: Tf, o: {
    count: number; model: LayersModel; optimizer: Optimizer; io: IoPlan; optimizerConfig: OptimizerConfig; recipe: ReplicaRecipe;
    batch: number; accumulate: number; sampleSize: number; labelSize: number; yFloat: boolean; failAt?: { rank: number; step: number };
    traceLearningRate?: boolean;
  }): Promise<Replicas> {
    const replica = new Replica(tf, o.model, o.io, o.optimizer, 0, o.count);
    const shared = allocateShared({ count: o.count, batch: o.batch, accumulate: o.accumulate, sampleSize: o.sampleSize, labelSize: o.labelSize, yFloat: o.yFloat, weights: replica.weights });
    const group = new Replicas(tf, shared, replica, o.count, o.batch, o.accumulate);
    group.traceLearningRate = o.traceLearningRate === true;
    const weights = o.model.getWeights().map((w) => Float32Array.from(w.dataSync() as Float32Array));
    const ready: Promise<void>[] = [];
    for (let rank = 1; rank < o.count; rank++) {
      const init: WorkerInit = {
        rank, count: o.count, batch: o.batch, accumulate: o.accumulate, backend: o.recipe.backend, model: o.recipe.model, seed: o.recipe.seed,
        data: o.recipe.data, io: o.io, optimizer: o.optimizerConfig, weights, shared,
        ...(o.failAt && o.failAt.rank === rank ? { failAtStep: o.failAt.step } : {}),
        ...(o.traceLearningRate ? { traceLearningRate: true } : {}),
      };
      const w = new Worker(workerPath(), { workerData: init });
      group.workers.push(w);
      ready.push(new Promise((resolve, reject) => {
        w.on('message', (m: { type: string }) => { if (m.type === 'ready') resolve(); });
        w.on('error', (e) => { group.fail(rank, e); reject(group.failure!); });
        w.on('exit', (code) => {
          if (!group.closed) group.fail(rank, new Error(`exited with code ${code}`));
          reject(group.failure!);
        });
      }));
    }
    const watching = { on: true };
    try {
      await Promise.race([Promise.all(ready), group.aborted(watching)]);
    } catch (e) {
      await group.close();
      throw e;
    } finally {
      watching.on = false;
    }
    return group;
  }

  /** Bytes of the shared buffers (batch, gradient slots), counted in the trial's peak memory. */
  get sharedBytes(): number {
    return sharedBytes(this.buffers);
  }

  private fail(rank: number, e: unknown): void {
    if (this.failure) return;
    const msg = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
    this.failure = new Error(`training thread ${rank + 1} of ${this.count} failed: ${msg}`);
    Atomics.compareExchange(this.ctrl, CTRL.abort, 0, rank + 1);
    Atomics.notify(this.ctrl, CTRL.arrived);
    Atomics.notify(this.ctrl, CTRL.posted);
  }

  /** Rejects once a worker failed (its thread wrote the abort word); stays pending after `watching.on` is cleared. */
  private async aborted(watching: { on: boolean }): Promise<void> {
    while (watching.on) {
      this.throwIfAborted();
      await new Promise((r) => setTimeout(r, 20));
    }
    return new Promise(() => {});
  }

  private throwIfAborted(): void {
    const who = Atomics.load(this.ctrl, CTRL.abort);
    if (who === 0) return;
    if (!this.failure) {
      const len = Atomics.load(this.ctrl, CTRL.errorLength);
      const text = new TextDecoder().decode(new Uint8Array(this.buffers.error).slice(0, len));
      const name = /^(\w*Error):/.exec(text)?.[1];
      const err = name === 'RangeError' ? new RangeError() : new Error();
      err.message = `training thread ${who} of ${this.count} failed: ${text.replace(/^\w*Error: /, '')}`;
      const heap = this.f64[f64Index(who - 1, 'heapBytes')]!;
      if (heap > 0) (err as Error & { wasmHeapBytes?: number }).wasmHeapBytes = heap;
      this.failure = err;
    }
    throw this.failure;
  }

  /**
   * Waits (blocking in short slices, yielding to the event loop now and then so a
   * worker's 'error'/'exit' is seen) until ctrl[index] reaches target.
   */
  private async waitFor(index: number, target: number): Promise<void> {
    let slices = 0;
    for (;;) {
      this.throwIfAborted();
      const v = Atomics.load(this.ctrl, index);
      if (v >= target) return;
      Atomics.wait(this.ctrl, index, v, 5);
      if (++slices % 20 === 0) await new Promise((r) => setImmediate(r));
    }
  }

  /** Until every replica has arrived for the current op. */
  private barrier(): Promise<void> {
    return this.waitFor(CTRL.arrived, this.op * this.count);
  }

  /**
   * Brings this thread's model up to date: the applier's weights after the last step.
   * The loop calls it before using the model between steps (validation, noise scale);
   * each step calls it itself, after posting, so the copy overlaps the workers' shards.
   */
  async settle(): Promise<void> {
    if (this.synced >= this.lastStep) return;
    await this.waitFor(CTRL.published, this.lastStep);
    this.replica.setWeights(this.published);
    this.synced = this.lastStep;
  }

  private post(kind: number, profile = false): void {
    this.throwIfAborted();
    this.op++;
    Atomics.store(this.ctrl, CTRL.op, kind);
    Atomics.store(this.ctrl, CTRL.profile, profile ? 1 : 0);
    Atomics.store(this.ctrl, CTRL.posted, this.op);
    Atomics.notify(this.ctrl, CTRL.posted);
  }

  private arrive(): void {
    Atomics.add(this.ctrl, CTRL.arrived, 1);
    Atomics.notify(this.ctrl, CTRL.arrived);
  }

  /**
   * One optimizer step over accumulate micro-batches of `batch` samples. With `source.rows`
   * the workers' shards are written into shared memory, the step is posted, and this
   * thread fills its own shard while they train (before it takes the published weights); otherwise `source.fill(k)` loads whole
   * micro-batches, which are copied into shared memory before the post. The same samples
   * reach the same replicas either way.
   */
  async step(source: StepSource, learningRate: number, profile: boolean): Promise<StepOutcome> {
    const sampleSize = this.x.length / (this.batch * this.accumulate);
    const labelSize = this.y.length / (this.batch * this.accumulate);
    let own = this.shared;
    const rows = source.rows;
    if (rows) {
      for (let k = 0; k < this.accumulate; k++) {
        for (let rank = 1; rank < this.count; rank++) {
          const { start, end } = shardOf(this.batch, this.count, rank);
          const row = k * this.batch + start;
          rows(k, start, end - start, this.x.subarray(row * sampleSize, (row + end - start) * sampleSize), this.y.subarray(row * labelSize, (row + end - start) * labelSize));
        }
      }
    } else {
      for (let k = 0; k < this.accumulate; k++) {
        const b = source.fill(k);
        this.x.set(b.x, k * b.x.length);
        this.y.set(b.y, k * b.y.length);
      }
    }
    this.f64[F64.learningRate] = learningRate;
    // The applier's optimizer takes the rate from there (this thread's optimizer applies nothing).
    this.post(OP.step, profile);
    if (rows) {
      // This shard's rows while the applier may still be publishing the last update.
      const { start, end } = shardOf(this.batch, this.count, 0);
      const n = end - start;
      const b = this.replica.buffers(n * this.accumulate, sampleSize, labelSize, this.y instanceof Float32Array);
      for (let k = 0; k < this.accumulate; k++) rows(k, start, n, b.x.subarray(k * n * sampleSize, (k + 1) * n * sampleSize), b.y.subarray(k * n * labelSize, (k + 1) * n * labelSize));
      own = (k, _start, m) => ({ x: b.x.subarray(k * m * sampleSize, (k + 1) * m * sampleSize), y: b.y.subarray(k * m * labelSize, (k + 1) * m * labelSize) });
    }
    await this.settle();
    const slot = slotOf(this.slots, this.count, this.replica.weights, this.op, 0);
    let r = { loss: 0, correct: 0 };
    let peak = 0;
    let baseline = 0;
    if (profile) {
      baseline = this.tf.memory().numBytes;
      const info = await this.tf.profile(() => { r = this.replica.gradients(own, this.batch, this.accumulate, slot); return []; });
      peak = Math.max(info.peakBytes, baseline);
    } else {
      r = this.replica.gradients(own, this.batch, this.accumulate, slot);
    }
    this.f64[f64Index(0, 'loss')] = r.loss;
    this.f64[f64Index(0, 'correct')] = r.correct;
    this.arrive();
    // Every shard done: the losses are in, and the shared batch may be refilled.
    await this.barrier();
    this.lastStep = this.op;
    const out: StepOutcome = { loss: 0, correct: 0 };
    if (this.traceLearningRate) out.appliedLearningRate = this.f64[F64.appliedLearningRate]!;
    for (let rank = 0; rank < this.count; rank++) {
      out.loss += this.f64[f64Index(rank, 'loss')]!;
      out.correct += this.f64[f64Index(rank, 'correct')]!;
    }
    if (profile) {
      out.peakBytes = peak + this.sharedBytes;
      out.baselineBytes = baseline;
      for (let rank = 1; rank < this.count; rank++) {
        out.peakBytes += this.f64[f64Index(rank, 'peakBytes')]!;
        out.baselineBytes += this.f64[f64Index(rank, 'baselineBytes')]!;
      }
    }
    return out;
  }

  /** Every replica's weights, flattened (tests: they must stay identical). */
  async replicaWeights(): Promise<Float32Array[]> {
    await this.settle();
    this.post(OP.dumpWeights);
    this.replica.flatWeights(slotOf(this.slots, this.count, this.replica.weights, this.op, 0));
    this.arrive();
    await this.barrier();
    return Array.from({ length: this.count }, (_, r) => slotOf(this.slots, this.count, this.replica.weights, this.op, r).slice());
  }

  async close(): Promise<void> {
    if (this.closed) return;
    // The model goes back to the caller with the last update (a failure here was already thrown by the loop's settle, or is not the first).
    await this.settle().catch(() => {});
    this.closed = true;
    if (Atomics.load(this.ctrl, CTRL.abort) === 0) {
      this.op++;
      Atomics.store(this.ctrl, CTRL.op, OP.stop);
      Atomics.store(this.ctrl, CTRL.posted, this.op);
      Atomics.notify(this.ctrl, CTRL.posted);
    }
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}
