/** The environment variables a user may set: one parser each, a bad value a usage error, empty as unset. */
import { describe, expect, it } from 'vitest';
import { checkEnv, hugePages, npyPrefetch, npyStreamMiB, queueGraceSeconds } from '../src/env.js';
import { bstuneErrorFrom } from './helpers/thrown.js';

describe('user environment variables', () => {
  it.each([
    [npyStreamMiB, 'BSTUNE_NPY_STREAM_MIB', [['', 64], ['0', 0], ['1.5', 1.5], [' 128 ', 128], ['1e6', 1e6]], ['64MiB', '-1', 'lots', 'Infinity', 'NaN']],
    [queueGraceSeconds, 'BSTUNE_QUEUE_GRACE_SECONDS', [['', 30], ['1', 1], ['0.5', 0.5]], ['0', '-3', '30s']],
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
    expect(() => checkEnv({ BSTUNE_TEST_FAULT: 'whatever', BSTUNE_SIMD_KERNELS: 'x', BSTUNE_NPY_TRACE: 'yes', BSTUNE_DP_TRACE: '1' })).not.toThrow();
  });
});
