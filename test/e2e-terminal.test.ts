/**
 * Progress on real pseudo-terminals. A terminal that reports 0 columns (what `script`,
 * `expect` and some CI runners give) once made the spinner loop forever writing cursor-up
 * and erase sequences: the run never ended and wrote megabytes a second. Bounded by a
 * kill timer; no speed is asserted.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { stripAnsi, tmpDir } from './helpers/cli.js';
import { runInPty, scriptBin } from './helpers/pty.js';

if (!scriptBin) console.warn('[e2e-terminal] util-linux `script` not found: skipping the pseudo-terminal tests (apt-get install bsdutils)');

const quick = ['--train-limit', '300'];
// ora's in-place redraw: cursor to column 1, erase to end of line, cursor up, hide cursor.
const redraw = ['\x1b[1G', '\x1b[0K', '\x1b[2K', '\x1b[1A', '\x1b[?25l'];
const has = (out: Buffer, seq: string) => out.includes(Buffer.from(seq));

describe.skipIf(!scriptBin)('progress on a pseudo-terminal', () => {
  it('of 0 columns and 0 rows: find-max ends with plain lines, no redraw sequences', async () => {
    const r = await runInPty(['find-max', ...quick, '--start', '64'], { cols: 0, rows: 0, timeoutMs: 60_000 });
    const raw = r.output.toString('utf8');
    const text = stripAnsi(raw);
    expect(r.timedOut, `still running after 60 s; ${r.output.length} bytes of output`).toBe(false);
    expect(r.code, text.slice(-2000)).toBe(0);
    for (const seq of redraw) expect(has(r.output, seq), `output holds ${JSON.stringify(seq)}`).toBe(false);
    expect(text).toMatch(/✔ trying 64… fits/);
    expect(text).toMatch(/fits: 64\b/);
    expect(r.output.length).toBeLessThan(20_000);
  });

  it('of 0 columns: a sweep writes its results file and ends', async () => {
    const out = join(tmpDir(), 'r.jsonl');
    const r = await runInPty(['sweep', ...quick, '--sizes', '32,64', '--epochs', '1', '--out', out], { cols: 0, rows: 0, timeoutMs: 60_000 });
    const raw = r.output.toString('utf8');
    const text = stripAnsi(raw);
    expect(r.timedOut, `still running after 60 s; ${r.output.length} bytes of output`).toBe(false);
    expect(r.code, text.slice(-2000)).toBe(0);
    expect(existsSync(out)).toBe(true);
    expect(readFileSync(out, 'utf8').trim().split('\n')).toHaveLength(2);
    for (const seq of redraw) expect(has(r.output, seq), `output holds ${JSON.stringify(seq)}`).toBe(false);
    expect(text).toMatch(/✔ \[1\/2\] batch 32: val acc/);
    expect(r.output.length).toBeLessThan(20_000);
  });

  it('of 100×30: the spinner draws in place and gives the cursor back', async () => {
    const r = await runInPty(['find-max', ...quick, '--start', '64'], { cols: 100, rows: 30, timeoutMs: 60_000 });
    const raw = r.output.toString('utf8');
    const text = stripAnsi(raw);
    expect(r.timedOut).toBe(false);
    expect(r.code, text.slice(-2000)).toBe(0);
    expect(has(r.output, '\x1b[?25l'), 'cursor hidden while spinning').toBe(true);
    expect(raw.lastIndexOf('\x1b[?25h')).toBeGreaterThan(raw.lastIndexOf('\x1b[?25l'));
    expect(text).toMatch(/✔.* trying 64… fits/);
    expect(text).toMatch(/fits: 64\b/);
    // A frame per 80 ms for a few seconds, not a flood.
    expect(r.output.length).toBeLessThan(500_000);
  });
});
