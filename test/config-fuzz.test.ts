/**
 * Property: for any text, parseConfigText either returns a config the schema and the
 * semantic rules accept, or throws BSTUNE_CONFIG_INVALID with a one-line message.
 * Never another error, never a hang. Inputs are mutations of the shipped configs.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import { afterEach, beforeEach, describe, expect, it, vi, type MockInstance } from 'vitest';
import { parseConfigText } from '../src/config/load.js';
import { configSchema, type ParsedConfig } from '../src/config/schema.js';
import { semanticProblems } from '../src/config/rules.js';
import { BstuneError } from '../src/errors.js';
import { repoRoot } from './helpers/cli.js';

const NUM_RUNS = Number(process.env.BSTUNE_FUZZ_RUNS ?? 10_000);
// CPU time of this process, not wall time: other work on the machine must not fail the
// test, while a real hang or a quadratic blow-up still burns this process's CPU.
// process.cpuUsage also counts GC and compiler threads, which a busy machine stretches
// (2.0 s was exceeded once in a full run): the bound catches blow-ups (a minute), not speed.
const MAX_MS = 10_000;

const shipped = ['mnist-mlp.yaml', 'mnist-cnn.yaml'].map((f) => readFileSync(join(repoRoot, 'configs', f), 'utf8'));

// ---- pieces -------------------------------------------------------------------------------

/** Every key path of the shipped configs, plus typos and paths that do not exist. */
const knownPaths: string[][] = [
  ...new Set(shipped.flatMap((t) => leafPaths(parseYaml(t) as unknown)).map((p) => p.join('.'))),
  'model.filters', 'model.kernelSize', 'model.poolSize', 'model.dense', 'data.idxDir', 'data.trainLimit',
  'optimizer.momentum', 'optimizer.decay', 'optimizer.minLearningRate', 'optimizer.warmup.steps',
  'optimizer.warmup.startLearningRate', 'search.refineTrials', 'search.trialTimeout', 'sweep.repeats',
  'sweep.targetAccuracy', '$schema', 'colour', 'model.hiddn', 'optimizer.warmup.epoch', 'data', 'model', 'sweep.sizes.0',
].map((p) => p.split('.'));

function leafPaths(v: unknown, prefix: string[] = []): string[][] {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) return [prefix];
  return Object.entries(v).flatMap(([k, child]) => [prefix, ...leafPaths(child, [...prefix, k])]).filter((p) => p.length > 0);
}

const nastyString = fc.constantFrom(
  '', ' ', '12XB', '-1MiB', '512MiB', '1.5GB', '0', 'null', '~', 'yes', 'NaN', '.inf', '-.inf', '1e309', '0x10', '0o17',
  'a\nb', 'tab\there', '\u0000', '\u2028', '\uFEFF', '💥', 'mnist-full', 'cnn', 'mlp', 'cosine', 'sqrt', 'wasm', 'tpu',
);
const yamlValue: fc.Arbitrary<unknown> = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.integer({ min: -3, max: 1030 }),
    fc.integer(),
    fc.double(),
    fc.constantFrom(0, 1, 2, 0.5, 0.2, 1.5, -1, 2 ** 31, Number.MAX_SAFE_INTEGER + 2),
    fc.boolean(),
    fc.constant(null),
    nastyString,
    fc.string({ unit: 'binary', maxLength: 12 }),
    fc.array(tie('value'), { maxLength: 4 }),
    fc.array(fc.integer({ min: -2, max: 600 }), { maxLength: 5 }),
    fc.dictionary(fc.constantFrom('kind', 'epochs', 'steps', 'x', 'source', 'hidden'), tie('value'), { maxKeys: 3 }),
  ),
})).value;

/** Set (or add) a value at a key path of the parsed YAML and print it back. */
const structural = fc
  .tuple(fc.constantFrom(...shipped), fc.array(fc.tuple(fc.constantFrom(...knownPaths), yamlValue), { minLength: 1, maxLength: 3 }))
  .map(([text, edits]) => {
    const obj = parseYaml(text) as Record<string, unknown>;
    for (const [path, value] of edits) setPath(obj, path, value);
    return stringifyYaml(obj);
  });

