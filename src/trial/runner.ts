/**
 * The one contract for every way a trial runs: `run(spec) → result`. The local pool
 * (--parallel, --gpus) and the queue (--queue, src/queue/) implement it; sweep builds
 * one and never knows which it got.
 */
import type { TrialHooks } from './run.js';
import type { TrialResult, TrialSpec } from './protocol.js';

export interface RunRequest extends TrialHooks {
  /**
   * A stable name for this run (config hash, batch, seed, attempt). The queue uses it as
   * the job id, so enqueueing the same run twice runs it once; the local pool ignores it.
   */
  id: string;
  /** Called when the run starts executing (the queue: a worker took it). */
  onStart?: (where: string) => void;
  /** Called when the queue gave the run back after its worker stopped answering. */
  onRequeued?: () => void;
}

export interface TrialRunner {
  /** For progress lines: "2 local trial processes", "queue redis://host:6379". */
  readonly description: string;
  /** How many runs execute at once (the queue: unknown, so Infinity: workers decide). */
  readonly slots: number;
  run(spec: TrialSpec, req: RunRequest): Promise<TrialResult>;
  /** Stops what is running and lets go of processes and connections. */
  close(): Promise<void>;
}
