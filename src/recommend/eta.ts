/**
 * recommend's ETA, pure: the runs so far give seconds per trained sample and per-run
 * overhead (start-up, validation, noise); the runs left are priced with them.
 */
import { formatDuration } from '../report/trial-progress.js';

export class Eta {
  private samples = 0;
  private trainSeconds = 0;
  private overhead = 0;
  private runs = 0;

  record(t: { seconds: number; overheadSeconds: number }, samples: number): void {
    this.runs++;
    this.overhead += t.overheadSeconds;
    this.samples += samples;
    this.trainSeconds += Math.max(0, t.seconds - t.overheadSeconds);
  }

  /** Seconds for runs of these sizes one after another, then `count` runs of `each` samples `slots` at a time. */
  seconds(sequential: number[], [each, count, slots]: [number, number, number]): number | null {
    if (this.runs === 0 || this.samples === 0) return null;
    const one = (n: number) => this.overhead / this.runs + (n * this.trainSeconds) / this.samples;
    return sequential.reduce((a, n) => a + one(n), 0) + (count > 0 ? Math.ceil(count / Math.max(1, slots)) * one(each) : 0);
  }

  text(sequential: number[], parallel: [number, number, number]): string {
    const s = this.seconds(sequential, parallel);
    return s === null ? '' : ` · ETA ${formatDuration(s)}`;
  }
}