function setPath(obj: Record<string, unknown>, path: string[], value: unknown): void {
  let cur: Record<string, unknown> = obj;
  for (const k of path.slice(0, -1)) {
    if (cur[k] === null || typeof cur[k] !== 'object') cur[k] = {};
    cur = cur[k] as Record<string, unknown>;
  }
  cur[path[path.length - 1]!] = value;
}

type Edit = (lines: string[]) => string[];
/** Edits index lines modulo the count; an edit that emptied the text leaves it empty. */
const guard = (e: Edit): Edit => (ls) => (ls.length === 0 ? ls : e(ls));
const lineIndex = fc.nat({ max: 40 });
const junk = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 8 }),
  fc.string({ unit: 'grapheme', maxLength: 8 }),
  fc.constantFrom('\t', ':', ': ', '- ', '[', ']', '{', '}', '&a', '*a', '!!js/function', '!foo', '<<: *a', '{a: 1}: ', '[x]: ', '"', "'", '#', '|', '>', '---', '...', '%YAML 1.1', '? ', '\r', '\u0000', '\uFEFF'),
  fc.uint8Array({ maxLength: 6 }).map((b) => Buffer.from(b).toString('latin1')),
);
const textEdit: fc.Arbitrary<Edit> = fc.oneof(
  lineIndex.map((i): Edit => (ls) => ls.filter((_, j) => j !== i % ls.length)),
  lineIndex.map((i): Edit => (ls) => [...ls.slice(0, (i % ls.length) + 1), ...ls.slice(i % ls.length)]),
  fc.tuple(lineIndex, lineIndex).map(([a, b]): Edit => (ls) => {
    const out = [...ls];
    const [x, y] = [a % ls.length, b % ls.length];
    [out[x], out[y]] = [out[y]!, out[x]!];
    return out;
  }),
  fc.tuple(lineIndex, fc.nat({ max: 60 }), junk).map(([i, col, s]): Edit => (ls) => {
    const out = [...ls];
    const k = i % ls.length;
    const line = out[k]!;
    const c = col % (line.length + 1);
    out[k] = line.slice(0, c) + s + line.slice(c);
    return out;
  }),
  // Replace the value of a `key: value` line with another YAML scalar or flow text.
  fc.tuple(lineIndex, fc.oneof(nastyString, fc.constantFrom('[1, 2]', '[16, 16]', '{}', '[]', '-5', '3.5', '0', 'true', '&x 1', '*x', '[[[['))).map(([i, v]): Edit => (ls) =>
    ls.map((l, j) => (j === i % ls.length ? l.replace(/:\s.*$/, `: ${v}`) : l))),
  fc.tuple(lineIndex, fc.integer({ min: -2, max: 3 })).map(([i, d]): Edit => (ls) =>
    ls.map((l, j) => (j === i % ls.length ? (d >= 0 ? ' '.repeat(d) + l : l.slice(-d)) : l))),
  fc.nat({ max: 2000 }).map((n): Edit => (ls) => ls.join('\n').slice(0, n).split('\n')),
);
const textual = fc
  .tuple(fc.constantFrom(...shipped), fc.array(textEdit, { minLength: 1, maxLength: 4 }))
  .map(([text, edits]) => edits.reduce((ls, e) => guard(e)(ls), text.split('\n')).join('\n'));

const anything = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 200 }),
  fc.uint8Array({ maxLength: 200 }).map((b) => Buffer.from(b).toString('latin1')),
);

const input = fc.oneof({ arbitrary: textual, weight: 5 }, { arbitrary: structural, weight: 4 }, { arbitrary: anything, weight: 1 });

// ---- the property -------------------------------------------------------------------------

