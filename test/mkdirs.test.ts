import { spawnSync } from 'node:child_process';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { makeDirs } from '../src/mkdirs.js';

describe('makeDirs', () => {
  it('creates every missing folder, and is a no-op when they exist', async () => {
    const root = await mkdtemp(join(tmpdir(), 'bstune-mkdirs-'));
    const deep = join(root, 'a', 'b', 'c');
    makeDirs(deep);
    expect(statSync(deep).isDirectory()).toBe(true);
    makeDirs(deep);
    makeDirs(join(root, 'a', '.', 'b', '..', 'b'));
    expect(statSync(join(root, 'a', 'b')).isDirectory()).toBe(true);
  });

  it('throws the system error when a file is in the way', async () => {
    const root = await mkdtemp(join(tmpdir(), 'bstune-mkdirs-'));
    await writeFile(join(root, 'f'), 'x');
    expect(() => makeDirs(join(root, 'f', 'sub'))).toThrow(expect.objectContaining({ code: 'EEXIST' }));
    expect(() => makeDirs(join(root, 'f'))).toThrow(expect.objectContaining({ code: 'EEXIST' }));
  });

  it('fails with ENOENT under /proc, where mkdirSync({ recursive: true }) spins forever on Node 20', () => {
    // In a child with a time limit: if this regresses to a hang it fails, not stalls the suite.
    const dist = fileURLToPath(new URL('../dist/mkdirs.js', import.meta.url));
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', `
      const { makeDirs } = await import(${JSON.stringify(dist)});
      try { makeDirs('/proc/bstune-no-such-dir/x'); console.log('made'); } catch (e) { console.log(e.code); }
    `], { encoding: 'utf8', timeout: 20_000 });
    expect(r.signal, 'makeDirs did not return within 20 s').toBeNull();
    expect(r.stdout.trim()).toBe('ENOENT');
  });
});
