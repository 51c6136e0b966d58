import type { RunArgs } from './args.js';
import type { Progress } from '../report/progress.js';
import type { JsonDocument } from '../report/document.js';

export interface Context {
  cwd: string;
  args: RunArgs;
  /** Aborted on the first SIGINT/SIGTERM: commands save what finished and throw BSTUNE_INTERRUPTED. */
  signal: AbortSignal;
  progress: Progress;
  stdout: NodeJS.WriteStream;
  stderr: NodeJS.WriteStream;
}

export interface CommandOutput {
  /** The --json document; `report` has no config of its own, so its document is looser. */
  document: JsonDocument | { schemaVersion: number; command: 'report'; bstuneVersion: string; [k: string]: unknown };
  /** What human mode prints on stdout. */
  human: string;
  exitCode: number;
  /** When some runs failed but the command finished: one line for stderr (the document still prints). */
  error?: string;
}
