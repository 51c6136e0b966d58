import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';

import { describe, expect, it } from 'vitest';

import { withHugePages } from '../src/trial/huge-pages.js';

describe('trial environment: transparent huge pages for big allocations', () => {
  it('adds glibc.malloc.hugetlb=1, keeps the user\'s own tunables, and lets them or BSTUNE_HUGE_PAGES=0 decide', () => {
    expect(withHugePages({ PATH: '/bin' })).toEqual({ PATH: '/bin', GLIBC_TUNABLES: 'glibc.malloc.hugetlb=1' });
    expect(withHugePages({ GLIBC_TUNABLES: 'glibc.malloc.arena_max=2' }).GLIBC_TUNABLES).toBe('glibc.malloc.arena_max=2:glibc.malloc.hugetlb=1');
    expect(withHugePages({ GLIBC_TUNABLES: 'glibc.malloc.hugetlb=0' }).GLIBC_TUNABLES).toBe('glibc.malloc.hugetlb=0');
    const off = { BSTUNE_HUGE_PAGES: '0' };
    expect(withHugePages(off)).toBe(off);
  });

  // What the variable is for: a trial's data buffer on huge pages. Needs Linux, glibc 2.35+ and THP not 'never'.
  const thp = existsSync('/sys/kernel/mm/transparent_hugepage/enabled') ? readFileSync('/sys/kernel/mm/transparent_hugepage/enabled', 'utf8') : '';
  const glibc = (process.report?.getReport() as { header?: { glibcVersionRuntime?: string } } | undefined)?.header?.glibcVersionRuntime ?? '';
  const [major, minor] = glibc.split('.').map(Number);
  const usable = thp !== '' && !thp.includes('[never]') && (major! > 2 || (major === 2 && minor! >= 35));
  it.skipIf(!usable)(`a process started with it holds a 64 MiB buffer on huge pages (THP: ${thp.trim() || 'absent'}, glibc ${glibc || 'absent'})`, () => {
    const script = `const b = Buffer.allocUnsafe(64 << 20); b.fill(1);
      const m = /AnonHugePages:\\s+(\\d+) kB/.exec(require('fs').readFileSync('/proc/self/smaps_rollup', 'utf8'));
      process.stdout.write(String(m ? Number(m[1]) : -1));`;
    const kb = (env: NodeJS.ProcessEnv) => Number(spawnSync(process.execPath, ['-e', script], { env, encoding: 'utf8' }).stdout);
    const plain = { ...process.env, BSTUNE_HUGE_PAGES: '0', GLIBC_TUNABLES: '' };
    expect(kb(withHugePages({ ...process.env, GLIBC_TUNABLES: '' }))).toBeGreaterThanOrEqual(32 * 1024);
    // Under THP 'madvise' a plain process gets none; under 'always' it may get them anyway.
    if (thp.includes('[madvise]')) expect(kb(plain)).toBeLessThan(32 * 1024);
  });
});
