/**
 * Errors a user can act on. Each carries a string code and the exit code the CLI
 * uses for it; the single error boundary in cli/main.ts prints one line for these
 * and a stack trace only for anything else (with --verbose or DEBUG=bstune).
 */
export const ExitCode = {
  ok: 0,
  failure: 1,
  usage: 2,
  nothingFits: 3,
  interrupted: 130,
} as const;
export type ExitCodeValue = (typeof ExitCode)[keyof typeof ExitCode];

export type ErrorCode =
  | 'BSTUNE_USAGE'
  | 'BSTUNE_CONFIG_INVALID'
  | 'BSTUNE_CONFIG_NOT_FOUND'
  | 'BSTUNE_DATA_INVALID'
  | 'BSTUNE_DATA_UNAVAILABLE'
  | 'BSTUNE_MODEL_INVALID'
  | 'BSTUNE_BACKEND_UNAVAILABLE'
  | 'BSTUNE_NOTHING_FITS'
  | 'BSTUNE_TRIAL_FAILED'
  | 'BSTUNE_INTERRUPTED'
  | 'BSTUNE_RUNTIME'
  | 'BSTUNE_QUEUE_UNAVAILABLE'
  | 'BSTUNE_QUEUE_LOST';

const exitFor: Record<ErrorCode, ExitCodeValue> = {
  BSTUNE_USAGE: ExitCode.usage,
  BSTUNE_CONFIG_INVALID: ExitCode.usage,
  BSTUNE_CONFIG_NOT_FOUND: ExitCode.usage,
  BSTUNE_DATA_INVALID: ExitCode.usage,
  BSTUNE_DATA_UNAVAILABLE: ExitCode.usage,
  BSTUNE_MODEL_INVALID: ExitCode.usage,
  BSTUNE_BACKEND_UNAVAILABLE: ExitCode.usage,
  BSTUNE_NOTHING_FITS: ExitCode.nothingFits,
  BSTUNE_TRIAL_FAILED: ExitCode.failure,
  BSTUNE_INTERRUPTED: ExitCode.interrupted,
  BSTUNE_RUNTIME: ExitCode.failure,
  // Like data that cannot be fetched: nothing ran, and the user must fix the address or start Redis.
  BSTUNE_QUEUE_UNAVAILABLE: ExitCode.usage,
  // Mid-sweep: a runtime failure; what finished is saved and --resume continues.
  BSTUNE_QUEUE_LOST: ExitCode.failure,
};

export class BstuneError extends Error {
  readonly code: ErrorCode;
  /** Where the problem is: a file:line:col, a flag, a key path. Printed in parentheses. */
  readonly where: string | undefined;
  constructor(code: ErrorCode, message: string, where?: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'BstuneError';
    this.code = code;
    this.where = where;
  }
  get exitCode(): ExitCodeValue {
    return exitFor[this.code];
  }
  /** The one line the CLI prints: `<what> (<where>)`. */
  get line(): string {
    return this.where ? `${this.message} (${this.where})` : this.message;
  }
}

export const usageError = (message: string, where?: string) => new BstuneError('BSTUNE_USAGE', message, where);
export const dataError = (message: string, where?: string) => new BstuneError('BSTUNE_DATA_INVALID', message, where);

export function isBstuneError(e: unknown): e is BstuneError {
  return e instanceof BstuneError;
}
