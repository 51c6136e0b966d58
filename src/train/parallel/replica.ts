/**
 * One replica's share of a data-parallel step, the same code on the main thread and in
 * each worker: the weighted gradient of its shard into its slot; then (after the
 * barrier) the applier sums every slot and applies it through its optimizer, and the
 * others take its published weights (setWeights) before their next gradient.
 */
import type { Tf, Tensor, LayersModel, Optimizer } from '../../tf.js';
import type { IoPlan } from '../../model/shapes.js';
import { correctOf, labelTensor, lossOf } from '../objective.js';
import { shardOf } from './layout.js';
import { fuseConvBiasRelu } from '../../backend/kernels/fuse-conv-layers.js';
import { DirectStep } from '../direct/runner.js';

type Variable = import('@tensorflow/tfjs').Variable;

/** The samples of micro-batch k that a replica trains on: rows start .. start + n, as n × sampleSize floats and their labels. */
export type ShardRows = (k: number, start: number, n: number) => { x: Float32Array; y: Int32Array | Float32Array };

export class Replica {
  readonly trainable: Variable[];
  readonly state: Variable[];
  /** Float32 values in a slot: every trainable weight (its gradient), then every non-trainable one (its value). */
  readonly weights: number;
  private readonly sum: Float32Array;
  private readonly total: Float32Array;
  private xs: Float32Array | null = null;
  private ys: Int32Array | Float32Array | null = null;
  /** The tape's kernels without the tape (src/train/direct), for the models it knows: the same bits. */
  private readonly direct: DirectStep | null;

  constructor(private readonly tf: Tf, readonly model: LayersModel, private readonly io: IoPlan, readonly optimizer: Optimizer, private readonly rank: number, private readonly count: number) {
    fuseConvBiasRelu(model);
    this.direct = DirectStep.of(model, io);
    this.trainable = model.trainableWeights.map((w) => w.read() as Variable);
    this.state = model.nonTrainableWeights.map((w) => w.read() as Variable);
    this.weights = [...this.trainable, ...this.state].reduce((a, v) => a + v.size, 0);
    this.sum = new Float32Array(this.weights);
    this.total = new Float32Array(this.weights);
  }

  /**
   * Gradient of this replica's shard of each of the `accumulate` micro-batches, each
   * weighted by its share of all accumulate × batch samples (so the slots sum to the
   * mean gradient of the whole step), and the model state (e.g. batch-norm statistics)
   * weighted by this replica's share. `rows(k, start, n)` gives the shard's n samples of
   * micro-batch k (rows start .. start + n of it). Returns the weighted loss and the correct count.
   */
  gradients(rows: ShardRows, batch: number, accumulate: number, slot: Float32Array): { loss: number; correct: number } {
    const tf = this.tf;
    const { start, end } = shardOf(batch, this.count, this.rank);
    const n = end - start;
    const share = n / (batch * accumulate);
    const acc = this.sum;
    acc.fill(0);
    let loss = 0;
    let correct = 0;
    for (let k = 0; k < accumulate && n > 0; k++) {
      const b = rows(k, start, n);
      const fast = this.direct?.gradients(b.x, b.y, n);
      if (fast) {
        loss += fast.loss * share;
        correct += fast.correct;
        this.direct!.addScaled(fast.grads, acc, share);
        continue;
      }
      const xs = tf.tensor(b.x, [n, ...this.io.xShape]);
      const labels = labelTensor(this.tf, this.io, b.y, n);
      let c: Tensor | null = null;
      const { value, grads } = tf.variableGrads(() => {
        const out = this.model.apply(xs, { training: true }) as Tensor;
        c = tf.keep(correctOf(tf, this.io, labels, out));
        return lossOf(tf, this.io, labels, out);
      }, this.trainable);
      loss += value.dataSync()[0]! * share;
      correct += c!.dataSync()[0]!;
      let off = 0;
      for (const v of this.trainable) {
        const g = grads[v.name]!.dataSync() as Float32Array;
        for (let i = 0; i < g.length; i++) acc[off + i] = acc[off + i]! + g[i]! * share;
        off += v.size;
      }
      tf.dispose([xs, labels, value, c!, ...Object.values(grads)]);
    }
    let off = this.trainable.reduce((a, v) => a + v.size, 0);
    const stateShare = n / batch;
    for (const v of this.state) {
      const s = v.dataSync() as Float32Array;
      for (let i = 0; i < s.length; i++) acc[off + i] = s[i]! * stateShare;
      off += v.size;
    }
    slot.set(acc);
    return { loss, correct };
  }

  /**
   * A shard's rows copied out of the shared batch (accumulate micro-batches of `batch`
   * samples) into this replica's own buffers: element reads of a SharedArrayBuffer are
   * slow, one set() is a memcpy, and the main thread refills the shared batch next step.
   */
  fromShared(x: Float32Array, y: Int32Array | Float32Array, batch: number, accumulate: number): ShardRows {
    const sampleSize = x.length / (batch * accumulate);
    const labelSize = y.length / (batch * accumulate);
    return (k, start, n) => {
      const own = this.buffers(n, sampleSize, labelSize, y instanceof Float32Array);
      const row = k * batch + start;
      own.x.set(x.subarray(row * sampleSize, (row + n) * sampleSize));
      own.y.set(y.subarray(row * labelSize, (row + n) * labelSize));
      return own;
    };
  }

  /** This replica's own batch buffers for n samples (reused from step to step). */
  buffers(n: number, sampleSize: number, labelSize: number, yFloat: boolean): { x: Float32Array; y: Int32Array | Float32Array } {
    if (this.xs === null || this.xs.length < n * sampleSize) this.xs = new Float32Array(n * sampleSize);
    if (this.ys === null || this.ys.length < n * labelSize || (this.ys instanceof Float32Array) !== yFloat) this.ys = yFloat ? new Float32Array(n * labelSize) : new Int32Array(n * labelSize);
    return { x: this.xs.subarray(0, n * sampleSize), y: this.ys.subarray(0, n * labelSize) };
  }

  /** The summed slots (the mean gradient, the mean state) applied: the same bits on every replica. */
  apply(summed: Float32Array): void {
    const tf = this.tf;
    let off = 0;
    const grads: Record<string, Tensor> = {};
    for (const v of this.trainable) {
      grads[v.name] = tf.tensor(summed.slice(off, off + v.size), v.shape);
      off += v.size;
    }
    this.optimizer.applyGradients(grads);
    tf.dispose(Object.values(grads));
    for (const v of this.state) {
      const t = tf.tensor(summed.slice(off, off + v.size), v.shape, v.dtype);
      v.assign(t);
      t.dispose();
      off += v.size;
    }
  }

  /** The applier's published weights (flatWeights' layout) into this replica's variables: the same bits. */
  setWeights(flat: Float32Array): void {
    const tf = this.tf;
    let off = 0;
    for (const v of [...this.trainable, ...this.state]) {
      const t = tf.tensor(flat.subarray(off, off + v.size), v.shape, v.dtype);
      v.assign(t);
      t.dispose();
      off += v.size;
    }
  }

  /** Where sumSlots() writes the summed slots element by element (so not shared memory, whose element access is slow). */
  get scratch(): Float32Array {
    return this.total;
  }

  /** Every weight, flattened (tests: replicas stay identical). */
  flatWeights(out: Float32Array): void {
    let off = 0;
    for (const v of [...this.trainable, ...this.state]) {
      out.set(v.dataSync() as Float32Array, off);
      off += v.size;
    }
  }
}
