/**
 * Every input a user can get wrong, end to end through the bin: exit 2, exactly one stderr
 * line `bstune: error: <what> (<where>)` naming the key/flag/file, no stack trace, empty
 * stdout, and no file left behind in the working directory.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repoRoot, runCli, tmpDir, writeFiles } from './helpers/cli.js';
import { encodeNpy } from '../src/data/npy.js';

interface Case {
  name: string;
  /** Files written in the case's own folder (its cwd). */
  files?: Record<string, string | Buffer>;
  /** `@/` at the start of a word is replaced by the case folder. */
  args: string[];
  /** What the one stderr line must name: the key, flag or file, with the location. */
  names: RegExp;
  /** Why the case cannot run here, or false. */
  skip?: () => string | false;
  /** Cases that start a trial process (model errors surface there) get longer on a busy machine. */
  timeoutMs?: number;
  /** Done before the run, e.g. chmod. */
  setup?: (dir: string) => void;
  /** Extra environment for the run. */
  env?: Record<string, string>;
}

const F = 'bad.yaml';
/** One results-file line of a given config hash (enough of a trial record for a report). */
const rec = (hash: string, batchSize: number) => `${JSON.stringify({ batchSize, outcome: 'ok', seed: 42, peakMemoryBytes: 1000, history: [], configHash: hash })}\n`;
/** The file's location in the line: `bad.yaml:LINE:COL)` at the end. */
const at = (line: number, col: number) => new RegExp(`/${F.replace('.', '\\.')}:${line}:${col}\\)$`);
const both = (what: RegExp, where: RegExp) => new RegExp(`${what.source}.*${where.source}`);

/** A config case, through `config check FILE --json` or `find-max --config FILE --json` (fails at load, before any training). */
function cfg(name: string, yaml: string | Buffer, names: RegExp, via: 'check' | 'find-max' = 'check'): Case {
  const args = via === 'check' ? ['config', 'check', `@/${F}`, '--json'] : ['find-max', '--config', `@/${F}`, '--json'];
  return { name: `${name} [${via}]`, files: { [F]: yaml }, args, names };
}
function flag(name: string, args: string[], names: RegExp): Case {
  return { name, args: [...args, '--json'], names };
}

/** A big-endian IDX header: magic, then the sizes. */
function idxHeader(...vals: number[]): Buffer {
  const b = Buffer.alloc(vals.length * 4);
  vals.forEach((v, i) => b.writeUInt32BE(v, i * 4));
  return b;
}

/** Four IDX files with `n` training and `m` test samples; `edit` breaks one of them. */
function idxSet(n: number, m: number, edit: (files: Record<string, Buffer>) => void): Record<string, Buffer> {
  const files: Record<string, Buffer> = {
    'mnist/train-images-idx3-ubyte': Buffer.concat([idxHeader(2051, n, 28, 28), Buffer.alloc(n * 784, 7)]),
    'mnist/train-labels-idx1-ubyte': Buffer.concat([idxHeader(2049, n), Buffer.from(Array.from({ length: n }, (_, i) => i % 10))]),
    'mnist/t10k-images-idx3-ubyte': Buffer.concat([idxHeader(2051, m, 28, 28), Buffer.alloc(m * 784, 7)]),
    'mnist/t10k-labels-idx1-ubyte': Buffer.concat([idxHeader(2049, m), Buffer.from(Array.from({ length: m }, (_, i) => i % 10))]),
  };
  edit(files);
  return files;
}

function idxCases(): Case[] {
  const run = ['train', '--data-dir', '@/mnist', '--epochs', '1', '--json'];
  const images = 'mnist/train-images-idx3-ubyte';
  const labels = 'mnist/train-labels-idx1-ubyte';
  return [
    { name: 'IDX images file truncated', files: idxSet(40, 10, (f) => { f[images] = f[images]!.subarray(0, 16 + 39 * 784 + 100); }), args: run, names: /train-images-idx3-ubyte/ },
    { name: 'IDX images file with the labels magic', files: idxSet(40, 10, (f) => { f[images]!.writeUInt32BE(2049, 0); }), args: run, names: /train-images-idx3-ubyte/ },
    { name: 'IDX labels that do not match the images count', files: idxSet(40, 10, (f) => { f[labels] = Buffer.concat([idxHeader(2049, 39), Buffer.alloc(39)]); }), args: run, names: /train-(labels|images)-idx[13]-ubyte/ },
    { name: 'IDX label above 9', files: idxSet(40, 10, (f) => { f[labels]![8 + 5] = 12; }), args: run, names: /train-labels-idx1-ubyte/ },
    { name: 'IDX file that claims gzip but is corrupt', files: idxSet(40, 10, (f) => { f[`${images}.gz`] = Buffer.from([0x1f, 0x8b, 8, 0, 1, 2, 3]); delete f[images]; }), args: run, names: /train-images-idx3-ubyte\.gz/ },
  ];
}

/** A .npy file from a header dict and a body, written the way numpy.save lays it out. */
function npyRaw(header: string, body: Buffer): Buffer {
  let h = header;
  h += ' '.repeat((64 - ((10 + h.length + 1) % 64)) % 64) + '\n';
  const head = Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0, 0, 0]);
  head.writeUInt16LE(h.length, 8);
  return Buffer.concat([head, Buffer.from(h, 'latin1'), body]);
}

