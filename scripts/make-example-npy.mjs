// Writes configs/examples/npy/: a small synthetic 3-class set as NumPy .npy files
// (float32 inputs (N, 8), int64 labels (N,), as numpy.save writes them).
// Run: npm run build && node scripts/make-example-npy.mjs
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { encodeNpy } from '../dist/data/npy.js';

const out = join(dirname(fileURLToPath(import.meta.url)), '..', 'configs', 'examples', 'npy');
mkdirSync(out, { recursive: true });
function write(prefix, n, offset) {
  const x = new Float32Array(n * 8);
  const y = new BigInt64Array(n);
  for (let i = 0; i < n; i++) {
    const c = (i + offset) % 3;
    y[i] = BigInt(c);
    for (let j = 0; j < 8; j++) x[i * 8 + j] = (j % 3 === c ? 1 : 0) + 0.5 * Math.sin(7 * (i + offset) + 3 * j);
  }
  writeFileSync(join(out, `${prefix}_x.npy`), encodeNpy(x, [n, 8]));
  writeFileSync(join(out, `${prefix}_y.npy`), encodeNpy(y, [n]));
}
write('train', 600, 0);
write('val', 150, 1);
console.log(`wrote ${out}`);
