/**
 * `bstune worker`: takes runs from the BullMQ queue and runs them through the same local
 * pool as `sweep --parallel` (one trial process each, one GPU each with --gpus). A trial that
 * fails (oom, crash, timeout) is a result, returned like any other; BullMQ itself only
 * re-queues a job whose worker stopped answering (stalled-job detection), once.
 */
import { hostname } from 'node:os';
import { Worker, WaitingError, type Job } from 'bullmq';
import { isBstuneError } from '../errors.js';
import { loadDataset } from '../data/index.js';
import { blankResult } from '../trial/run.js';
import { localPool } from '../trial/local-pool.js';
import { preloadKey, type TrialResult } from '../trial/protocol.js';
import { bullConnection, checkReachable, QUEUE_NAME } from './connection.js';
import { parseQueueUrl } from './url.js';
import type { JobData, JobProgress } from './job.js';

export interface WorkerOptions {
  queue: string;
  parallel?: number | undefined;
  gpus?: string[] | undefined;
  /** Seconds a job's lock lives without renewal: a dead worker's job goes back after about this long. */
  stallTimeoutSeconds: number;
  signal: AbortSignal;
  verbose: boolean;
  /** A lasting line for the log: ready, each finished trial, connection trouble. */
  log: (line: string, ok?: boolean | 'warn') => void;
  /** Trial in progress (spinner text). */
  status: (line: string) => void;
}

export async function runWorker(o: WorkerOptions): Promise<{ trials: number }> {
  const a = parseQueueUrl(o.queue);
  await checkReachable(a);
  // Trials arrive with their backend; --gpus only means something for tensorflow-gpu.
  const pool = localPool({ parallel: o.parallel, gpus: o.gpus, backend: o.gpus ? 'tensorflow-gpu' : 'cpu', memoryLimitBytes: null });
  for (const note of pool.plan.notes) o.log(note, 'warn');
  const host = hostname();
  const prepared = new Map<string, Promise<unknown>>();
  let trials = 0;

  const processor = async (job: Job<JobData>, token?: string): Promise<TrialResult> => {
    const { spec, id } = job.data;
    const name = `batch ${spec.batchSize} seed ${spec.seed}`;
    const progress = (p: JobProgress) => void job.updateProgress(p as unknown as object).catch(() => {});
    try {
      // The data set once per config on this machine (builds its cache before trials read it).
      const key = preloadKey(spec);
      if (!prepared.has(key)) prepared.set(key, loadDataset(spec.config.data, { seed: spec.config.training.seed }));
      await prepared.get(key);
      let lastStep = 0;
      const t = await pool.run(spec, {
        id, signal: o.signal, verbose: o.verbose,
        onStart: (where) => {
          o.status(`${name}: running (${id})`);
          progress({ type: 'start', where });
        },
        onStep: (m) => {
          if (performance.now() - lastStep < 1000) return;
          lastStep = performance.now();
          progress({ type: 'step', step: m });
        },
        onEpoch: (record) => progress({ type: 'epoch', record }),
      });
      trials++;
      o.log(`${name}: ${t.outcome}${t.reason ? ` (${t.reason})` : ''} in ${t.seconds.toFixed(1)} s`, t.outcome === 'ok');
      return t;
    } catch (e) {
      if (isBstuneError(e) && e.code === 'BSTUNE_INTERRUPTED') {
        // This worker is stopping: the run goes back to the queue for another worker, at once.
        await job.moveToWait(token).catch(() => {});
        throw new WaitingError();
      }
      // A problem of this machine (backend not installed, data files missing): a result that says so.
      const why = isBstuneError(e) ? e.line : (e as Error).message;
      o.log(`${name}: error (${why})`, false);
      return { ...blankResult(spec, `on worker ${host}: ${why}`), ranOn: { host, gpu: null, slots: pool.slots } };
    }
  };

  const lockDuration = Math.max(1000, Math.round(o.stallTimeoutSeconds * 1000));
  const worker = new Worker<JobData, TrialResult>(QUEUE_NAME, processor, {
    connection: bullConnection(a, { maxRetriesPerRequest: null }),
    concurrency: pool.slots,
    lockDuration,
    stalledInterval: Math.max(500, Math.round(lockDuration / 2)),
    maxStalledCount: 1,
  });
  let lastComplaint = 0;
  worker.on('error', (e) => {
    // Redis going away repeats this every second: say it now and then, BullMQ reconnects by itself.
    if (Date.now() - lastComplaint < 10_000) return;
    lastComplaint = Date.now();
    o.log(`queue ${a.display}: ${e.message.split('\n')[0]}; reconnecting`, 'warn');
  });
  await worker.waitUntilReady();
  o.log(`worker ready: ${pool.description}, taking runs from ${a.display} (stall timeout ${lockDuration / 1000} s)`);
  o.status('waiting for runs…');
  await new Promise<void>((resolve) => {
    if (o.signal.aborted) resolve();
    else o.signal.addEventListener('abort', () => resolve(), { once: true });
  });
  const bounded = (p: Promise<unknown>, ms: number) => Promise.race([p.catch(() => {}), new Promise((r) => setTimeout(r, ms).unref())]);
  // The running trials were stopped by the same signal; their jobs are back in the queue.
  await bounded(worker.close(), 5000);
  await pool.close();
  await bounded(worker.disconnect(), 1000);
  return { trials };
}
