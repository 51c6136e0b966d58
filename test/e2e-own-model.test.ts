/**
 * Your own model and data end to end through the bin: sweep and resume on .npy files
 * (the results hash covers the files' contents), find-max on a createModel module, train
 * on an IDX set with a model.json. Small real runs.
 */
import { copyFileSync, cpSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { rmSync } from 'node:fs';
import { encodeNpy } from '../src/data/npy.js';
import { repoRoot, runCli, tmpDir } from './helpers/cli.js';

const examples = join(repoRoot, 'configs', 'examples');
const root = tmpDir('bstune-own-');
afterAll(() => rmSync(root, { recursive: true, force: true }));

interface Trial { batchSize: number; outcome: string; peakMemoryBytes: number | null; valAccuracy: number | null }

describe('own data and model, end to end', () => {
  it('sweep on .npy files, resume; a changed data file refuses the resume and names the file', { timeout: 400_000 }, async () => {
    const dir = join(root, 'npy');
    mkdirSync(dir);
    cpSync(join(examples, 'npy'), join(dir, 'npy'), { recursive: true });
    copyFileSync(join(examples, 'npy.yaml'), join(dir, 'bstune.yaml'));
    const out = join(dir, 'r.jsonl');
    const first = await runCli(['sweep', '--sizes', '8,16', '--epochs', '1', '--out', out, '--json'], { cwd: dir, timeoutMs: 180_000 });
    expect(first.code, first.stderr).toBe(0);
    const doc = JSON.parse(first.stdout) as { data: string; trials: Trial[] };
    expect(doc.data).toMatch(/NumPy arrays .*train_x\.npy \(samples \[8\] float32, 3 classes\), 600 train \/ 150 validation \(given\)/);
    expect(doc.trials.map((t) => t.outcome)).toEqual(['ok', 'ok']);
    for (const t of doc.trials) expect(t.peakMemoryBytes).toBeGreaterThan(0);
    // It learned something (3 classes: chance is 33%).
    expect(Math.max(...doc.trials.map((t) => t.valAccuracy ?? 0))).toBeGreaterThan(0.45);

    const again = await runCli(['sweep', '--sizes', '8,16', '--epochs', '1', '--resume', out, '--json'], { cwd: dir, timeoutMs: 120_000 });
    expect(again.code, again.stderr).toBe(0);
    // Nothing re-run: the file still holds the two runs, and the document shows them.
    expect(readFileSync(out, 'utf8').trim().split('\n')).toHaveLength(2);
    expect((JSON.parse(again.stdout) as { trials: Trial[] }).trials).toHaveLength(2);

    // Same config text, other labels: the runs in the file were made on other data.
    const y = new BigInt64Array(600).map((_, i) => BigInt((i + 1) % 3));
    writeFileSync(join(dir, 'npy', 'train_y.npy'), encodeNpy(y, [600]));
    const changed = await runCli(['sweep', '--sizes', '8,16', '--epochs', '1', '--resume', out, '--json'], { cwd: dir, timeoutMs: 120_000 });
    expect(changed.code).toBe(2);
    expect(changed.stdout).toBe('');
    expect(changed.stderr).toMatch(/different config: files\..*train_y\.npy: "[0-9a-f]+" → "[0-9a-f]+"/);
  });

  it('find-max on a createModel module: memory measured, the answer reported', { timeout: 200_000 }, async () => {
    const r = await runCli(['find-max', '-c', join(examples, 'module-model.yaml'), '--train-limit', '256', '--start', '128', '--min', '64', '--steps', '3', '--json'], { timeoutMs: 180_000 });
    expect(r.code, r.stderr).toBe(0);
    const doc = JSON.parse(r.stdout) as { maxBatchSize: number; trials: Trial[] };
    expect(doc.maxBatchSize).toBe(128);
    expect(doc.trials[0]!.peakMemoryBytes).toBeGreaterThan(0);
  });

  it('train on an IDX set (shape and classes from the files) with a model.json', { timeout: 200_000 }, async () => {
    const dir = join(root, 'idx');
    mkdirSync(join(dir, 'data'), { recursive: true });
    const n = 120;
    const head = (...v: number[]) => {
      const b = Buffer.alloc(v.length * 4);
      v.forEach((x, i) => b.writeUInt32BE(x, i * 4));
      return b;
    };
    const labels = Buffer.from(Array.from({ length: n }, (_, i) => i % 10));
    const images = Buffer.alloc(n * 784);
    for (let i = 0; i < n; i++) images.fill(200, i * 784 + (i % 10) * 78, i * 784 + (i % 10) * 78 + 78);
    writeFileSync(join(dir, 'data', 'train-images-idx3-ubyte'), Buffer.concat([head(2051, n, 28, 28), images]));
    writeFileSync(join(dir, 'data', 'train-labels-idx1-ubyte'), Buffer.concat([head(2049, n), labels]));
    writeFileSync(join(dir, 'c.yaml'), `data: {idxDir: data}\nmodel: {path: ${join(examples, 'cnn-model', 'model.json')}}\ntraining: {epochs: 1}\n`);
    const r = await runCli(['train', '-c', join(dir, 'c.yaml'), '-b', '16', '--json'], { timeoutMs: 120_000 });
    expect(r.code, r.stderr).toBe(0);
    const doc = JSON.parse(r.stdout) as { data: string; trials: Trial[] };
    expect(doc.data).toMatch(/IDX files in .*\/data \(28x28, 10 classes\), 96 train \/ 24 validation/);
    expect(doc.trials[0]!.outcome).toBe('ok');
  });
});
