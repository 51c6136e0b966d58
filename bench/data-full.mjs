#!/usr/bin/env node
// Data load of the full 60k/10k MNIST set in a fresh process (as a trial sees it): decoding
// the gzip'd IDX files vs reading the decoded binary cache. Without network the real image
// files are absent, so a full-size stand-in is built: the real labels when the fixtures are
// there, and the 10,000 embedded digits repeated as images (same sizes, same gzip work).
//   npm run build && node bench/data-full.mjs [--runs 5] [--dir /tmp/bstune-mnist-full]
// Prints the median data load from the decoded cache (issue 14's target: under 0.1 s).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { gunzipSync, gzipSync } from 'node:zlib';

const { values } = parseArgs({ options: { runs: { type: 'string', default: '5' }, dir: { type: 'string', default: join(tmpdir(), 'bstune-mnist-full') } } });
const runs = Number(values.runs);
const dir = values.dir;
const root = fileURLToPath(new URL('..', import.meta.url));

function header(magic, ...dims) {
  const b = Buffer.alloc(4 * (1 + dims.length));
  b.writeUInt32BE(magic, 0);
  dims.forEach((d, i) => b.writeUInt32BE(d, 4 * (i + 1)));
  return b;
}
if (!existsSync(join(dir, 't10k-labels-idx1-ubyte.gz'))) {
  mkdirSync(dir, { recursive: true });
  const { loadDataset } = await import('../dist/data/index.js');
  const emb = await loadDataset({ source: 'embedded', validationSplit: 0.5 }, { seed: 1 });
  const digits = Buffer.concat([emb.train.images, emb.validation.images]);
  const images = (n) => { const out = Buffer.alloc(n * 784); for (let o = 0; o < out.length; o += digits.length) digits.copy(out, o, 0, Math.min(digits.length, out.length - o)); return out; };
  const fixtures = join(root, '../shared/fixtures/mnist');
  const labels = (name, n) => existsSync(join(fixtures, name)) ? gunzipSync(readFileSync(join(fixtures, name))).subarray(8) : Buffer.from(Array.from({ length: n }, (_, i) => i % 10));
  writeFileSync(join(dir, 'train-images-idx3-ubyte.gz'), gzipSync(Buffer.concat([header(2051, 60000, 28, 28), images(60000)])));
  writeFileSync(join(dir, 'train-labels-idx1-ubyte.gz'), gzipSync(Buffer.concat([header(2049, 60000), labels('train-labels-idx1-ubyte.gz', 60000)])));
  writeFileSync(join(dir, 't10k-images-idx3-ubyte.gz'), gzipSync(Buffer.concat([header(2051, 10000, 28, 28), images(10000)])));
  writeFileSync(join(dir, 't10k-labels-idx1-ubyte.gz'), gzipSync(Buffer.concat([header(2049, 10000), labels('t10k-labels-idx1-ubyte.gz', 10000)])));
}

const cache = join(tmpdir(), `bstune-bench-cache-${process.pid}`);
const { withHugePages } = await import('../dist/trial/huge-pages.js');
const { filesFingerprint, fullCachePath, decodeFullCache } = await import('../dist/data/full-cache.js');
const dataUrl = JSON.stringify(new URL('../dist/data/index.js', import.meta.url).href);
const cacheUrl = JSON.stringify(new URL('../dist/data/full-cache.js', import.meta.url).href);
const cfg = JSON.stringify({ source: 'mnist-full', idxDir: dir, validationSplit: 0.2 });
// "Data load": from the loadDataset() call to the train/validation/test arrays being ready, in a
// fresh process that has already imported bstune's data module (Node and TensorFlow.js start-up
// are not in it), started with the environment a trial process gets (withHugePages).
const child = `
  const { loadDataset } = await import(${dataUrl});
  const t = performance.now();
  const c = process.cpuUsage();
  const d = await loadDataset(${cfg}, { seed: 42, cacheDir: ${JSON.stringify(cache)} });
  const u = process.cpuUsage(c);
  process.stdout.write(JSON.stringify({ ms: performance.now() - t, cpuMs: (u.user + u.system) / 1000, train: d.train.count }));`;
// Where the time of a cache load goes, step by step (its own fresh process).
const parts = `
  const { readFile } = await import('node:fs/promises');
  const { splitPool } = await import(${JSON.stringify(new URL('../dist/data/split.js', import.meta.url).href)});
  const { decodeFullCache } = await import(${cacheUrl});
  const [file, fp] = JSON.parse(process.argv[1]);
  const t0 = performance.now();
  const buf = await readFile(file);
  const t1 = performance.now();
  const pools = decodeFullCache(buf, fp);
  const t2 = performance.now();
  splitPool(pools.train, 0.2, 42);
  const t3 = performance.now();
  process.stdout.write(JSON.stringify({ read: t1 - t0, check: t2 - t1, split: t3 - t2 }));`;
const run = (code, env, args = []) => {
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', code, ...args], { encoding: 'utf8', env });
  if (r.status !== 0) throw new Error(r.stderr);
  return JSON.parse(r.stdout);
};
const trialEnv = withHugePages({ ...process.env });
const plainEnv = { ...process.env, BSTUNE_HUGE_PAGES: '0' };
const median = (a) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)];
const rows = { decode: [], cached: [], plain: [] };
for (let i = 0; i < runs; i++) {
  // Interleaved, so all see the same load on a shared machine.
  rmSync(cache, { recursive: true, force: true });
  rows.decode.push(run(child, trialEnv)); // no cache: gunzip + parse (and writes the cache)
  rows.cached.push(run(child, trialEnv));
  rows.plain.push(run(child, plainEnv));
}
const fp = await filesFingerprint(['train-images-idx3-ubyte.gz', 'train-labels-idx1-ubyte.gz', 't10k-images-idx3-ubyte.gz', 't10k-labels-idx1-ubyte.gz'].map((f) => join(dir, f)));
const file = fullCachePath(cache, fp);
if (typeof decodeFullCache(readFileSync(file), fp) === 'string') throw new Error('the cache is not valid');
const split = [];
for (let i = 0; i < runs; i++) split.push(run(parts, trialEnv, [JSON.stringify([file, fp])]));
rmSync(cache, { recursive: true, force: true });
const ms = (k) => `${median(rows[k].map((r) => r.ms)).toFixed(0)} ms (CPU ${median(rows[k].map((r) => r.cpuMs)).toFixed(0)} ms)`;
const all = (k) => rows[k].map((r) => r.ms.toFixed(0)).join(', ');
console.log(`full MNIST (60k/10k, 55 MB decoded) data load in a fresh process, median of ${runs}: from the decoded cache ${ms('cached')}; decode IDX.gz ${ms('decode')} (incl. writing the cache)`);
console.log(`  data load = loadDataset() call to train/validation/test arrays ready; the data module already imported; no Node/TensorFlow.js start-up`);
console.log(`  the cache load as a trial process does it (huge pages): ${all('cached')} ms; with plain 4 KiB pages (BSTUNE_HUGE_PAGES=0, as the parent process): ${ms('plain')}: ${all('plain')} ms`);
console.log(`  where a cache load goes (medians): read ${median(split.map((s) => s.read)).toFixed(1)} ms, check (size, header, CRC-32 of 55 MB, labels) ${median(split.map((s) => s.check)).toFixed(1)} ms, split by index ${median(split.map((s) => s.split)).toFixed(1)} ms`);