/** Your own data and model (issue 13): .npy files, model.json files and modules that are wrong in one way each. */
function ownModelAndDataCases(): Case[] {
  const run = (yaml = 'bad.yaml') => ['train', '--config', `@/${yaml}`, '--epochs', '1', '-b', '8', '--json'];
  const npyCfg = 'data: {x: x.npy, y: y.npy}\nmodel: {kind: mlp, hidden: [4]}\n';
  const x = (n: number) => encodeNpy(new Float32Array(n * 4).fill(0.5), [n, 4]);
  const y = (n: number, max = 2) => encodeNpy(new BigInt64Array(n).map((_, i) => BigInt(i % (max + 1))), [n]);
  const npy = (name: string, files: Record<string, Buffer>, names: RegExp): Case => ({ name, files: { [F]: npyCfg, 'x.npy': x(40), 'y.npy': y(40), ...files }, args: run(), names });
  const example = join(repoRoot, 'configs', 'examples', 'cnn-model');
  const modelJson = readFileSync(join(example, 'model.json'), 'utf8');
  const shard = readFileSync(join(example, 'group1-shard1of1.bin'));
  const digits = (n: number, max: number) => ({ 'x.npy': encodeNpy(new Uint8Array(n * 784), [n, 28, 28]), 'y.npy': y(n, max) });
  const fileModel = (name: string, files: Record<string, string | Buffer>, names: RegExp): Case => ({
    name, timeoutMs: 200_000, files: { [F]: 'data: {x: x.npy, y: y.npy}\nmodel: {path: m/model.json}\n', ...digits(40, 9), ...files }, args: run(), names,
  });
  const moduleModel = (name: string, code: string, names: RegExp): Case => ({
    name, timeoutMs: 200_000, files: { [F]: 'data: {x: x.npy, y: y.npy}\nmodel: {module: model.mjs}\n', 'x.npy': x(40), 'y.npy': y(40), 'model.mjs': code }, args: run(), names,
  });
  return [
    npy('.npy with a bad header', { 'x.npy': npyRaw("{'descr': '<f4', 'fortran_order': False, 'shape': (40, 4}", Buffer.alloc(640)) }, both(/bad \.npy header/, /\/x\.npy\)$/)),
    npy('.npy that is not numpy at all', { 'x.npy': Buffer.from('a,b,c\n1,2,3\n') }, both(/not a \.npy file/, /\/x\.npy\)$/)),
    npy('.npy with an unsupported dtype (complex64)', { 'x.npy': npyRaw("{'descr': '<c8', 'fortran_order': False, 'shape': (40, 4), }", Buffer.alloc(40 * 4 * 8)) }, both(/unsupported \.npy dtype '<c8'/, /\/x\.npy\)$/)),
    npy('.npy in Fortran order', { 'x.npy': npyRaw("{'descr': '<f4', 'fortran_order': True, 'shape': (40, 4), }", Buffer.alloc(640)) }, both(/Fortran/, /\/x\.npy\)$/)),
    npy('.npy with truncated data', { 'x.npy': x(40).subarray(0, x(40).length - 5) }, both(/truncated/, /\/x\.npy\)$/)),
    // The same files read per batch from disk, as large ones are (BSTUNE_NPY_STREAM_MIB=0: every input file).
    { ...npy('.npy with truncated data, read per batch', { 'x.npy': x(40).subarray(0, x(40).length - 5) }, both(/truncated/, /\/x\.npy\)$/)), env: { BSTUNE_NPY_STREAM_MIB: '0' } },
    npy('.npy inputs holding NaN', { 'x.npy': encodeNpy(new Float32Array(160).fill(0.5).fill(NaN, 90, 91), [40, 4]) }, both(/input value NaN in sample 22/, /\/x\.npy\)$/)),
    { ...npy('.npy inputs holding NaN, read per batch', { 'x.npy': encodeNpy(new Float32Array(160).fill(0.5).fill(NaN, 90, 91), [40, 4]) }, both(/input value NaN in sample 22/, /\/x\.npy\)$/)), env: { BSTUNE_NPY_STREAM_MIB: '0' } },
    { ...npy('float64 .npy inputs beyond float32, read per batch', { 'x.npy': encodeNpy(new Float64Array(160).fill(1e39, 5, 6), [40, 4]) }, both(/input value 1e\+39 in sample 1 \(inputs must be finite numbers within float32 range/, /\/x\.npy\)$/)), env: { BSTUNE_NPY_STREAM_MIB: '0' } },
    npy('x and y with different sample counts', { 'y.npy': y(39) }, both(/x has 40 samples .* but y has 39/, /\/x\.npy\)$/)),
    npy('empty .npy data', { 'x.npy': encodeNpy(new Float32Array(0), [0, 4]), 'y.npy': encodeNpy(new BigInt64Array(0), [0]) }, both(/no samples/, /\.npy\)$/)),
    npy('a negative label', { 'y.npy': encodeNpy(new BigInt64Array(40).fill(-1n), [40]) }, both(/label -1 at index 0 is out of range/, /\/y\.npy\)$/)),
    { name: 'a missing .npy file', files: { [F]: npyCfg, 'y.npy': y(40) }, args: run(), names: both(/not found/, /\/x\.npy\)$/) },
    fileModel('labels beyond the model.json outputs', { 'm/model.json': modelJson, 'm/group1-shard1of1.bin': shard, ...digits(40, 12) }, both(/labels are out of range: they go up to 12 .* outputs 10 values per sample \(.*\/m\/model\.json\)/, /\/y\.npy\)$/)),
    fileModel('samples the model.json cannot take', { 'm/model.json': modelJson, 'm/group1-shard1of1.bin': shard, 'x.npy': encodeNpy(new Uint8Array(40 * 100), [40, 10, 10]) }, both(/samples have shape \[10, 10\] but the model takes \[28, 28, 1\]/, /\/x\.npy\)$/)),
    fileModel('model.json that is a graph model', { 'm/model.json': JSON.stringify({ format: 'graph-model', modelTopology: { node: [], library: {} }, weightsManifest: [] }) }, both(/graph model/, /\/m\/model\.json\)$/)),
    fileModel('model.json with a missing weight shard', { 'm/model.json': modelJson }, both(/weight shard group1-shard1of1\.bin named in model\.json is missing/, /\/m\/group1-shard1of1\.bin\)$/)),
    fileModel('model.json with a truncated weight shard', { 'm/model.json': modelJson, 'm/group1-shard1of1.bin': shard.subarray(0, 1000) }, both(/weight shards hold 1,000 bytes/, /group1-shard1of1\.bin\)$/)),
    fileModel('model.json that is corrupt JSON', { 'm/model.json': modelJson.slice(0, 200) }, both(/not valid JSON/, /\/m\/model\.json\)$/)),
    fileModel('a model.json that does not exist', {}, both(/model file not found/, /\/m\/model\.json\)$/)),
    fileModel('Keras 3 model.json with a mixed-precision layer', { 'm/model.json': modelJson.replace('"name": "conv2d_1", "trainable": true, "dtype": {"module": "keras", "class_name": "DTypePolicy", "config": {"name": "float32"}', '"name": "conv2d_1", "trainable": true, "dtype": {"module": "keras", "class_name": "DTypePolicy", "config": {"name": "mixed_float16"}'), 'm/group1-shard1of1.bin': shard }, both(/layer "conv2d_1" uses the Keras dtype policy "mixed_float16"/, /\/m\/model\.json\)$/)),
    fileModel('Keras 3 model.json whose weights do not fit its layers', { 'm/model.json': modelJson.replace('"sequential/dense/kernel", "shape": [400, 10]', '"sequential/dense/kernel", "shape": [10, 400]'), 'm/group1-shard1of1.bin': shard }, both(/weights do not fit its layers: model\.json weight sequential\/dense\/kernel has shape \[10, 400\] but the model's dense\/kernel is \[400, 10\]/, /\/m\/model\.json\)$/)),
    moduleModel('module without createModel', 'export function makeModel() {}\n', both(/does not export a function createModel\(\) \(it exports: makeModel\)/, /\/model\.mjs\)$/)),
    moduleModel('createModel that throws', 'export function createModel() { throw new Error("no GPU here"); }\n', both(/createModel\(\) threw: no GPU here/, /\/model\.mjs\)$/)),
    moduleModel('createModel returning a non-model', 'export function createModel(tf) { return { layers: [] }; }\n', both(/must return a tf\.LayersModel.*got an object/, /\/model\.mjs\)$/)),
    moduleModel('model module with a syntax error', 'export function createModel( {\n', both(/cannot import the model module/, /\/model\.mjs\)$/)),
    { name: 'data module without loadData', files: { [F]: 'data: {module: data.mjs}\n', 'data.mjs': 'export const x = 1;\n' }, args: run(), names: both(/does not export a function loadData\(\)/, /\/data\.mjs\)$/) },
    { name: 'IDX folder without training files', files: { [F]: 'data: {idxDir: idx}\n', 'idx/readme.txt': 'empty' }, args: run(), names: both(/no train-images-idx3-ubyte and train-labels-idx1-ubyte/, /\/idx\)$/) },
  ];
}

