/**
 * `sweep --parallel`: real trial processes, several at once. Scaled down (400 samples, one
 * epoch); nothing here asserts a speed (bench/parallel.mjs measures that).
 */
import { spawn, execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { binPath, tmpDir } from './helpers/cli.js';

/** Trial processes (dist/trial/child.js) whose parent is `parent`. */
function trialChildren(parent: number): number {
  const out = execFileSync('ps', ['-eo', 'pid=,ppid=,args='], { encoding: 'utf8' });
  return out.split('\n').filter((line) => {
    const m = /^\s*(\d+)\s+(\d+)\s+(.*)$/.exec(line);
    return m && Number(m[2]) === parent && m[3]!.includes('dist/trial/child.js');
  }).length;
}

describe('sweep --parallel 2', () => {
  it('runs two trials at once, saves each run once, and reports them in size order', async () => {
    const dir = tmpDir('bstune-parallel-');
    const out = join(dir, 'r.jsonl');
    const child = spawn(process.execPath, [binPath, 'sweep', '--sizes', '64,16,32', '--epochs', '1', '--train-limit', '400', '--parallel', '2', '--out', out, '--json'],
      { cwd: dir, env: { ...process.env, NO_COLOR: '1' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    let most = 0;
    const poll = setInterval(() => (most = Math.max(most, trialChildren(child.pid!))), 100);
    const code = await new Promise<number | null>((r) => child.on('close', r));
    clearInterval(poll);
    expect(code, stderr).toBe(0);
    // Two trial processes alive at the same moment; never more than asked.
    expect(most).toBe(2);

    const lines = readFileSync(out, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { batchSize: number; outcome: string; ranOn: { slots: number; gpu: string | null } });
    expect(lines.map((l) => l.batchSize).sort((a, b) => a - b)).toEqual([16, 32, 64]);
    expect(lines.every((l) => l.outcome === 'ok' && l.ranOn.slots === 2 && l.ranOn.gpu === null)).toBe(true);
    const doc = JSON.parse(stdout) as { trials: { batchSize: number }[]; summary: { batchSize: number }[] };
    // Trials follow the sweep's plan, whatever order the runs finished in; the summary
    // (the table's rows) is sorted by batch size.
    expect(doc.trials.map((t) => t.batchSize)).toEqual([64, 16, 32]);
    expect(doc.summary.map((s) => s.batchSize)).toEqual([16, 32, 64]);
  });
});

describe('sweep --parallel 2: which runs start first', () => {
  it('starts the longest expected runs first (by epochs: the smallest batches), whatever order --sizes gave', async () => {
    const dir = tmpDir('bstune-parallel-order-');
    const child = spawn(process.execPath, [binPath, 'sweep', '--sizes', '64,16,32', '--epochs', '1', '--train-limit', '400', '--parallel', '2', '--out', join(dir, 'r.jsonl')],
      { cwd: dir, env: { ...process.env, NO_COLOR: '1' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    const code = await new Promise<number | null>((r) => child.on('close', r));
    expect(code, stderr).toBe(0);
    // "[n/3] batch B" numbers the runs in the order they started.
    const started = [...stderr.matchAll(/\[(\d)\/3\] batch (\d+)/g)].sort((a, b) => Number(a[1]) - Number(b[1])).map((m) => Number(m[2]));
    expect(started).toEqual([16, 32, 64]);
  });
});
