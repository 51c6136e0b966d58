/**
 * End-to-end tests of `bstune sweep`: real trial processes on the real backends, on the
 * embedded MNIST digits cut down to a few hundred training samples so each run takes a
 * second or two. Nothing here asserts a speed.
 */
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { appendFileSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { binPath, runCli, tmpDir } from './helpers/cli.js';

const quick = ['--epochs', '1', '--train-limit', '400'];

interface Line {
  batchSize: number;
  seed: number;
  outcome: string;
  reason: string | null;
  configHash: string;
  valAccuracy: number | null;
  valLoss: number | null;
  history: Record<string, number>[];
}

/** Every line of a results file, parsed; throws on a line that is not JSON. */
function readLines(file: string): Line[] {
  const text = readFileSync(file, 'utf8');
  if (text === '') return [];
  expect(text.endsWith('\n'), 'results file ends with a newline').toBe(true);
  return text.slice(0, -1).split('\n').map((l) => JSON.parse(l) as Line);
}

const countLines = (file: string): number => (existsSync(file) ? readFileSync(file, 'utf8').split('\n').filter((l) => l.endsWith('}')).length : 0);

const sizesOf = (lines: Line[]) => lines.map((l) => l.batchSize).sort((a, b) => a - b);

/** Trial processes (dist/trial/child.js) whose parent is `parent`. */
function trialChildren(parent: number): number[] {
  const out = execFileSync('ps', ['-eo', 'pid=,ppid=,args='], { encoding: 'utf8' });
  return out.split('\n').flatMap((line) => {
    const m = /^\s*(\d+)\s+(\d+)\s+(.*)$/.exec(line);
    return m && Number(m[2]) === parent && m[3]!.includes('dist/trial/child.js') ? [Number(m[1])] : [];
  });
}

/** True while `pid` is still a trial process (a reused pid running something else does not count). */
function isTrialAlive(pid: number): boolean {
  try {
    return execFileSync('ps', ['-o', 'args=', '-p', String(pid)], { encoding: 'utf8' }).includes('dist/trial/child.js');
  } catch {
    return false; // ps exits 1 when the pid is gone
  }
}

async function until(what: string, ok: () => boolean, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!ok()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Starts bstune without waiting for it; `exited` resolves with its exit code and output. */
function start(args: string[], opts: { cwd: string; env?: Record<string, string>; detached?: boolean }) {
  const env: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: '1', ...opts.env };
  delete env.DEBUG;
  const child: ChildProcess = spawn(process.execPath, [binPath, ...args], { cwd: opts.cwd, env, stdio: ['ignore', 'pipe', 'pipe'], detached: opts.detached ?? false });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (b: Buffer) => (stdout += b.toString()));
  child.stderr!.on('data', (b: Buffer) => (stderr += b.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }>((resolve) => {
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
  return { child, exited };
}

/** The table row of one batch size (the line whose first cell is that size). */
function row(table: string, batch: number): string {
  const found = table.split('\n').find((l) => new RegExp(`^│ ${batch}\\b`).test(l));
  expect(found, `a table row for batch ${batch}`).toBeDefined();
  return found!;
}

describe('bstune sweep (end to end)', () => {
  it('SIGINT after two finished runs: exit 130, those runs saved, no trial left; the printed resume command finishes the rest', async () => {
    const dir = tmpDir();
    const file = join(dir, 'r.jsonl');
    // The third run (batch 64) hangs after its first step, so it can never finish on its own.
    const p = start(['sweep', '--sizes', '16,32,64', ...quick, '--out', file], { cwd: dir, env: { BSTUNE_TEST_FAULT: 'hang:64' } });
    const pid = p.child.pid!;
    const seen = new Set<number>();
    await until('two finished runs and the third trial running', () => {
      if (countLines(file) < 2) return false;
      for (const c of trialChildren(pid)) seen.add(c);
      return seen.size > 0;
    });
    p.child.kill('SIGINT');
    const r = await p.exited;

    expect(r.code).toBe(130);
    const lines = readLines(file);
    expect(sizesOf(lines)).toEqual([16, 32]);
    for (const l of lines) {
      expect(l.outcome).toBe('ok');
      expect(l.history).toHaveLength(1);
    }
    for (const c of seen) expect(isTrialAlive(c), `trial process ${c} outlived bstune`).toBe(false);
    expect(r.stdout).toBe('');

    // The hint must carry every flag that shaped the config, or the resume would refuse the file.
    const hint = /continue with: (bstune sweep .*)$/m.exec(r.stderr);
    expect(hint, r.stderr).not.toBeNull();
    const words = hint![1]!.split(' ').slice(1);
    expect(words).toEqual(expect.arrayContaining(['--resume', file, '--sizes', '16,32,64', '--epochs', '1', '--train-limit', '400']));

    const resumed = await runCli(words, { cwd: dir });
    expect(resumed.code, resumed.stderr).toBe(0);
    const after = readLines(file);
    expect(sizesOf(after)).toEqual([16, 32, 64]);
    expect(after.slice(0, 2)).toEqual(lines); // the saved runs were kept, not run again
    expect(after.every((l) => l.outcome === 'ok')).toBe(true);
    for (const b of [16, 32, 64]) expect(row(resumed.stdout, b)).toMatch(/\d+\.\d\d%/);
  });

  it('SIGTERM during a run: exit 130, the finished run saved and fsync\'d, no trial process left', async () => {
    const dir = tmpDir();
    const file = join(dir, 'r.jsonl');
    const p = start(['sweep', '--sizes', '16,64', ...quick, '--out', file], { cwd: dir, env: { BSTUNE_TEST_FAULT: 'hang:64' } });
    const pid = p.child.pid!;
    const seen = new Set<number>();
    await until('one finished run and the second trial running', () => {
      if (countLines(file) < 1) return false;
      for (const c of trialChildren(pid)) seen.add(c);
      return seen.size > 0;
    });
    p.child.kill('SIGTERM');
    const r = await p.exited;
    expect(r.code).toBe(130);
    expect(r.stderr).toContain('bstune: SIGTERM: stopping');
    expect(sizesOf(readLines(file))).toEqual([16]);
    for (const c of seen) expect(isTrialAlive(c), `trial process ${c} outlived bstune`).toBe(false);
  });

  it('SIGKILL of the whole process group loses only the run in flight; a resume completes the sweep and repairs a half-written last line', async () => {
    const dir = tmpDir();
    const file = join(dir, 'r.jsonl');
    const args = ['sweep', '--sizes', '16,32,64', ...quick];
    const p = start([...args, '--out', file], { cwd: dir, detached: true });
    await until('the first finished run', () => countLines(file) >= 1);
    process.kill(-p.child.pid!, 'SIGKILL');
    const killed = await p.exited;
    expect(killed.signal).toBe('SIGKILL');

    const r = await runCli([...args, '--resume', file], { cwd: dir });
    expect(r.code, r.stderr).toBe(0);
    const lines = readLines(file);
    expect(sizesOf(lines)).toEqual([16, 32, 64]);

    // A write cut short: the first run complete, then half of the second line and no newline.
    const [first, second] = readFileSync(file, 'utf8').split('\n');
    const cut = join(dir, 'cut.jsonl');
    writeFileSync(cut, `${first}\n`);
    appendFileSync(cut, second!.slice(0, Math.floor(second!.length / 2)));
    expect(readFileSync(cut, 'utf8').endsWith('\n')).toBe(false);

    const repaired = await runCli([...args, '--resume', cut], { cwd: dir });
    expect(repaired.code, repaired.stderr).toBe(0);
    expect(repaired.stderr).toMatch(/resuming: 1 finished runs there/);
    // Said, not silent: which line went and which run it was.
    expect(repaired.stderr).toMatch(new RegExp(`bstune: warning: results file ${cut.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: dropped its last line \\(line 2, \\d+ bytes\\), the record of batch 32 seed 42 cut short`));
    const fixed = readLines(cut);
    expect(sizesOf(fixed)).toEqual([16, 32, 64]);
    expect(readFileSync(cut, 'utf8').split('\n')[0]).toBe(first); // kept, not run again
  });

  it('--resume with a different config exits 2 with one line and leaves the file alone; --out onto a used file is refused', async () => {
    const dir = tmpDir();
    const file = join(dir, 'r.jsonl');
    const base = ['sweep', '--sizes', '16', '--train-limit', '300', '-q'];
    const made = await runCli([...base, '--epochs', '1', '--seed', '1', '--out', file], { cwd: dir });
    expect(made.code, made.stderr).toBe(0);
    const before = readFileSync(file, 'utf8');
    expect(readLines(file)).toHaveLength(1);

    for (const changed of [['--epochs', '1', '--seed', '2'], ['--epochs', '2', '--seed', '1']]) {
      const r = await runCli([...base, ...changed, '--resume', file], { cwd: dir });
      expect(r.code).toBe(2);
      expect(r.stdout).toBe('');
      const errLines = r.stderr.split('\n').filter((l) => l.trim() !== '');
      expect(errLines).toHaveLength(1);
      expect(errLines[0]).toMatch(/^bstune: error: .*different config/);
      expect(readFileSync(file, 'utf8')).toBe(before);
    }

    const again = await runCli([...base, '--epochs', '1', '--seed', '1', '--out', file], { cwd: dir });
    expect(again.code).toBe(2);
    expect(again.stderr).toMatch(/already holds runs; continue it with --resume/);
    expect(readFileSync(file, 'utf8')).toBe(before);
  });

  it('--json prints one document with every run and its per-epoch history, and the results file has the same runs', async () => {
    const dir = tmpDir();
    const file = join(dir, 'r.jsonl');
    const r = await runCli(['sweep', '--sizes', '16,32', '--epochs', '2', '--train-limit', '300', '--json', '--out', file], { cwd: dir });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.startsWith('{')).toBe(true);
    const doc = JSON.parse(r.stdout); // throws if anything else shares stdout
    expect(doc.schemaVersion).toBe(2);
    expect(doc.command).toBe('sweep');
    expect(doc.config.training.epochs).toBe(2);
    expect(doc.config.data.trainLimit).toBe(300);
    expect(['cpu', 'wasm']).toContain(doc.backend.name);
    expect(doc.trials.map((t: Line) => t.batchSize)).toEqual([16, 32]);
    for (const t of doc.trials) {
      expect(t.outcome).toBe('ok');
      // the results file's bookkeeping stays in the file
      expect(t).not.toHaveProperty('configHash');
      expect(t).not.toHaveProperty('hashedConfig');
      expect(t.seed).toBe(doc.config.training.seed);
      expect(t.history).toHaveLength(2);
      t.history.forEach((h: Record<string, number>, i: number) => {
        expect(h.epoch).toBe(i + 1);
        for (const k of ['trainLoss', 'trainAccuracy', 'trainEvalLoss', 'trainEvalAccuracy', 'valLoss', 'valAccuracy', 'learningRate', 'seconds']) {
          expect(Number.isFinite(h[k]), `${k} of batch ${t.batchSize} epoch ${i + 1}: ${h[k]}`).toBe(true);
        }
        expect(h.valAccuracy).toBeGreaterThanOrEqual(0);
        expect(h.valAccuracy).toBeLessThanOrEqual(1);
        expect(h.learningRate).toBeGreaterThan(0);
      });
      expect(t.valAccuracy).toBe(t.history[1].valAccuracy);
    }
    const lines = readLines(file);
    expect(lines.map((l) => [l.batchSize, l.seed, l.history])).toEqual(doc.trials.map((t: Line) => [t.batchSize, t.seed, t.history]));
  });

  it('the same seed on --backend cpu gives identical accuracies and losses; another seed does not', async () => {
    const dir = tmpDir();
    const once = async (seed: string, name: string) => {
      const r = await runCli(['sweep', '--backend', 'cpu', '--sizes', '16,32', '--epochs', '2', '--train-limit', '300', '--seed', seed, '--json', '--out', join(dir, name)], { cwd: dir });
      expect(r.code, r.stderr).toBe(0);
      const doc = JSON.parse(r.stdout);
      expect(doc.backend.name).toBe('cpu');
      return doc.trials.map((t: Line) => ({
        batchSize: t.batchSize, valAccuracy: t.valAccuracy, valLoss: t.valLoss,
        epochs: t.history.map((h) => [h.trainLoss, h.trainAccuracy, h.valLoss, h.valAccuracy]),
      }));
    };
    const a = await once('5', 'a.jsonl');
    const b = await once('5', 'b.jsonl');
    expect(b).toEqual(a);
    const c = await once('6', 'c.jsonl');
    expect(c).not.toEqual(a);
  });

  it('a failing run is recorded with its reason, the sweep goes on, the row shows the reason, exit 1; --resume re-runs it', async () => {
    const dir = tmpDir();
    const file = join(dir, 'r.jsonl');
    // Batch 64 throws an ordinary bug after its first step; it is listed first, so the sweep must go on past it.
    const r = await runCli(['sweep', '--sizes', '64,32', '--epochs', '1', '--train-limit', '300', '--out', file], { cwd: dir, env: { BSTUNE_TEST_FAULT: 'throw:64' } });
    expect(r.code).toBe(1);
    expect(row(r.stdout, 64)).toMatch(/error: TypeError: injected bug at batch 64/);
    const ok = row(r.stdout, 32);
    expect(ok).toMatch(/KiB|MiB/);
    expect(ok).toMatch(/\d+\.\d\d%/);
    expect(ok).not.toContain('–');
    expect(r.stdout).not.toContain('±');
    const lines = readLines(file);
    expect(lines.map((l) => [l.batchSize, l.outcome])).toEqual([[64, 'error'], [32, 'ok']]);
    expect(lines[0]!.reason).toMatch(/injected bug at batch 64/);
    expect(r.stderr).toMatch(/^bstune: error: 1 of 2 runs failed: batch 64 error/m);

    // --resume re-runs the failed run (the fault is gone now), keeps 32, and the newest line for 64 counts.
    const again = await runCli(['sweep', '--sizes', '64,32', '--epochs', '1', '--train-limit', '300', '--resume', file, '--json'], { cwd: dir });
    expect(again.code, again.stderr).toBe(0);
    expect(again.stderr).toBe('');
    expect(readLines(file).map((l) => [l.batchSize, l.outcome])).toEqual([[64, 'error'], [32, 'ok'], [64, 'ok']]);
    expect(JSON.parse(again.stdout).trials.map((t: Line) => [t.batchSize, t.outcome])).toEqual([[64, 'ok'], [32, 'ok']]);
  });

  it('--repeats 2 runs each size with seeds s and s+1; the table shows mean ± std', async () => {
    const dir = tmpDir();
    const file = join(dir, 'r.jsonl');
    const args = ['sweep', '--sizes', '16,32', '--repeats', '2', '--seed', '7', '--epochs', '1', '--train-limit', '300'];
    const r = await runCli([...args, '--json', '--out', file], { cwd: dir });
    expect(r.code, r.stderr).toBe(0);
    const doc = JSON.parse(r.stdout);
    expect(doc.trials.map((t: Line) => [t.batchSize, t.seed])).toEqual([[16, 7], [16, 8], [32, 7], [32, 8]]);
    expect(doc.trials.every((t: Line) => t.outcome === 'ok' && t.history.length === 1)).toBe(true);
    expect(readLines(file)).toHaveLength(4);

    // Resuming a finished sweep runs nothing and prints its table.
    const table = await runCli([...args, '--resume', file], { cwd: dir });
    expect(table.code, table.stderr).toBe(0);
    expect(table.stderr).toMatch(/resuming: 4 finished runs there/);
    expect(readLines(file)).toHaveLength(4);
    for (const b of [16, 32]) expect(row(table.stdout, b)).toMatch(/\d+\.\d\d% ± \d+\.\d\d pt/);
  });
});
