import ora, { type Ora } from 'ora';

export type ProgressMode = 'spinner' | 'lines' | 'off';

/**
 * Progress on stderr only. A TTY gets an ora spinner; a log file or CI gets one plain
 * line per finished item; --json and --quiet get nothing, so stdout and stderr stay
 * clean for scripts.
 */
export class Progress {
  private spinner: Ora | null = null;
  constructor(readonly mode: ProgressMode, private readonly stream: NodeJS.WriteStream = process.stderr) {}

  static for(opts: { json: boolean; quiet: boolean }, stream: NodeJS.WriteStream = process.stderr): Progress {
    if (opts.json || opts.quiet) return new Progress('off', stream);
    return new Progress(stream.isTTY ? 'spinner' : 'lines', stream);
  }

  start(text: string): void {
    if (this.mode === 'spinner') {
      this.spinner?.stop();
      this.spinner = ora({ text, stream: this.stream, discardStdin: false }).start();
    }
  }

  update(text: string): void {
    if (this.spinner) this.spinner.text = text;
  }

  /** `warn` is for an expected negative, like an out-of-memory trial during a search. */
  done(text: string, ok: boolean | 'warn' = true): void {
    if (this.mode === 'spinner' && this.spinner) {
      if (ok === 'warn') this.spinner.warn(text);
      else if (ok) this.spinner.succeed(text);
      else this.spinner.fail(text);
      this.spinner = null;
    } else if (this.mode !== 'off') {
      this.stream.write(`${ok === 'warn' ? '⚠' : ok ? '✔' : '✖'} ${text}\n`);
    }
  }

  /** A line that stays (where the data came from, which backend, where results go). */
  info(text: string): void {
    if (this.mode === 'off') return;
    if (this.spinner) {
      this.spinner.stopAndPersist({ symbol: 'ℹ', text });
      this.spinner = null;
    } else {
      this.stream.write(`ℹ ${text}\n`);
    }
  }

  stop(): void {
    this.spinner?.stop();
    this.spinner = null;
  }
}
