import ora, { type Ora } from 'ora';

export type ProgressMode = 'spinner' | 'lines' | 'off';

/**
 * A spinner redraws itself in place, so it needs a terminal that knows its width: with 0
 * columns (what `script`, `expect` and some CI pseudo-terminals report) ora counts
 * text/0 = Infinity lines to erase and loops forever writing cursor-up sequences.
 * Such a terminal, TERM=dumb and CI get plain lines instead.
 */
export function canAnimate(stream: NodeJS.WriteStream, env: NodeJS.ProcessEnv = process.env): boolean {
  return stream.isTTY === true && (stream.columns ?? 0) > 0 && env.TERM !== 'dumb' && !('CI' in env);
}

/**
 * Progress on stderr only. A terminal gets an ora spinner; a log file, CI or a terminal
 * of unknown size gets one plain line per finished item; --json and --quiet get nothing,
 * so stdout and stderr stay clean for scripts.
 */
export class Progress {
  private spinner: Ora | null = null;
  private readonly onResize = () => this.checkSize();
  constructor(public mode: ProgressMode, private readonly stream: NodeJS.WriteStream = process.stderr) {
    if (mode === 'spinner') stream.on('resize', this.onResize);
  }

  static for(opts: { json: boolean; quiet: boolean }, stream: NodeJS.WriteStream = process.stderr): Progress {
    if (opts.json || opts.quiet) return new Progress('off', stream);
    return new Progress(canAnimate(stream) ? 'spinner' : 'lines', stream);
  }

  /**
   * A terminal resized to 0 columns mid-run: drop to plain lines before ora's next frame.
   * Node updates `columns` and emits 'resize' in one go, before any timer can render.
   */
  private checkSize(): void {
    if (this.mode !== 'spinner' || (this.stream.columns ?? 0) > 0) return;
    // stop() erases as many lines as the last frame had (counted at the old width): finite.
    this.spinner?.stop();
    this.spinner = null;
    this.mode = 'lines';
    this.stream.off('resize', this.onResize);
  }

  start(text: string): void {
    this.checkSize();
    if (this.mode === 'spinner') {
      this.spinner?.stop();
      this.spinner = ora({ text, stream: this.stream, discardStdin: false }).start();
    }
  }

  update(text: string): void {
    this.checkSize();
    if (this.spinner) this.spinner.text = text;
  }

  /** `warn` is for an expected negative, like an out-of-memory trial during a search. */
  done(text: string, ok: boolean | 'warn' = true): void {
    this.checkSize();
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
    this.checkSize();
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
    this.stream.off('resize', this.onResize);
  }
}
