/**
 * The queue implementation of the trial contract, for the coordinator (`sweep --queue`):
 * each run becomes a BullMQ job whose id names the run, so adding it twice is a no-op and
 * a run finished earlier (by a coordinator since gone) is collected instead of re-run.
 * Results come back through QueueEvents as workers finish them, in any order.
 */
import { Job, Queue, QueueEvents } from 'bullmq';
import { BstuneError } from '../errors.js';
import { blankResult } from '../trial/run.js';
import { checkReachable, graceMs, QUEUE_NAME, bullConnection, watchConnection } from './connection.js';
import { parseQueueUrl, type QueueAddress } from './url.js';
import type { RunRequest, TrialRunner } from '../trial/runner.js';
import type { TrialResult, TrialSpec } from '../trial/protocol.js';
import type { JobData, JobProgress } from './job.js';

/** Finished jobs stay this long, so a resume (from any machine) collects instead of re-running. */
export const KEEP_SECONDS = 7 * 24 * 3600;

interface Waiter {
  spec: TrialSpec;
  req: RunRequest;
  resolve: (t: TrialResult) => void;
  reject: (e: unknown) => void;
}

export class QueueRunner implements TrialRunner {
  readonly slots = Infinity;
  readonly description: string;
  private readonly waiters = new Map<string, Waiter>();
  private lost: BstuneError | null = null;
  private stopWatch: () => void = () => {};

  private constructor(readonly address: QueueAddress, private readonly queue: Queue, private readonly events: QueueEvents) {
    this.description = `the queue at ${address.display}`;
  }

  static async connect(url: string): Promise<QueueRunner> {
    const a = parseQueueUrl(url);
    await checkReachable(a);
    const queue = new Queue(QUEUE_NAME, { connection: bullConnection(a) });
    const events = new QueueEvents(QUEUE_NAME, { connection: bullConnection(a) });
    const runner = new QueueRunner(a, queue, events);
    queue.on('error', () => {}); // reconnects on its own; the watchdog decides when Redis is gone
    events.on('error', () => {});
    try {
      await Promise.all([queue.waitUntilReady(), events.waitUntilReady()]);
    } catch (e) {
      await runner.close();
      throw new BstuneError('BSTUNE_QUEUE_UNAVAILABLE', `cannot use the queue at ${a.display}: ${(e as Error).message}`, '--queue');
    }
    runner.listen();
    runner.stopWatch = watchConnection(a, graceMs(), (why) => runner.fail(new BstuneError('BSTUNE_QUEUE_LOST', why, '--queue')));
    return runner;
  }

  private listen(): void {
    const w = (jobId: string) => this.waiters.get(jobId);
    this.events.on('completed', ({ jobId, returnvalue }) => {
      const v = typeof returnvalue === 'string' ? (JSON.parse(returnvalue) as TrialResult) : (returnvalue as unknown as TrialResult);
      this.settle(jobId, v);
    });
    this.events.on('failed', ({ jobId, failedReason }) => {
      const waiter = w(jobId);
      if (waiter) this.settle(jobId, failedJobResult(waiter.spec, failedReason));
    });
    this.events.on('stalled', ({ jobId }) => w(jobId)?.req.onRequeued?.());
    this.events.on('progress', ({ jobId, data }) => {
      const waiter = w(jobId);
      const p = data as unknown as JobProgress;
      if (!waiter || typeof p !== 'object' || p === null) return;
      if (p.type === 'start') waiter.req.onStart?.(p.where);
      else if (p.type === 'step') waiter.req.onStep?.(p.step);
      else if (p.type === 'epoch') waiter.req.onEpoch?.(p.record);
    });
  }

  private settle(jobId: string, t: TrialResult): void {
    const waiter = this.waiters.get(jobId);
    if (!waiter) return;
    this.waiters.delete(jobId);
    waiter.resolve(t);
  }

  private fail(e: BstuneError): void {
    this.lost = e;
    for (const [id, waiter] of this.waiters) {
      this.waiters.delete(id);
      waiter.reject(e);
    }
  }

  run(spec: TrialSpec, req: RunRequest): Promise<TrialResult> {
    return new Promise<TrialResult>((resolve, reject) => {
      if (this.lost) return reject(this.lost);
      if (req.signal?.aborted) return reject(interrupted());
      const id = req.id;
      // Listening before adding: a worker may finish the job before add() returns.
      this.waiters.set(id, { spec, req, resolve, reject });
      req.signal?.addEventListener('abort', () => {
        if (this.waiters.delete(id)) reject(interrupted());
      }, { once: true });
      const { cacheDir: _local, ...portable } = spec; // a path on this machine means nothing to a worker
      const data: JobData = { spec: portable, id };
      this.queue.add('trial', data, { jobId: id, attempts: 1, removeOnComplete: { age: KEEP_SECONDS }, removeOnFail: { age: KEEP_SECONDS } })
        .then(() => this.collectFinished(id))
        .catch((e: unknown) => {
          if (this.waiters.delete(id)) reject(this.lost ?? new BstuneError('BSTUNE_QUEUE_LOST', `cannot add a run to the queue at ${this.address.display}: ${(e as Error).message}`, '--queue'));
        });
    });
  }

  /** A job that already existed may have finished before anyone listened: take its result now. */
  private async collectFinished(id: string): Promise<void> {
    const waiter = this.waiters.get(id);
    if (!waiter) return;
    const job = await Job.fromId(this.queue, id);
    if (!job) return;
    const state = await job.getState();
    if (state === 'completed') this.settle(id, job.returnvalue as TrialResult);
    else if (state === 'failed') this.settle(id, failedJobResult(waiter.spec, job.failedReason));
  }

  async close(): Promise<void> {
    this.stopWatch();
    // Closing waits for Redis to acknowledge; a Redis that is gone must not keep bstune alive.
    const bounded = (p: Promise<unknown>) => Promise.race([p.catch(() => {}), new Promise((r) => setTimeout(r, 1000).unref())]);
    await Promise.all([bounded(this.events.close()), bounded(this.queue.close())]);
    await Promise.all([bounded(this.events.disconnect()), bounded(this.queue.disconnect())]);
  }
}

/** A job BullMQ itself failed (its worker died twice on it, or could not run it): a result, not a retry. */
function failedJobResult(spec: TrialSpec, failedReason: string): TrialResult {
  const why = /stalled more than allowable limit/.test(failedReason)
    ? 'its worker stopped answering twice (killed, or its machine ran out of memory); not retried again'
    : `the queue failed the run: ${failedReason}`;
  return blankResult(spec, why);
}

const interrupted = () => new BstuneError('BSTUNE_INTERRUPTED', 'interrupted');
