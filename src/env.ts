/**
 * The environment variables a user may set (each described in README), read through one
 * parser each. A value bstune cannot read is a usage error (one line, exit 2), never a silent
 * default: the CLI checks them all before any command runs (checkEnv), and every reader uses
 * the same parser, so a trial process reads what its parent accepted. Empty counts as unset.
 *
 * BSTUNE_CACHE_DIR takes any path and is read by data/cache-dir.ts. Not checked, because they
 * are for bstune's own tests, benches and processes, not users: BSTUNE_TEST_FAULT (fault
 * injection), BSTUNE_NPY_TRACE (a timing trace on stderr), BSTUNE_SIMD_KERNELS=0 (the JS
 * kernel fallbacks), BSTUNE_FUSE_CONV=0 (conv + bias + relu unfused) and BSTUNE_FUSE_POOL=0 (the max pool after
 * it keeps its stock gradient), BSTUNE_FUSE_POOLFWD=0 (that pool's forward not computed by the conv), BSTUNE_DIRECT_STEP=0 (every training step on tfjs's tape, read by train/direct/runner.ts), BSTUNE_WEBGPU_ADAPTER (set by the local pool
 * for a trial under --gpus, and checked where it is read), BSTUNE_LAVAPIPE_DIR (tests and CI).
 */
import { BstuneError } from './errors.js';

type Env = NodeJS.ProcessEnv;

/** The value, or undefined when unset or empty. */
function raw(env: Env, name: string): string | undefined {
  const v = env[name];
  return v === undefined || v.trim() === '' ? undefined : v;
}

const bad = (name: string, v: string, expected: string) =>
  new BstuneError('BSTUNE_USAGE', `invalid value ${JSON.stringify(v)}: expected ${expected}`, name);

/** A decimal number (Number() alone also reads 0x40, 0b1 and 0o7). */
const DECIMAL = /^\s*[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?\s*$/i;

function number(env: Env, name: string, fallback: number, ok: (n: number) => boolean, expected: string): number {
  const v = raw(env, name);
  if (v === undefined) return fallback;
  const n = Number(v);
  if (!DECIMAL.test(v) || !Number.isFinite(n) || !ok(n)) throw bad(name, v, expected);
  return n;
}

/** 0 or 1; only 0 changes anything, so every variable of this kind defaults to on. */
function onOff(env: Env, name: string, off: string): boolean {
  const v = raw(env, name);
  if (v === undefined) return true;
  if (v.trim() === '0') return false;
  if (v.trim() === '1') return true;
  throw bad(name, v, `0 (${off}) or 1`);
}

export const NPY_STREAM_DEFAULT_MIB = 64;

/** BSTUNE_NPY_STREAM_MIB: .npy inputs of at least this many MiB are read per batch (0: all of them). */
export const npyStreamMiB = (env: Env = process.env) =>
  number(env, 'BSTUNE_NPY_STREAM_MIB', NPY_STREAM_DEFAULT_MIB, (n) => n >= 0, 'a number of MiB, 0 or more (0: stream every .npy input)');

/** BSTUNE_NPY_PREFETCH: the reader thread that reads the next batch of a streamed .npy input. */
export const npyPrefetch = (env: Env = process.env) => onOff(env, 'BSTUNE_NPY_PREFETCH', 'no reader thread');

/** BSTUNE_HUGE_PAGES: trial processes ask glibc for transparent huge pages. */
export const hugePages = (env: Env = process.env) => onOff(env, 'BSTUNE_HUGE_PAGES', 'plain pages');

/** BSTUNE_QUEUE_GRACE_SECONDS: how long a coordinator waits for a lost Redis. */
export const queueGraceSeconds = (env: Env = process.env) =>
  number(env, 'BSTUNE_QUEUE_GRACE_SECONDS', 30, (n) => n > 0, 'a number of seconds above 0');

/** Every user-facing variable, read once: throws the usage error of the first bad one. */
export function checkEnv(env: Env = process.env): void {
  npyStreamMiB(env);
  npyPrefetch(env);
  hugePages(env);
  queueGraceSeconds(env);
}
