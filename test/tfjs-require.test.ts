/**
 * TensorFlow.js is loaded with require() (src/backend/tfjs-require.ts): one ESM `import` of
 * a tfjs package anywhere in a trial's modules makes Node scan that package's whole source
 * again, ~0.1-0.35 s of CPU in every trial process. Type-only imports cost nothing.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { requireTf, tfCore } from '../src/backend/tfjs-require.js';
import { setupBackend } from '../src/backend/setup.js';

const files = (dir: string): string[] => readdirSync(dir, { withFileTypes: true })
  .flatMap((e) => (e.isDirectory() ? files(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : []));

describe('TensorFlow.js is required, never imported at run time', () => {
  it('no module in src/ imports a @tensorflow package as a value (static or dynamic import)', () => {
    const offenders = files('src').flatMap((f) => readFileSync(f, 'utf8').split('\n').map((line, i) => ({ f, i, line }))
      .filter(({ line }) => /^\s*import\s+(?!type\b)[^;]*from\s+['"]@tensorflow\//.test(line) || /(?<!typeof\s)\bimport\(\s*['"]@tensorflow\//.test(line.replace(/type\s+\w+\s*=\s*import\(/g, '')))
      .map(({ f, i, line }) => `${f}:${i + 1}: ${line.trim()}`));
    expect(offenders).toEqual([]);
  });

  it('one tfjs-core for everything: tensors tfjs-layers makes are counted by the tfjs-core our kernels use', async () => {
    const tf = await setupBackend('cpu');
    expect(requireTf('@tensorflow/tfjs-core')).toBe(tfCore);
    const before = tfCore.memory().numTensors;
    const model = tf.sequential({ layers: [tf.layers.dense({ units: 2, inputShape: [3] })] });
    expect(tfCore.memory().numTensors).toBe(before + 2); // kernel and bias
    model.dispose();
    expect(tfCore.memory().numTensors).toBe(before);
  });
});