function billionLaughs(): string {
  const lines = ['a: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]'];
  for (let i = 1; i < 10; i++) {
    const prev = String.fromCharCode(96 + i);
    const cur = String.fromCharCode(97 + i);
    lines.push(`${cur}: &${cur} [${Array(9).fill(`*${prev}`).join(', ')}]`);
  }
  return `${lines.join('\n')}\n`;
}

/** Root can read a chmod 000 file (CI runs as root); the case only means something when it cannot. */
function rootReadsAnyway(): string | false {
  const dir = tmpDir('bstune-perm-');
  const probe = join(dir, 'probe');
  writeFileSync(probe, 'x');
  chmodSync(probe, 0o000);
  let readable = false;
  try {
    readFileSync(probe);
    readable = true;
  } catch {
    readable = false;
  }
  rmSync(dir, { recursive: true, force: true });
  return readable ? 'this user (root?) can read a chmod 000 file' : false;
}

const cases: Case[] = [
  // Keys
  cfg('unknown top-level key', 'name: x\ncolour: red\n', both(/unknown key "colour"/, at(2, 1))),
  cfg('unknown top-level key', 'colour: red\n', both(/unknown key "colour"/, at(1, 1)), 'find-max'),
  cfg('unknown nested key', 'model:\n  kind: mlp\n  hiddn: [10]\n', both(/unknown key "model\.hiddn"/, at(3, 3))),
  cfg('unknown deeply nested key', 'optimizer:\n  warmup:\n    epoch: 1\n', both(/unknown key "optimizer\.warmup\.epoch"/, at(3, 5)), 'find-max'),
  cfg('key with a newline in it', '"a\\nb": 1\n', both(/unknown key "a\\nb"/, at(1, 1))),
  // Types and ranges
  cfg('wrong type (string for int)', 'training:\n  epochs: five\n', both(/training\.epochs/, at(2, 11))),
  cfg('wrong type (null for a section)', 'data: null\n', both(/\bdata\b/, at(1, 7))),
  cfg('wrong type (list for a section)', 'search: [1, 2]\n', both(/\bsearch\b/, at(1, 9)), 'find-max'),
  cfg('negative size in sweep.sizes', 'sweep:\n  sizes: [16, -32]\n', both(/sweep\.sizes\.1/, at(2, 15))),
  cfg('zero search.start', 'search:\n  start: 0\n', both(/search\.start/, at(2, 10)), 'find-max'),
  cfg('zero data.trainLimit', 'data:\n  trainLimit: 0\n', both(/data\.trainLimit/, at(2, 15))),
  cfg('float where int expected (epochs)', 'training:\n  epochs: 2.5\n', both(/training\.epochs/, at(2, 11))),
  cfg('float where int expected (baseBatchSize)', 'optimizer:\n  baseBatchSize: 32.5\n', both(/optimizer\.baseBatchSize/, at(2, 18)), 'find-max'),
  cfg('duplicate sizes in the file', 'sweep:\n  sizes: [16, 32, 16]\n', both(/sweep\.sizes lists 16 twice/, at(2, 19))),
  cfg('memoryLimit with an unknown unit', 'device:\n  memoryLimit: 12XB\n', both(/device\.memoryLimit.*12XB/, at(2, 16)), 'find-max'),
  cfg('memoryLimit negative number', 'device:\n  memoryLimit: -5\n', both(/device\.memoryLimit/, at(2, 16))),
  cfg('memoryLimit empty string', 'device:\n  memoryLimit: ""\n', both(/device\.memoryLimit/, at(2, 16))),
  cfg('memoryLimit 64 without a unit (64 bytes)', 'device:\n  memoryLimit: 64\n', both(/device\.memoryLimit.*64 bytes.*64MiB/, at(2, 16)), 'find-max'),
  cfg('memoryLimit "512" without a unit', 'device:\n  memoryLimit: "512"\n', both(/device\.memoryLimit.*512MiB/, at(2, 16))),
  cfg('min larger than start', 'search:\n  start: 64\n  min: 128\n', both(/search\.min/, at(3, 8)), 'find-max'),
  cfg('validationSplit 0', 'data:\n  validationSplit: 0\n', both(/data\.validationSplit/, at(2, 20))),
  cfg('validationSplit 20 (a percentage)', 'data:\n  validationSplit: 20\n', both(/data\.validationSplit: must be < 1, got 20: 0\.2 for 20%/, at(2, 20))),
  cfg('targetAccuracy 95 (a percentage)', 'sweep:\n  targetAccuracy: 95\n', both(/sweep\.targetAccuracy: must be <= 1, got 95: 0\.95 for 95%/, at(2, 19)), 'find-max'),
  cfg('validationSplit 1', 'data:\n  validationSplit: 1\n', both(/data\.validationSplit/, at(2, 20)), 'find-max'),
  cfg('stepsPerTrial 1', 'search:\n  stepsPerTrial: 1\n', both(/search\.stepsPerTrial/, at(2, 18))),
  cfg('unknown backend in the file', 'device:\n  backend: tpu\n', both(/device\.backend/, at(2, 12)), 'find-max'),
  cfg('unknown optimizer', 'optimizer:\n  name: adamw\n', both(/optimizer\.name/, at(2, 9))),
  cfg('unknown model kind', 'model:\n  kind: rnn\n', both(/model\.kind/, at(2, 9))),
  cfg('warmup with both epochs and steps', 'optimizer:\n  warmup:\n    epochs: 1\n    steps: 10\n', both(/optimizer\.warmup/, at(3, 5))),
  cfg('data.idxDir with source embedded', 'data:\n  source: embedded\n  idxDir: /tmp\n', both(/data\.idxDir/, at(3, 11)), 'find-max'),
  cfg('CNN kernelSize that leaves no pixels', 'model:\n  kind: cnn\n  kernelSize: 30\n', both(/model\.kernelSize/, at(3, 15)), 'find-max'),
  cfg('CNN poolSize that leaves no pixels', 'model:\n  kind: cnn\n  filters: [8]\n  poolSize: 40\n', both(/model\.poolSize/, at(4, 13))),
  // The shape of the file
  cfg('empty file', '', /empty.*\/bad\.yaml\)$/),
  cfg('whitespace-only file', '   \n\n  \n', /empty.*\/bad\.yaml\)$/, 'find-max'),
  cfg('comment-only file', '# nothing here\n# at all\n', /empty.*\/bad\.yaml\)$/),
  cfg('a YAML list as the root', '- 16\n- 32\n', both(/mapping/, at(1, 1))),
  cfg('a YAML scalar as the root', 'just a string\n', both(/mapping/, at(1, 1)), 'find-max'),
  cfg('YAML syntax error (unclosed flow list)', 'name: x\nsweep:\n  sizes: [16, 32\n', both(/YAML syntax error/, /\/bad\.yaml:\d+:\d+\)$/)),
  cfg('YAML syntax error (unclosed quote)', 'name: "abc\ntraining: {}\n', both(/YAML syntax error/, /\/bad\.yaml:\d+:\d+\)$/), 'find-max'),
  cfg('duplicate keys', 'name: a\nname: b\n', both(/unique/, at(2, 1))),
  cfg('a mapping used as a key', 'training:\n  { seed: 42 }: 1\n', both(/key/, at(2, 3)), 'find-max'),
  cfg('duplicate keys deep inside', 'optimizer:\n  warmup:\n    epochs: 1\n    epochs: 2\n', both(/duplicate key "epochs"/, at(4, 5))),
  cfg('tab indentation', 'data:\n\tsource: embedded\n', both(/[Tt]ab/, at(2, 1))),
  cfg('non-UTF-8 bytes', Buffer.from([0x6e, 0x61, 0x6d, 0x65, 0x3a, 0x20, 0xff, 0xfe, 0x0a]), /UTF-8.*\/bad\.yaml\)$/),
  cfg('a 50 MB config', Buffer.alloc(50 * 1024 * 1024, 'name: x\n'), /bytes.*\/bad\.yaml\)$/, 'find-max'),
  cfg('10,000 levels of [', `${'['.repeat(10_000)}\n`, both(/nested too deeply|YAML/, /\/bad\.yaml(:\d+:\d+)?\)$/)),
  cfg('10,000 levels of { in a value', `name: ${'{a: '.repeat(10_000)}1${'}'.repeat(10_000)}\n`, /\/bad\.yaml(:\d+:\d+)?\)$/, 'find-max'),
  cfg('billion laughs alias bomb', billionLaughs(), /alias.*\/bad\.yaml\)$/),
  cfg('custom tag !!js/function', 'name: !!js/function "function () { return 1 }"\n', both(/!!js\/function/, at(1, 7)), 'find-max'),
  cfg('custom local tag !foo', 'name: !foo bar\n', both(/!foo/, at(1, 7))),
  // Files
  { name: 'a directory as the config', files: { 'conf.d/x': '' }, args: ['config', 'check', '@/conf.d', '--json'], names: /directory.*\/conf\.d\)$/ },
  { name: 'a missing config file', args: ['find-max', '--config', '@/missing.yaml', '--json'], names: /not found.*\/missing\.yaml\)$/ },
  // A near miss is named: the other extension, or a packaged config by its file name.
  { name: 'a config .yml where the file is .yaml', args: ['train', '-c', 'configs/mnist-cnn.yml', '--json'], names: both(/config file not found; did you mean configs\/mnist-cnn\.yaml\?/, /\/configs\/mnist-cnn\.yml\)$/) },
  { name: 'a packaged config by its file name', args: ['config', 'check', 'mnist-cnn.yaml', '--json'], names: both(/config file not found; did you mean configs\/mnist-cnn\.yaml\?/, /\/mnist-cnn\.yaml\)$/) },
  {
    name: 'an unreadable config file (chmod 000)', files: { [F]: 'name: x\n' }, args: ['config', 'check', `@/${F}`, '--json'],
    names: /EACCES.*\/bad\.yaml\)$/, setup: (dir) => chmodSync(join(dir, F), 0o000), skip: rootReadsAnyway,
  },
  // The other command's results file: the config diff listed every key ("training.epochs: 1 → unset; …"), not why.
  {
    name: 'find-max --resume with a sweep results file', files: { 'r.jsonl': `${JSON.stringify({ batchSize: 16, outcome: 'ok', seed: 42, configHash: 'aaaa1111', hashedConfig: { data: {}, training: { epochs: 1 } } })}\n` },
    args: ['find-max', '--resume', '@/r.jsonl', '--train-limit', '100', '--json'], names: both(/results file was written by bstune sweep, not find-max/, /\/r\.jsonl:1\)$/),
  },
  {
    name: 'sweep --resume with a find-max results file', files: { 'r.jsonl': `${JSON.stringify({ batchSize: 16, outcome: 'ok', seed: 42, configHash: 'aaaa1111', hashedConfig: { command: 'find-max', data: {} } })}\n` },
    args: ['sweep', '--resume', '@/r.jsonl', '--sizes', '16', '--train-limit', '100', '--json'], names: both(/results file was written by bstune find-max, not sweep/, /\/r\.jsonl:1\)$/),
  },
  { name: '--out naming a named pipe (its open would block)', setup: (dir) => { execFileSync('mkfifo', [join(dir, 'fifo')]); }, args: ['sweep', '--out', '@/fifo', '--sizes', '16', '--train-limit', '100', '--json'], names: both(/results file is neither a file nor a device/, /\/fifo\)$/) },
  { name: '--resume file that does not exist', args: ['sweep', '--resume', '@/gone.jsonl', '--sizes', '16', '--train-limit', '100', '--json'], names: /gone\.jsonl\)$/ },
  { name: '--data-dir pointing at a missing folder', args: ['find-max', '--data-dir', '@/no-such-dir', '--json'], names: /\/no-such-dir\)$/ },
  // Data files: small, broken IDX sets in the case's folder, read through --data-dir.
  ...idxCases(),
  ...ownModelAndDataCases(),
  // Flags
  flag('--sizes 16,abc', ['sweep', '--sizes', '16,abc'], both(/abc/, /\(--sizes\)$/)),
  flag("--sizes ''", ['sweep', '--sizes', ''], /\(--sizes\)$/),
  flag('--sizes 16,,32', ['sweep', '--sizes', '16,,32'], /\(--sizes\)$/),
  flag('duplicate sizes in the flag', ['sweep', '--sizes', '16,32,16'], both(/16/, /\(--sizes\)$/)),
  flag('--memory-limit 12XB', ['find-max', '--memory-limit', '12XB'], both(/12XB/, /\(--memory-limit\)$/)),
  flag('--memory-limit -1MiB', ['find-max', '--memory-limit', '-1MiB'], both(/-1MiB/, /\(--memory-limit\)$/)),
  flag('find-max --epochs (it trains steps)', ['find-max', '--epochs', '3'], both(/use --steps N/, /\(--epochs\)$/)),
  flag('recommend --epochs (it trains steps; once silently ignored)', ['recommend', '--epochs', '3'], both(/use --probe-steps N/, /\(--epochs\)$/)),
  flag('sweep --sizes with spaces', ['sweep', '--sizes', '16', '32', '64'], both(/comma-separated list: --sizes 16,32,64/, /\(--sizes\)$/)),
  flag('--memory-limit 64 without a unit (64 bytes)', ['find-max', '--memory-limit', '64'], both(/64 bytes.*64MiB/, /\(--memory-limit\)$/)),
  flag('unknown backend in the flag', ['find-max', '--backend', 'tpu'], both(/tpu/, /\(--backend\)$/)),
  cfg('training.accumulate 0', 'training:\n  accumulate: 0\n', both(/training\.accumulate/, at(2, 15))),
  cfg('training.accumulate 1.5', 'training:\n  accumulate: 1.5\n', both(/training\.accumulate/, at(2, 15)), 'find-max'),
  flag('--accumulate 0', ['train', '--accumulate', '0'], /\(--accumulate\)$/),
  flag('--accumulate two', ['sweep', '--accumulate', 'two'], /\(--accumulate\)$/),
  flag('--threads 0', ['train', '--threads', '0'], /\(--threads\)$/),
  flag('--threads -1', ['sweep', '--threads', '-1'], /\(--threads\)$/),
  flag('--threads abc', ['find-max', '--threads', 'abc'], /\(--threads\)$/),
  flag('--threads more than the cores', ['train', '--threads', '4096'], both(/4096 training threads asked for, but this process may use \d+ cores?/, /\(--threads\)$/)),
  cfg('training.threads 0', 'training:\n  threads: 0\n', both(/training\.threads/, at(2, 12))),
  cfg('training.threads more than the cores', 'training:\n  threads: 4096\n', both(/4096 training threads/, /\(training\.threads\)$/), 'find-max'),
  flag('--target-batch 0', ['find-max', '--target-batch', '0'], /\(--target-batch\)$/),
  flag('train effective batch (micro × accumulate) larger than the training set', ['train', '--train-limit', '100', '--batch-size', '32', '--accumulate', '4'], both(/32 × 4/, /\(--batch-size\)$/)),
  flag('--device-memory 16XB', ['find-max', '--device-memory', '16XB'], both(/16XB/, /\(--device-memory\)$/)),
  flag('--device-memory 0', ['find-max', '--device-memory', '0'], /\(--device-memory\)$/),
  flag('unknown option', ['find-max', '--bogus'], /\(--bogus\)$/),
  // Commander takes the next word as a file flag's value even when it is an option: `--html --json` once wrote a page named "--json".
  flag('find-max --config with an option for its value', ['find-max', '--config', '--json'], both(/needs a value, got the option --json/, /\(--config\)$/)),
  flag('find-max --resume with an option for its value', ['find-max', '--resume', '--json'], both(/needs a value, got the option --json/, /\(--resume\)$/)),
  flag('sweep --out with an option for its value', ['sweep', '--out', '--json'], both(/needs a value, got the option --json/, /\(--out\)$/)),
  { name: 'report --html with an option for its value', files: { 'r.jsonl': rec('aaaa1111', 16) }, args: ['report', '@/r.jsonl', '--html', '--json'], names: both(/needs a value, got the option --json/, /\(--html\)$/) },
  { name: 'report --csv - (stdout is not supported; it wrote a file named -)', files: { 'r.jsonl': rec('aaaa1111', 16) }, args: ['report', '@/r.jsonl', '--csv', '-', '--json'], names: both(/"-" \(stdout\) is not supported here/, /\(--csv\)$/) },
  { name: 'report --csv with an option for its value', files: { 'r.jsonl': rec('aaaa1111', 16) }, args: ['report', '@/r.jsonl', '--csv', '--json'], names: both(/needs a value, got the option --json/, /\(--csv\)$/) },
  flag('misspelt option gets a suggestion', ['train', '--epoch', '2'], both(/--epochs/, /\(--epoch\)$/)),
  flag('unknown command', ['frobnicate'], /\(frobnicate\)$/),
  // doctor took -c and ignored it, even a file that is not there.
  flag('doctor --config', ['doctor', '-c', 'missing.yaml'], both(/doctor checks this machine .* leave out --config/, /\(-c\)$/)),
  // Habits from other tools: options before the command, `version` as a command, -v for the version.
  { name: 'an option before the command', args: ['--json', '-c', 'x.yaml', 'find-max', '--steps', '3'], names: both(/options go after the command: bstune find-max --json -c x\.yaml --steps 3/, /\(--json\)$/) },
  flag('version as a command', ['version'], both(/the version is bstune --version/, /\(version\)$/)),
  { name: '-v alone', args: ['-v'], names: both(/the version is bstune --version \(-v is --verbose, an option of each command\)/, /\(-v\)$/) },
  flag('help for an unknown command', ['help', 'sweeep'], both(/unknown command; did you mean sweep\?/, /\(sweeep\)$/)),
  flag('a positional file where --config is needed', ['find-max', 'my.yaml'], both(/--config/, /\(find-max\)$/)),
  { name: 'missing option argument (--epochs at the end)', args: ['find-max', '--json', '--epochs'], names: /\(--epochs\)$/ },
  // A whole number >= 0 that is too large was told it must be "a whole number >= 0".
  flag('--seed above 2^32 - 1', ['train', '--seed', '99999999999'], both(/seed must be at most 4294967295/, /\(--seed\)$/)),
  // The config and the flag agree: 2^32 would split and shuffle as seed 0 (src/seed.ts); the file took up to 2^53 - 1, the flag up to 2^31 - 1.
  flag('--seed 2^32', ['sweep', '--seed', '4294967296'], both(/seed must be at most 4294967295/, /\(--seed\)$/)),
  flag('--repeats past the largest seed', ['sweep', '--seed', '4294967295', '--repeats', '2'], both(/sweep\.repeats 2 from training\.seed 4294967295 runs seeds up to 4294967296, above 4294967295/, /\(--repeats\)$/)),
  flag('recommend from the largest seed (its second rate probe would run seed 2^32)', ['recommend', '--seed', '4294967295'], both(/2 seeds per rule from training\.seed 4294967295 run seeds up to 4294967296, above 4294967295/, /\(training\.seed\)$/)),
  cfg('training.seed 2^32', 'training:\n  seed: 4294967296\n', both(/training\.seed.*4294967295/, at(2, 9)), 'find-max'),
  flag('--sizes with a size above 2^31 - 1', ['sweep', '--sizes', '16,99999999999'], both(/99999999999 is too large: at most 2147483647/, /\(--sizes\)$/)),
  // A percentage where a fraction is meant, and a space after a comma: the line says what to type.
  flag('--target-accuracy 90 (a percentage)', ['sweep', '--target-accuracy', '90'], both(/expected an accuracy in \(0, 1\]: 0\.9 for 90%/, /\(--target-accuracy\)$/)),
  flag('--margin 10%', ['find-max', '--margin', '10%'], both(/expected a fraction in \[0, 1\): 0\.1 for 10%/, /\(--margin\)$/)),
  flag('--sizes 16, 32 (a space after the comma)', ['sweep', '--sizes', '16,', '32'], both(/"16,": ends with a comma \(a space ends the value\): write the list without spaces/, /\(--sizes\)$/)),
  flag('train --batch-size with a list', ['train', '--batch-size', '64,128'], both(/train runs one batch size; to compare several: bstune sweep --sizes 64,128/, /\(--batch-size\)$/)),
  flag('--sizes as a range', ['sweep', '--sizes', '16-128'], both(/"16-128" is a range: list each size/, /\(--sizes\)$/)),
  flag('--epochs 0', ['train', '--epochs', '0'], /\(--epochs\)$/),
  flag('--epochs 1.5', ['train', '--epochs', '1.5'], /\(--epochs\)$/),
  flag('--seed -1', ['train', '--seed', '-1'], /\(--seed\)$/),
  flag('--margin 1', ['find-max', '--margin', '1'], /\(--margin\)$/),
  flag('--steps 1', ['find-max', '--steps', '1'], /\(--steps\)$/),
  flag('train --batch-size 0', ['train', '--batch-size', '0'], /\(--batch-size\)$/),
  flag('--repeats 0', ['sweep', '--repeats', '0'], /\(--repeats\)$/),
  flag('--budget weeks', ['sweep', '--budget', 'weeks'], both(/weeks/, /\(--budget\)$/)),
  flag('recommend --probe-steps 2', ['recommend', '--probe-steps', '2'], /\(--probe-steps\)$/),
  flag('recommend --probe-repeats 0', ['recommend', '--probe-repeats', '0'], /\(--probe-repeats\)$/),
  flag('--parallel 0', ['sweep', '--parallel', '0'], /\(--parallel\)$/),
  flag('--gpus with a name', ['sweep', '--gpus', '0,cuda1'], both(/cuda1/, /\(--gpus\)$/)),
  flag('--gpus listing a device twice', ['sweep', '--gpus', '1,1'], both(/twice/, /\(--gpus\)$/)),
  flag('--queue that is not redis://', ['sweep', '--queue', 'http://h:6379'], both(/redis:\/\/HOST:PORT/, /\(--queue\)$/)),
  flag('--queue with --parallel', ['sweep', '--queue', 'redis://h:6379', '--parallel', '2'], both(/bstune worker/, /\(--parallel\)$/)),
  { name: 'worker without --queue', args: ['worker'], names: /\(--queue\)$/ },
  // Nothing listens on port 1 of loopback: refused at once, before anything is loaded or written.
  flag('sweep --queue that nothing answers', ['sweep', '--queue', 'redis://127.0.0.1:1', '--sizes', '16'], both(/cannot reach the queue at redis:\/\/127\.0\.0\.1:1/, /\(--queue\)$/)),
  { name: 'worker --queue that nothing answers', args: ['worker', '--queue', 'redis://127.0.0.1:1'], names: both(/ECONNREFUSED/, /\(--queue\)$/) },
  {
    name: 'config check with a file and a different --config', files: { 'a.yaml': 'name: a\n', 'b.yaml': 'name: b\n' },
    args: ['config', 'check', '@/a.yaml', '--config', '@/b.yaml', '--json'], names: /\(--config\)$/,
  },
  {
    name: 'a flag that breaks a rule with the file names the flag', files: { 'ok.yaml': 'search:\n  start: 64\n' },
    args: ['find-max', '--config', '@/ok.yaml', '--min', '128', '--json'], names: both(/search\.min/, /\(--min\)$/),
  },
  // Named where the size came from: the file's sweep.sizes was reported as --sizes, a flag the user never gave.
  { name: 'sweep.sizes above the training set', files: { [F]: 'sweep:\n  sizes: [16, 200]\n' }, args: ['sweep', '--config', `@/${F}`, '--train-limit', '100', '--json'], names: both(/batch size 200 is larger than the training set \(100 samples/, /\(sweep\.sizes\)$/) },
  flag('sweep --sizes above the training set', ['sweep', '--sizes', '16,200', '--train-limit', '100'], both(/batch size 200 is larger/, /\(--sizes\)$/)),
  flag('train --batch-size larger than the training set', ['train', '--train-limit', '100', '--batch-size', '200'], both(/200/, /\(--batch-size\)$/)),
  // bstune report: results files it cannot use
  { name: 'report: a missing results file', args: ['report', '@/gone.jsonl', '--json'], names: both(/not found/, /\/gone\.jsonl\)$/) },
  { name: 'report: an empty results file', files: { 'r.jsonl': '' }, args: ['report', '@/r.jsonl', '--json'], names: both(/empty/, /\/r\.jsonl\)$/) },
  { name: 'report: a results file of garbage', files: { 'r.jsonl': 'hello\n{"a":1}\n' }, args: ['report', '@/r.jsonl', '--json'], names: both(/no trial records/, /\/r\.jsonl\)$/) },
  {
    name: 'report: a results file mixing two configs', files: { 'r.jsonl': `${rec('aaaa1111', 16)}${rec('bbbb2222', 32)}` },
    args: ['report', '@/r.jsonl', '--json'], names: both(/mixes 2 configs.*aaaa1111.*bbbb2222.*--config-hash/, /\/r\.jsonl\)$/),
  },
  { name: 'report: --config-hash that matches nothing', files: { 'r.jsonl': rec('aaaa1111', 16) }, args: ['report', '@/r.jsonl', '--config-hash', 'ffff', '--json'], names: both(/ffff/, /\(--config-hash\)$/) },
  { name: 'report: a directory as the results file', files: { 'r.d/x': '' }, args: ['report', '@/r.d', '--json'], names: both(/directory/, /\/r\.d\)$/) },
  // A training command's --html is checked before it trains: it once ran the whole search, then failed and left its results file.
  { name: 'find-max --html naming a folder', files: { 'out/x': '' }, args: ['find-max', '--train-limit', '100', '--html', '@/out', '--json'], names: both(/output path is a directory/, /\(--html .*\/out\)$/) },
  { name: 'sweep --html naming a folder', files: { 'out/x': '' }, args: ['sweep', '--sizes', '16', '--epochs', '1', '--train-limit', '100', '--html', '@/out', '--json'], names: both(/output path is a directory/, /\(--html .*\/out\)$/) },
  { name: 'report: --html pointing at a directory', files: { 'r.jsonl': rec('aaaa1111', 16), 'out/x': '' }, args: ['report', '@/r.jsonl', '--html', '@/out', '--json'], names: both(/directory/, /--html .*\/out\)$/) },
  { name: 'report: --csv onto the results file itself', files: { 'r.jsonl': rec('aaaa1111', 16) }, args: ['report', '@/r.jsonl', '--csv', '@/r.jsonl', '--json'], names: /overwrite.*\(--csv\)$/ },
  flag('report without a results file', ['report'], /results/),
  // The tuning variables a user may set (src/env.ts): refused before anything loads, never a silent default.
  { name: 'BSTUNE_NPY_STREAM_MIB with a unit', args: ['train', '--json'], env: { BSTUNE_NPY_STREAM_MIB: '64MiB' }, names: both(/"64MiB": expected a number of MiB/, /\(BSTUNE_NPY_STREAM_MIB\)$/) },
  { name: 'BSTUNE_NPY_STREAM_MIB in hex (Number() read 0x40 as 64)', args: ['find-max', '--json'], env: { BSTUNE_NPY_STREAM_MIB: '0x40' }, names: both(/"0x40": expected a number of MiB/, /\(BSTUNE_NPY_STREAM_MIB\)$/) },
  { name: 'BSTUNE_NPY_STREAM_MIB negative', args: ['sweep', '--sizes', '16', '--json'], env: { BSTUNE_NPY_STREAM_MIB: '-1' }, names: /\(BSTUNE_NPY_STREAM_MIB\)$/ },
  { name: 'BSTUNE_NPY_PREFETCH=off', args: ['sweep', '--sizes', '16', '--json'], env: { BSTUNE_NPY_PREFETCH: 'off' }, names: both(/"off": expected 0 \(no reader thread\) or 1/, /\(BSTUNE_NPY_PREFETCH\)$/) },
  { name: 'BSTUNE_HUGE_PAGES=no', args: ['find-max', '--json'], env: { BSTUNE_HUGE_PAGES: 'no' }, names: /\(BSTUNE_HUGE_PAGES\)$/ },
  { name: 'BSTUNE_QUEUE_GRACE_SECONDS=soon', args: ['sweep', '--queue', 'redis://127.0.0.1:1', '--json'], env: { BSTUNE_QUEUE_GRACE_SECONDS: 'soon' }, names: both(/seconds above 0/, /\(BSTUNE_QUEUE_GRACE_SECONDS\)$/) },
  { name: 'human mode: a bad tuning variable', args: ['train'], env: { BSTUNE_NPY_PREFETCH: 'yes' }, names: /\(BSTUNE_NPY_PREFETCH\)$/ },
  // Human mode: the same one line, and nothing on stdout either.
  { name: 'human mode: unknown key', files: { [F]: 'colour: red\n' }, args: ['config', 'check', `@/${F}`], names: both(/colour/, at(1, 1)) },
  { name: 'human mode: bad flag', args: ['sweep', '--sizes', '16,abc'], names: /\(--sizes\)$/ },
];

