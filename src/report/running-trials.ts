import type { Progress } from './progress.js';

/**
 * Progress for trials that run at the same time: one spinner whose text has a line per
 * running trial; each finished trial gets its own lasting line. With one trial at a time
 * it reads exactly like a single trial's spinner.
 */
export class RunningTrials {
  private readonly lines = new Map<string, string>();
  constructor(private readonly progress: Progress, private readonly header: () => string = () => '') {}

  /** What `trialProgress` writes to: the text of one running trial. */
  for(label: string): { update: (text: string) => void } {
    return { update: (text: string) => this.set(label, text) };
  }

  set(label: string, text: string): void {
    const fresh = !this.lines.has(label);
    this.lines.set(label, text);
    this.render(fresh);
  }

  finish(label: string, line: string, ok: boolean | 'warn'): void {
    this.lines.delete(label);
    this.progress.done(line, ok);
    if (this.lines.size > 0) this.render(true);
  }

  /** A lasting line while trials run (a requeued job, a capped --parallel). */
  info(text: string): void {
    this.progress.info(text);
    if (this.lines.size > 0) this.render(true);
  }

  private render(restart: boolean): void {
    const head = this.header();
    const text = [...this.lines.values()].join('\n') + (head && this.lines.size > 1 ? `\n${head}` : '');
    if (restart) this.progress.start(text);
    else this.progress.update(text);
  }
}
