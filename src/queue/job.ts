/** What travels through the queue: the job's data, and the progress a worker reports. */
import type { ChildMessage, TrialSpec } from '../trial/protocol.js';
import type { EpochRecord } from '../train/loop.js';

export interface JobData {
  /** The run as the coordinator resolved it (its config, the backend it chose). */
  spec: TrialSpec;
  /** The run's name (also the job id): config hash, batch size, seed, attempt. */
  id: string;
}

export type JobProgress =
  | { type: 'start'; where: string }
  | { type: 'step'; step: Extract<ChildMessage, { type: 'step' }> }
  | { type: 'epoch'; record: EpochRecord };