let root = '';
beforeAll(() => {
  root = tmpDir('bstune-bad-inputs-');
});
afterAll(() => {
  if (!root) return;
  // chmod 000 files must be made removable for non-root users.
  for (const path of walk(root)) chmodSync(path, 0o644);
  rmSync(root, { recursive: true, force: true });
});

function walk(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = join(dir, e.name);
    return e.isDirectory() ? [p, ...walk(p)] : [p];
  });
}

describe('bad inputs: exit 2, one line naming what and where, nothing else', () => {
  it('has enough cases', () => {
    expect(cases.length).toBeGreaterThanOrEqual(45);
    expect(new Set(cases.map((c) => c.name)).size).toBe(cases.length);
  });

  // Concurrent tests must use the context's expect so each failure is pinned on its own case.
  it.concurrent.for(cases.map((c, i) => ({ ...c, i })))('$name', { timeout: 240_000 }, async (c, { expect, skip }) => {
    const { i } = c;
    const skipped = c.skip?.();
    if (skipped) {
      skip(skipped);
      return;
    }
    const dir = join(root, String(i));
    mkdirSync(dir);
    writeFiles(dir, c.files ?? {});
    c.setup?.(dir);
    const before = walk(dir).map((p) => relative(dir, p)).sort();
    const args = c.args.map((a) => (a.startsWith('@/') ? join(dir, a.slice(2)) : a));

    const r = await runCli(args, { cwd: dir, timeoutMs: c.timeoutMs ?? 60_000, ...(c.env ? { env: c.env } : {}) });

    expect(r.timedOut, 'timed out').toBe(false);
    expect(r.stderr, 'no stack trace').not.toMatch(/^\s{4}at /m);
    expect(r.stderr.endsWith('\n')).toBe(true);
    const lines = r.stderr.slice(0, -1).split('\n');
    expect(lines, `exactly one stderr line, got:\n${r.stderr}`).toHaveLength(1);
    const line = lines[0]!;
    expect(line).toMatch(/^bstune: error: .+ \(.+\)$/);
    expect(line).not.toMatch(/unexpected failure/);
    expect(line).toMatch(c.names);
    expect(r.code, line).toBe(2);
    expect(r.stdout).toBe('');
    // Nothing created (results files, caches) or left half-written in the working directory.
    expect(walk(dir).map((p) => relative(dir, p)).sort()).toEqual(before);
    for (const [rel, content] of Object.entries(c.files ?? {})) {
      const path = join(dir, rel);
      if (statSync(path).mode & 0o400) expect(readFileSync(path).equals(Buffer.from(content))).toBe(true);
    }
  });
});
