// How long loading 60,000 28x28 samples from .npy takes (issue 13 target: under 0.5 s),
// for uint8 and float32 inputs: file read, header parse, split into train/validation.
// Run: npm run build && node bench/npy-load.mjs
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encodeNpy } from '../dist/data/npy.js';
import { loadDataset } from '../dist/data/index.js';

const n = 60_000;
const dir = mkdtempSync(join(tmpdir(), 'bstune-npy-bench-'));
try {
  const y = new BigInt64Array(n).map((_, i) => BigInt(i % 10));
  writeFileSync(join(dir, 'y.npy'), encodeNpy(y, [n]));
  const u8 = new Uint8Array(n * 784).map((_, i) => i % 251);
  writeFileSync(join(dir, 'x_u8.npy'), encodeNpy(u8, [n, 28, 28]));
  writeFileSync(join(dir, 'x_f32.npy'), encodeNpy(Float32Array.from(u8, (v) => v / 255), [n, 28, 28]));
  writeFileSync(join(dir, 'vx.npy'), encodeNpy(u8.subarray(0, 10_000 * 784), [10_000, 28, 28]));
  writeFileSync(join(dir, 'vy.npy'), encodeNpy(y.subarray(0, 10_000), [10_000]));
  for (const x of ['x_u8.npy', 'x_f32.npy', 'x_u8.npy with a validation pair']) {
    const given = x.endsWith('pair');
    const file = x.split(' ')[0];
    const times = [];
    for (let r = 0; r < 5; r++) {
      const t0 = performance.now();
      const cfg = { source: 'npy', x: join(dir, file), y: join(dir, 'y.npy'), validationSplit: 1 / 6, ...(given ? { validationX: join(dir, 'vx.npy'), validationY: join(dir, 'vy.npy') } : {}) };
      const d = await loadDataset(cfg, { seed: 42 });
      times.push((performance.now() - t0) / 1000);
      if (d.train.count + d.validation.count !== n + (given ? 10_000 : 0)) throw new Error('wrong count');
    }
    times.sort((a, b) => a - b);
    console.log(`${x}: 60,000 x 28 x 28, median ${times[2].toFixed(3)} s, min ${times[0].toFixed(3)} s over 5 loads (read + parse + split)`);
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