type Outcome = 'valid' | 'invalid';
function check(text: string): Outcome {
  const started = process.cpuUsage();
  let result: unknown;
  let thrown: unknown;
  try {
    result = parseConfigText(text, '/fuzz/bstune.yaml');
  } catch (e) {
    thrown = e;
  }
  const used = process.cpuUsage(started);
  const ms = (used.user + used.system) / 1000;
  if (ms > MAX_MS) throw new Error(`parseConfigText took ${ms.toFixed(0)} ms of CPU`);
  if (thrown !== undefined) {
    if (!(thrown instanceof BstuneError)) throw new Error(`threw a non-BstuneError: ${String(thrown)}`, { cause: thrown });
    expect(thrown.code).toBe('BSTUNE_CONFIG_INVALID');
    expect(thrown.exitCode).toBe(2);
    expect(thrown.line).not.toMatch(/[\n\r\u2028\u2029\u0085]/);
    expect(thrown.line.length).toBeGreaterThan(0);
    return 'invalid';
  }
  const again = configSchema.safeParse(result);
  if (!again.success) throw new Error(`returned a config the schema refuses: ${again.error.message}`);
  expect(semanticProblems(again.data as ParsedConfig)).toEqual([]);
  const limit = (result as { device: { memoryLimit: unknown } }).device.memoryLimit;
  expect(limit === null || (Number.isSafeInteger(limit) && (limit as number) > 0)).toBe(true);
  return 'valid';
}

describe('parseConfigText on mutated configs', () => {
  // The CLI promises one stderr line; the loader must not print (yaml warns via process.emitWarning).
  let spies: MockInstance[] = [];
  beforeEach(() => {
    spies = [vi.spyOn(process, 'emitWarning'), vi.spyOn(console, 'warn'), vi.spyOn(console, 'error'), vi.spyOn(console, 'log')];
  });
  afterEach(() => {
    for (const spy of spies) {
      expect(spy.mock.calls.slice(0, 1)).toEqual([]);
      spy.mockRestore();
    }
  });

  it('the shipped configs are valid (the fuzz starts from good inputs)', () => {
    for (const t of shipped) expect(check(t)).toBe('valid');
  });

  it(`returns a valid config or throws one-line BSTUNE_CONFIG_INVALID (${NUM_RUNS} inputs)`, () => {
    const seen: Record<Outcome, number> = { valid: 0, invalid: 0 };
    fc.assert(
      fc.property(input, (text) => {
        seen[check(text)]++;
      }),
      { numRuns: NUM_RUNS },
    );
    // Both branches must be exercised, or the property says little.
    expect(seen.valid).toBeGreaterThan(NUM_RUNS / 100);
    expect(seen.invalid).toBeGreaterThan(NUM_RUNS / 10);
  }, 120_000);

  it.each([
    ['a billion-laughs bomb', ['a: &a [x, x, x, x, x, x, x, x, x]', ...Array.from({ length: 9 }, (_, i) => `${String.fromCharCode(98 + i)}: &${String.fromCharCode(98 + i)} [${Array(9).fill(`*${String.fromCharCode(97 + i)}`).join(', ')}]`)].join('\n')],
    ['10,000 nested lists', '['.repeat(10_000)],
    ['10,000 nested maps in a value', `name: ${'{a: '.repeat(10_000)}1${'}'.repeat(10_000)}`],
    // yaml's own duplicate-key check took a minute on this; load.ts checks in linear time.
    ['50,000 keys (just under the 1 MiB file cap)', Array.from({ length: 50_000 }, (_, i) => `k${i}: ${i}`).join('\n')],
    ['50,000 keys in one section', `search:\n${Array.from({ length: 50_000 }, (_, i) => `  k${i}: ${i}`).join('\n')}`],
    ['a list of 100,000 items', `sweep:\n  sizes: [${Array.from({ length: 100_000 }, (_, i) => i + 1).join(', ')}]`],
    ['a 1 MB string value', `name: "${'x'.repeat(1 << 20)}"`],
  ])('%s is refused or accepted quickly', (_name, text) => {
    check(text);
  });
});
