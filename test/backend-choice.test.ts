import { describe, expect, it } from 'vitest';
import { bstuneErrorFrom } from './helpers/thrown.js';
import { chooseBackend, isInstalled, probeGpu } from '../src/backend/resolve.js';
import { runCli } from './helpers/cli.js';

const gpuOk: typeof probeGpu = () => ({ ok: true, device: 'NVIDIA A10G (GPU:0, 21.0 GiB usable)' });
const gpuMissing: typeof probeGpu = () => ({ ok: false, why: 'TensorFlow registered no GPU device' });
const only = (...pkgs: string[]) => (pkg: string) => pkgs.includes(pkg);
const GPU = '@tensorflow/tfjs-node-gpu';
const NODE = '@tensorflow/tfjs-node';

describe('chooseBackend: which backend auto picks, and when a request fails', () => {
  it.each([
    ['nothing native installed → wasm', only(), gpuMissing, 'wasm'],
    ['tfjs-node installed → tensorflow', only(NODE), gpuMissing, 'tensorflow'],
    ['tfjs-node-gpu with a real GPU → tensorflow-gpu', only(GPU), gpuOk, 'tensorflow-gpu'],
    ['tfjs-node-gpu without a GPU, tfjs-node present → tensorflow', only(GPU, NODE), gpuMissing, 'tensorflow'],
    ['tfjs-node-gpu without a GPU, nothing else → wasm', only(GPU), gpuMissing, 'wasm'],
  ] as const)('auto: %s', (_name, installed, probe, expected) => {
    const choice = chooseBackend('auto', probe, installed);
    expect(choice.name).toBe(expected);
    expect(choice.why).toMatch(/^auto/);
    expect(choice.device.length).toBeGreaterThan(0);
  });

  it('a GPU choice names the device TensorFlow reported and says memory is the device', () => {
    const choice = chooseBackend('auto', gpuOk, only(GPU));
    expect(choice.device).toContain('NVIDIA A10G');
    expect(choice.memory).toMatch(/GPU/);
  });

  it('cpu and wasm say their memory is host RAM, not a GPU answer', () => {
    for (const name of ['cpu', 'wasm'] as const) expect(chooseBackend(name, gpuMissing, only()).memory).toMatch(/not a GPU answer/);
  });

  it.each([
    ['tensorflow-gpu', only(), /not installed.*npm i --save-optional @tensorflow\/tfjs-node-gpu@\^4\.22\.0 .*CUDA 11\.2.*cuDNN 8\.1/],
    ['tensorflow-gpu', only(GPU), /registered no GPU/],
    ['tensorflow', only(), /not installed.*npm i --save-optional @tensorflow\/tfjs-node@\^4\.22\.0 /],
  ] as const)('requesting %s when it cannot run is a usage error with the fix', (name, installed, message) => {
    const err = bstuneErrorFrom(() => chooseBackend(name, gpuMissing, installed));
    expect(err.exitCode).toBe(2);
    expect(err.line).toMatch(message);
  });

  it.skipIf(isInstalled('@tensorflow/tfjs-node'))('without libtensorflow installed, --backend tensorflow exits 2 with one line telling how to install it', async () => {
    const r = await runCli(['train', '--backend', 'tensorflow', '--json']);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    // This test runs in a clone, where a plain `npm i PKG` answers "up to date" (the name is an optional peer).
    expect(r.stderr).toMatch(/^bstune: error: backend tensorflow is not installed; install it with: cd \S+ && npm i --save-optional @tensorflow\/tfjs-node@\^4\.22\.0   # .+ \(--backend\)$/m);
  });
});
