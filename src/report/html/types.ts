import type { TrialResult } from '../../trial/protocol.js';

/** A noise-scale measurement as recorded: a number, or an estimate object with `bSimple`. */
export type NoiseValue = number | { bSimple?: number | null; bSimpleStdError?: number | null } | null;

/**
 * A trial as a report reads it: today's TrialResult, plus the fields records are gaining
 * (each optional; the report renders what is there and says what is absent).
 */
export type ReportTrial = Omit<TrialResult, 'outcome' | 'seed' | 'gradientNoiseScale'> & {
  outcome: string;
  seed?: number;
  configHash?: string;
  hashedConfig?: unknown;
  timestamp?: string;
  bstuneVersion?: string;
  backend?: string | { name?: string; device?: string } | null;
  /** The device the backend ran on (results files write it beside `backend`). */
  device?: string;
  accumulate?: number;
  effectiveBatchSize?: number;
  /** B_simple at the initial and final weights (src/noise/record.ts: numbers, plus per-epoch points). */
  gradientNoiseScale?: { initial?: NoiseValue; final?: NoiseValue; points?: { epoch: number; bSimple: number | null }[] } | null;
};

/** A memory model M(b) = M0 + b·m, from the records or fitted here. */
export interface MemoryFit {
  baseBytes: number;
  bytesPerSample: number;
  r2: number | null;
  /** Where the line comes from: "the records" or "least squares over N ok trials". */
  source: string;
}

export interface Recommendation {
  batchSize: number;
  learningRate?: number | null;
  /** One sentence: why this size. */
  why?: string | null;
}

/** Everything a report shows. Built by the report command, sweep, find-max or recommend. */
export interface ReportInput {
  title: string;
  /** The results file, or "this sweep" when rendered right after a run. */
  source: string;
  command?: string;
  trials: ReportTrial[];
  /** The config the runs share (hashedConfig from the file, or the resolved config). */
  config?: unknown;
  configHash?: string | null;
  memoryLimitBytes?: number | null;
  memoryFit?: MemoryFit | null;
  /** Validation accuracy for time-to-target; null: 99% of the best any run reached. */
  targetAccuracy?: number | null;
  recommendation?: Recommendation | null;
  /** What was left out of the input, one line each. */
  skipped?: string[];
  backend?: { name: string; device?: string | null } | null;
  /** The bstune that renders (records may name the one that measured). */
  bstuneVersion: string;
  /** ISO date the report is made (passed in: the page builder reads no clock). */
  generatedAt: string;
  /** When the records carry no timestamp: when the runs happened, if the caller knows (a report made right after its run). */
  runDate?: string | null;
  /** When the records carry no timestamp: the results file's modification time, if known. */
  fileModified?: string | null;
}
