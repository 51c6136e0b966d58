/** The environment variables a user may set: one parser each, a bad value a usage error, empty as unset. */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { checkEnv, hugePages, npyPrefetch, npyStreamMiB, queueGraceSeconds } from '../src/env.js';
import { bstuneErrorFrom } from './helpers/thrown.js';

describe('user environment variables', () => {
  it.each([
    [npyStreamMiB, 'BSTUNE_NPY_STREAM_MIB', [['', 64], ['0', 0], ['1.5', 1.5], [' 128 ', 128], ['1e6', 1e6]], ['64MiB', '-1', 'lots', 'Infinity', 'NaN', '0x40', '0b1', '1,5']],
    [queueGraceSeconds, 'BSTUNE_QUEUE_GRACE_SECONDS', [['', 30], ['1', 1], ['0.5', 0.5], ['.5', 0.5], ['+2', 2]], ['0', '-3', '30s', '0x1e']],
    [npyPrefetch, 'BSTUNE_NPY_PREFETCH', [['', true], ['0', false], ['1', true]], ['off', 'false', 'no', '2']],
    [hugePages, 'BSTUNE_HUGE_PAGES', [['', true], ['0', false], ['1', true]], ['off', 'true']],
  ] as const)('reads $1', (read, name, good, badValues) => {
    expect((read as (e: NodeJS.ProcessEnv) => unknown)({})).toEqual(good[0]![1]);
    for (const [v, want] of good) expect((read as (e: NodeJS.ProcessEnv) => unknown)({ [name]: v })).toEqual(want);
    for (const v of badValues) {
      const e = bstuneErrorFrom(() => checkEnv({ [name]: v }));
      expect(e.code).toBe('BSTUNE_USAGE');
      expect(e.exitCode).toBe(2);
      expect(e.line).toBe(`${e.message} (${name})`);
      expect(e.message).toMatch(new RegExp(`^invalid value ${JSON.stringify(v)}: expected `));
    }
  });

  it('leaves the internal variables alone (tests and benches set them)', () => {
    const internal = readmeVariables().internal;
    expect(internal.length).toBeGreaterThan(5);
    expect(() => checkEnv(Object.fromEntries(internal.map((name) => [name, 'whatever'])))).not.toThrow();
  });

  // The README's table and its list of internal variables: a variable src/ reads must be in one
  // of them, and a listed one must still be read by src/, the test helpers or a bench
  // (BSTUNE_DP_TRACE was passed here after nothing read it any more).
  it('the README names every variable src/ reads, and only variables something reads', () => {
    const { user, internal } = readmeVariables();
    const listed = [...user, ...internal];
    expect(user.filter((v) => internal.includes(v))).toEqual([]);
    expect(readVariables(['src']).filter((v) => !listed.includes(v))).toEqual([]);
    const read = readVariables(['src', 'test/helpers', 'bench']);
    expect(listed.filter((v) => !read.includes(v))).toEqual([]);
  });
});

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

/** The README's table (user variables) and its sentence listing the unchecked ones (internal). */
function readmeVariables(): { user: string[]; internal: string[] } {
  const readme = readFileSync(join(root, 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('## Environment variables'), readme.indexOf('## Reliability'));
  const user = [...section.matchAll(/^\| `(BSTUNE_[A-Z0-9_]+)` \|/gm)].map((m) => m[1]!);
  const sentence = section.slice(section.indexOf("Variables for bstune's own tests"));
  const internal = [...sentence.matchAll(/`(BSTUNE_[A-Z0-9_]+)`/g)].map((m) => m[1]!);
  return { user, internal };
}

/** BSTUNE_ variables the code under `dirs` reads: env.NAME, env?.NAME, or a name handed to one of src/env.ts's parsers. */
function readVariables(dirs: string[]): string[] {
  const names = new Set<string>();
  const walk = (dir: string): void => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (/\.(ts|mjs|js)$/.test(p)) {
        const text = readFileSync(p, 'utf8');
        for (const m of text.matchAll(/env\??\.(BSTUNE_[A-Z0-9_]+)/g)) names.add(m[1]!);
        for (const m of text.matchAll(/\(env, '(BSTUNE_[A-Z0-9_]+)'/g)) names.add(m[1]!);
      }
    }
  };
  for (const d of dirs) walk(join(root, d));
  return [...names].sort();
}
