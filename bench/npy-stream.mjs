// Training from a large .npy file read per batch (streamed) against the same file read whole:
// samples/s and process peak RSS of `bstune train --json`, the modes alternated run by run so
// they see the same machine load, and whether the trained numbers (history, losses) are
// string-equal between the modes. Data: 60,000 28x28 samples, the embedded MNIST digits
// repeated (real labels), written as .npy in the dtypes asked for.
// Modes: whole (BSTUNE_NPY_STREAM_MIB=1e6), streamed (=0), and streamed without the reader
// thread (BSTUNE_NPY_PREFETCH=0).
// Run: npm run build && node bench/npy-stream.mjs [--runs 3] [--models mlp,cnn] [--dtypes float32] [--modes whole,streamed,nothread]
//      node bench/npy-stream.mjs --equal --dtypes float32,float64,int32,int64 (numbers only, small runs)
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { encodeNpy } from '../dist/data/npy.js';
import { loadDataset } from '../dist/data/index.js';
import { compact } from '../dist/data/split.js';

const { values } = parseArgs({ options: {
  runs: { type: 'string', default: '3' },
  models: { type: 'string', default: 'mlp,cnn' },
  dtypes: { type: 'string', default: 'float32' },
  equal: { type: 'boolean', default: false },
  modes: { type: 'string', default: 'whole,streamed,nothread' },
} });
const bin = new URL('../bin/bstune.js', import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), 'bstune-npy-stream-'));
const median = (a) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)];

function writeData(d) {
  const n = 60_000;
  const px = new Uint8Array(n * 784);
  const y = new BigInt64Array(n);
  for (let i = 0; i < n; i++) {
    const r = i % d.count;
    px.set(d.images.subarray(r * 784, r * 784 + 784), i * 784);
    y[i] = BigInt(d.labels[r]);
  }
  writeFileSync(join(dir, 'y.npy'), encodeNpy(y, [n]));
  const make = {
    uint8: () => px,
    float32: () => Float32Array.from(px, (v) => v / 255),
    float64: () => Float64Array.from(px, (v) => v / 255),
    int32: () => Int32Array.from(px),
    int64: () => BigInt64Array.from(px, (v) => BigInt(v)),
  };
  for (const t of values.dtypes.split(',')) writeFileSync(join(dir, `x_${t}.npy`), encodeNpy(make[t](), [n, 28, 28]));
}
const ALL_MODES = {
  whole: { BSTUNE_NPY_STREAM_MIB: '1000000' },
  streamed: { BSTUNE_NPY_STREAM_MIB: '0' },
  'streamed, no reader thread': { BSTUNE_NPY_STREAM_MIB: '0', BSTUNE_NPY_PREFETCH: '0' },
};
const SHORT = { whole: 'whole', streamed: 'streamed', nothread: 'streamed, no reader thread' };
const MODES = Object.fromEntries(values.modes.split(',').map((m) => [SHORT[m], ALL_MODES[SHORT[m]]]));

function train(model, dtype, mode, batch, extra) {
  const cfg = join(dir, `${model}-${dtype}.yaml`);
  writeFileSync(cfg, `data: { x: x_${dtype}.npy, y: y.npy, validationSplit: 0.1 }\nmodel: { kind: ${model}${model === 'mlp' ? ', hidden: [10]' : ''} }\ntraining: { epochs: 2, seed: 42 }\ndevice: { backend: wasm }\n`);
  const out = spawnSync(process.execPath, [bin, 'train', '-c', cfg, '-b', String(batch), '--json', ...extra], { encoding: 'utf8', env: { ...process.env, ...MODES[mode] }, maxBuffer: 64 << 20 });
  if (out.status !== 0) throw new Error(`${model} ${dtype} ${mode}: exit ${out.status}\n${out.stderr}`);
  const doc = JSON.parse(out.stdout);
  const t = doc.trials[0];
  // Everything trained and measured except times: history, losses, accuracy, the gradient noise scale.
  const numbers = JSON.stringify({ history: t.history, initialLoss: t.initialLoss, finalLoss: t.finalLoss, valAccuracy: t.valAccuracy, valLoss: t.valLoss, noise: t.gradientNoiseScale },
    (k, v) => (/seconds/i.test(k) ? undefined : v));
  return { sps: t.samplesPerSecond, rss: t.processPeakRssBytes, numbers, data: doc.data };
}

try {
  const d = await loadDataset({ source: 'embedded', validationSplit: 0.5 }, { seed: 1 });
  const [a, b] = [compact(d.train), compact(d.validation)];
  const images = new Uint8Array((a.count + b.count) * 784);
  images.set(a.images, 0);
  images.set(b.images, a.count * 784);
  const labels = new Uint8Array(a.count + b.count);
  labels.set(a.labels, 0);
  labels.set(b.labels, a.count);
  writeData({ images, labels, count: a.count + b.count });
  if (values.equal) {
    // Small runs: 2 epochs of 2,000 samples; numbers only.
    for (const dtype of values.dtypes.split(',')) {
      for (const model of values.models.split(',')) {
        const runs = Object.keys(MODES).map((m) => train(model, dtype, m, 64, ['--train-limit', '2000']));
        const same = runs.every((r) => r.numbers === runs[0].numbers);
        console.log(`${dtype} ${model} b64: ${Object.keys(MODES).join(' / ')}: ${same ? 'numbers string-equal' : 'NUMBERS DIFFER'}${same ? '' : `\n  ${runs.map((r) => r.numbers).join('\n  ')}`}`);
        console.log(`  (${runs[1].data})`);
      }
    }
  } else {
    const runs = Number(values.runs);
    for (const model of values.models.split(',')) {
      const batch = model === 'mlp' ? 512 : 128;
      for (const dtype of values.dtypes.split(',')) {
        const res = Object.fromEntries(Object.keys(MODES).map((m) => [m, []]));
        const extra = model === 'cnn' ? ['--train-limit', '12000'] : [];
        for (let r = 0; r < runs; r++) for (const m of Object.keys(MODES)) res[m].push(train(model, dtype, m, batch, extra));
        console.log(`${model} b${batch}, ${dtype}${extra.length ? ', 12,000 training samples' : ', 54,000 training samples'}, 2 epochs, wasm (median of ${runs}, modes alternated):`);
        for (const [m, rs] of Object.entries(res)) {
          const same = rs.every((x) => x.numbers === Object.values(res)[0][0].numbers);
          console.log(`  ${m.padEnd(27)} ${Math.round(median(rs.map((x) => x.sps))).toLocaleString('en-US').padStart(7)} samples/s (runs ${rs.map((x) => Math.round(x.sps / 100) / 10).join(', ')}k), peak RSS ${Math.round(median(rs.map((x) => x.rss)) / 2 ** 20)} MiB, numbers ${same ? 'equal' : 'DIFFER'}`);
        }
      }
    }
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
