// How long loading 60,000 28x28 samples from .npy takes (issue 13 target: under 0.5 s),
// for uint8, float32, float64 and int32 inputs, with validationSplit and with a given validation pair.
// "Data load": from the loadDataset() call to train/validation ready to be batched (a whole
// read, or for a streamed file: header and size checked, float values checked finite through
// a 1 MiB buffer; labels read and converted; split by index), each in a fresh process that has already
// imported bstune's data module (no Node/TensorFlow.js start-up), started with the
// environment a trial process gets; the uint8 split also with plain 4 KiB pages (as the
// parent bstune process reads it).
// Run: npm run build && node bench/npy-load.mjs [--runs 5]
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { encodeNpy } from '../dist/data/npy.js';
import { withHugePages } from '../dist/trial/huge-pages.js';

const { values } = parseArgs({ options: { runs: { type: 'string', default: '5' } } });
const runs = Number(values.runs);
const n = 60_000;
const dir = mkdtempSync(join(tmpdir(), 'bstune-npy-bench-'));
const child = `
  const { loadDataset } = await import(${JSON.stringify(new URL('../dist/data/index.js', import.meta.url).href)});
  const cfg = JSON.parse(process.argv[1]);
  const t = performance.now();
  const c = process.cpuUsage();
  const d = await loadDataset(cfg, { seed: 42 });
  const u = process.cpuUsage(c);
  process.stdout.write(JSON.stringify({ s: (performance.now() - t) / 1000, cpu: (u.user + u.system) / 1e6, count: d.train.count + d.validation.count }));`;
const median = (a) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)];
try {
  const y = new BigInt64Array(n).map((_, i) => BigInt(i % 10));
  writeFileSync(join(dir, 'y.npy'), encodeNpy(y, [n]));
  const u8 = new Uint8Array(n * 784).map((_, i) => i % 251);
  writeFileSync(join(dir, 'x_u8.npy'), encodeNpy(u8, [n, 28, 28]));
  writeFileSync(join(dir, 'x_f32.npy'), encodeNpy(Float32Array.from(u8, (v) => v / 255), [n, 28, 28]));
  writeFileSync(join(dir, 'x_f64.npy'), encodeNpy(Float64Array.from(u8, (v) => v / 255), [n, 28, 28]));
  writeFileSync(join(dir, 'x_i32.npy'), encodeNpy(Int32Array.from(u8), [n, 28, 28]));
  writeFileSync(join(dir, 'vx.npy'), encodeNpy(u8.subarray(0, 10_000 * 784), [10_000, 28, 28]));
  writeFileSync(join(dir, 'vy.npy'), encodeNpy(y.subarray(0, 10_000), [10_000]));
  const trialEnv = withHugePages({ ...process.env });
  const plainEnv = { ...process.env, BSTUNE_HUGE_PAGES: '0' };
  // As shipped, files of 64 MiB and more are read per batch ("streamed"): the 188 MB float32
  // and int32 files and the 376 MB float64 one; the 47 MB uint8 file is read whole.
  const whole = { BSTUNE_NPY_STREAM_MIB: '1000000' };
  const streamed = { BSTUNE_NPY_STREAM_MIB: '0' };
  const cases = [
    ['x_u8.npy (uint8, 47 MB, read whole), validationSplit', 'x_u8.npy', false, trialEnv],
    ['x_f32.npy (float32, 188 MB, streamed), validationSplit', 'x_f32.npy', false, trialEnv],
    ['x_u8.npy (uint8, read whole) with a validation pair', 'x_u8.npy', true, trialEnv],
    ['x_u8.npy (uint8, read whole), validationSplit, plain 4 KiB pages', 'x_u8.npy', false, plainEnv],
    ['x_u8.npy (uint8) streamed (BSTUNE_NPY_STREAM_MIB=0)', 'x_u8.npy', false, { ...trialEnv, ...streamed }],
    ['x_f32.npy (float32) read whole (BSTUNE_NPY_STREAM_MIB=1e6)', 'x_f32.npy', false, { ...trialEnv, ...whole }],
    ['x_f64.npy (float64, 376 MB, streamed), validationSplit', 'x_f64.npy', false, trialEnv],
    ['x_i32.npy (int32, 188 MB, streamed), validationSplit', 'x_i32.npy', false, trialEnv],
  ];
  const results = cases.map(() => []);
  for (let r = 0; r < runs; r++) {
    // Interleaved, so all cases see the same load on a shared machine.
    cases.forEach(([, file, given, env], i) => {
      const cfg = { source: 'npy', x: join(dir, file), y: join(dir, 'y.npy'), validationSplit: 1 / 6, ...(given ? { validationX: join(dir, 'vx.npy'), validationY: join(dir, 'vy.npy') } : {}) };
      const out = spawnSync(process.execPath, ['--input-type=module', '-e', child, JSON.stringify(cfg)], { encoding: 'utf8', env });
      if (out.status !== 0) throw new Error(out.stderr);
      const m = JSON.parse(out.stdout);
      if (m.count !== n + (given ? 10_000 : 0)) throw new Error('wrong count');
      results[i].push(m);
    });
  }
  console.log(`.npy data load, 60,000 x 28 x 28 (loadDataset() call to train/validation arrays ready, fresh process each), median of ${runs}:`);
  cases.forEach(([name], i) => {
    const s = results[i].map((m) => m.s);
    console.log(`  ${name}: ${median(s).toFixed(3)} s (CPU ${median(results[i].map((m) => m.cpu)).toFixed(3)} s); runs ${s.map((x) => x.toFixed(3)).join(', ')}`);
  });
} finally {
  rmSync(dir, { recursive: true, force: true });
}
