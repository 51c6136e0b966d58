#!/usr/bin/env node
// Data load of the full 60k/10k MNIST set in a fresh process (as a trial sees it): decoding
// the gzip'd IDX files vs reading the decoded binary cache. Without network the real image
// files are absent, so a full-size stand-in is built: the real labels when the fixtures are
// there, and the 10,000 embedded digits repeated as images (same sizes, same gzip work).
//   npm run build && node bench/data-full.mjs [--runs 5] [--dir /tmp/bstune-mnist-full]
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
const child = `
  const { loadDataset } = await import(${JSON.stringify(new URL('../dist/data/index.js', import.meta.url).href)});
  const t = performance.now();
  const c = process.cpuUsage();
  const d = await loadDataset({ source: 'mnist-full', idxDir: ${JSON.stringify(dir)}, validationSplit: 0.2 }, { seed: 42, cacheDir: ${JSON.stringify(cache)} });
  const u = process.cpuUsage(c);
  process.stdout.write(JSON.stringify({ ms: performance.now() - t, cpuMs: (u.user + u.system) / 1000, train: d.train.count }));`;
const once = () => JSON.parse(spawnSync(process.execPath, ['--input-type=module', '-e', child], { encoding: 'utf8' }).stdout);
const median = (a) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)];
const decode = [];
const cached = [];
const decodeCpu = [];
const cachedCpu = [];
for (let i = 0; i < runs; i++) {
  // Interleaved, so both see the same load on a shared machine.
  rmSync(cache, { recursive: true, force: true });
  const a = once(); // no cache: gunzip + parse (and writes the cache)
  const b = once();
  decode.push(a.ms); decodeCpu.push(a.cpuMs);
  cached.push(b.ms); cachedCpu.push(b.cpuMs);
}
rmSync(cache, { recursive: true, force: true });
console.log(`full MNIST (60k/10k) load in a fresh process, median of ${runs}: decode IDX.gz ${median(decode).toFixed(0)} ms (incl. writing the cache), from the decoded cache ${median(cached).toFixed(0)} ms`);
console.log(`  CPU time (less disturbed by other processes on a shared host): decode ${median(decodeCpu).toFixed(0)} ms, cache ${median(cachedCpu).toFixed(0)} ms`);
console.log(`  decode: ${decode.map((x) => x.toFixed(0)).join(', ')} ms; cache: ${cached.map((x) => x.toFixed(0)).join(', ')} ms`);
