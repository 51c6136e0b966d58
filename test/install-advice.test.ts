/**
 * Which npm command really makes a native backend importable, for each way bstune can be
 * installed, and that bstune finds the backend where that command puts it. npm itself is
 * not run (tfjs-node's install downloads libtensorflow): a fake @tensorflow/tfjs-node
 * stands in, laid out as npm lays out a project and a global install.
 */
import { cpSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { installAdvice, installSetting, peerSpec } from '../src/backend/install-advice.js';
import { repoRoot, runCli, tmpDir } from './helpers/cli.js';

const none = () => false;

describe('installSetting: where this bstune lives', () => {
  it.each([
    ['/home/ana/src/bstune', [], 'clone'],
    ['/home/ana/app/node_modules/bstune', [], 'project'],
    ['/usr/local/lib/node_modules/bstune', ['/usr/local/lib/node_modules'], 'global'],
    ['/home/ana/.npm-global/lib/node_modules/bstune', [], 'global'],
    ['/home/ana/.npm/_npx/1a2b3c/node_modules/bstune', [], 'npx'],
  ] as const)('%s → %s', (root, globals, want) => {
    expect(installSetting(root, { globalRoots: [...globals], exists: none })).toBe(want);
  });

  it('a project whose folder happens to be called lib is still a project', () => {
    expect(installSetting('/srv/lib/node_modules/bstune', { globalRoots: [], exists: (p) => p === '/srv/lib/package.json' })).toBe('project');
  });
});

describe('installAdvice', () => {
  it('in a clone: --save-optional, since a plain npm i of an optional peer installs nothing on npm 11', () => {
    expect(installAdvice(['@tensorflow/tfjs-node-gpu@^4.22.0'], 'clone', '/src/bstune')).toMatch(/^cd \/src\/bstune && npm i --save-optional @tensorflow\/tfjs-node-gpu@\^4\.22\.0   # /);
  });
  it('in a project: a plain npm i there; global: npm i -g; npx: both packages to npx', () => {
    expect(installAdvice(['@tensorflow/tfjs-node@^4.22.0'], 'project', '/app/node_modules/bstune')).toMatch(/^npm i @tensorflow\/tfjs-node@\^4\.22\.0   # in the project/);
    expect(installAdvice(['@tensorflow/tfjs-node@^4.22.0'], 'global', '/usr/lib/node_modules/bstune')).toMatch(/^npm i -g @tensorflow\/tfjs-node@\^4\.22\.0   # /);
    expect(installAdvice(['webgpu@^0.6.2', '@tensorflow/tfjs-backend-webgpu@^4.22.0'], 'npx', '/x/_npx/y/node_modules/bstune')).toMatch(/^npx -p webgpu@\^0\.6\.2 -p @tensorflow\/tfjs-backend-webgpu@\^4\.22\.0 -p bstune bstune/);
  });
  it('the version is the peer range in package.json', () => {
    expect(peerSpec('@tensorflow/tfjs-node', repoRoot)).toBe('@tensorflow/tfjs-node@^4.22.0');
    expect(peerSpec('webgpu', repoRoot)).toMatch(/^webgpu@\^0\./);
  });
});

/** A copy of this package at `<root>/node_modules/bstune`, its dependencies linked from the clone. */
function installCopy(nodeModules: string): string {
  const dir = join(nodeModules, 'bstune');
  mkdirSync(dir, { recursive: true });
  for (const part of ['bin', 'dist', 'configs', 'package.json']) cpSync(join(repoRoot, part), join(dir, part), { recursive: true });
  symlinkSync(join(repoRoot, 'node_modules'), join(dir, 'node_modules'), 'dir');
  return join(dir, 'bin', 'bstune.js');
}

/** A stand-in for @tensorflow/tfjs-node that says where it was loaded from, then fails the trial. */
function fakeTfjsNode(nodeModules: string): void {
  const dir = join(nodeModules, '@tensorflow', 'tfjs-node');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: '@tensorflow/tfjs-node', version: '4.22.0', main: 'index.js' }));
  writeFileSync(join(dir, 'index.js'), "throw new Error('fake tfjs-node loaded from ' + __dirname);\n");
}

describe('bstune finds a backend where the advised command puts it (fake @tensorflow/tfjs-node)', () => {
  const args = ['train', '--backend', 'tensorflow', '--train-limit', '100', '--epochs', '1', '--json'];

  it('global: npm i -g puts it beside bstune in <prefix>/lib/node_modules; without it the advice is npm i -g', async () => {
    const prefix = tmpDir('bstune-global-');
    const globalModules = join(prefix, 'lib', 'node_modules');
    const bin = installCopy(globalModules);
    const before = await runCli(args, { cwd: prefix, bin });
    expect(before.code).toBe(2);
    expect(before.stderr).toMatch(/backend tensorflow is not installed; install it with: npm i -g @tensorflow\/tfjs-node@\^4\.22\.0   # /);

    fakeTfjsNode(globalModules);
    const after = await runCli(args, { cwd: prefix, bin, timeoutMs: 90_000 });
    expect(after.stderr).not.toMatch(/not installed/);
    expect(after.code, after.stderr).toBe(1); // the trial imported the fake, which throws
    expect(after.stderr).toContain(`fake tfjs-node loaded from ${join(globalModules, '@tensorflow', 'tfjs-node')}`);
    expect((JSON.parse(after.stdout) as { backend: { name: string } }).backend.name).toBe('tensorflow');
  });

  it('project: npm i in the project puts it in the project node_modules, where bstune finds it', async () => {
    const app = tmpDir('bstune-project-');
    writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'app', dependencies: { bstune: '*' } }));
    const bin = installCopy(join(app, 'node_modules'));
    const before = await runCli(args, { cwd: app, bin });
    expect(before.code).toBe(2);
    expect(before.stderr).toMatch(/install it with: npm i @tensorflow\/tfjs-node@\^4\.22\.0   # in the project/);

    fakeTfjsNode(join(app, 'node_modules'));
    const after = await runCli(args, { cwd: app, bin, timeoutMs: 90_000 });
    expect(after.code, after.stderr).toBe(1);
    expect(after.stderr).toContain(`fake tfjs-node loaded from ${join(app, 'node_modules', '@tensorflow', 'tfjs-node')}`);
  });
});
