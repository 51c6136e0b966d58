import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bstuneErrorFrom } from './helpers/thrown.js';
import { parseArgs } from '../src/cli/args.js';
import { defaultConfigPath, loadConfig, parseConfigText, resolveConfigPath } from '../src/config/load.js';
import { configSchema } from '../src/config/schema.js';
import { configJsonSchema, schemaPath } from '../src/config/write-schema.js';
import { parseSize } from '../src/report/stats.js';
import { checkModelFits } from '../src/model/build.js';
import { scaledLearningRate } from '../src/train/schedule.js';
import { repoRoot, runCli, tmpDir, writeFiles } from './helpers/cli.js';
import { rmSync } from 'node:fs';

const configsDir = join(repoRoot, 'configs');
const mlpPath = join(configsDir, 'mnist-mlp.yaml');
const cnnPath = join(configsDir, 'mnist-cnn.yaml');

describe('the shipped configs', () => {
  it.each([mlpPath, cnnPath])('%s starts with the schema modeline and parses', (path) => {
    const text = readFileSync(path, 'utf8');
    expect(text.split('\n')[0]).toBe('# yaml-language-server: $schema=./bstune.schema.json');
    const config = loadConfig(path, repoRoot).config;
    expect(configSchema.safeParse(config).success).toBe(true);
    expect(checkModelFits(config.model)).toBeNull();
  });

  it('mnist-mlp.yaml is what its comment says: 784-10-10, Adam 0.001 tuned at batch 32', () => {
    const text = readFileSync(mlpPath, 'utf8');
    const m = /(\d+) inputs -> Dense\((\d+), relu\) -> Dense\((\d+), softmax\), Adam ([\d.e-]+) tuned at batch (\d+)/.exec(text);
    expect(m, 'the header comment describes the model').not.toBeNull();
    const [, inputs, hidden, out, lr, batch] = m!;
    expect([inputs, out]).toEqual(['784', '10']);
    const { config } = loadConfig(mlpPath, repoRoot);
    expect(config.model).toEqual({ kind: 'mlp', hidden: [Number(hidden)] });
    expect(config.optimizer).toMatchObject({ name: 'adam', learningRate: Number(lr), baseBatchSize: Number(batch), scaling: 'linear' });
    expect(config.optimizer.learningRate).toBe(0.001);
    expect(config.optimizer.baseBatchSize).toBe(32);
    expect(config.data).toEqual({ source: 'embedded', validationSplit: 0.2 });
    // "rate = 0.001 * batch / 32": the scaling the comment promises.
    expect(text).toMatch(/rate = 0\.001 \* batch \/ 32/);
    expect(scaledLearningRate(config.optimizer, 64)).toBeCloseTo(0.002, 12);
    expect(scaledLearningRate(config.optimizer, 512)).toBeCloseTo(0.016, 12);
    expect(config.optimizer.warmup).toEqual({ epochs: 1 });
    expect(config.device).toEqual({ backend: 'auto', memoryLimit: null });
  });

  it('mnist-cnn.yaml is what its comment says: conv 8@5x5, pool 2, conv 16@5x5, pool 2, Dense(10)', () => {
    const text = readFileSync(cnnPath, 'utf8');
    const convs = [...text.matchAll(/conv (\d+)@(\d+)x\2 relu, maxpool (\d+)/g)];
    expect(convs).toHaveLength(2);
    const { config } = loadConfig(cnnPath, repoRoot);
    expect(config.model).toEqual({
      kind: 'cnn',
      filters: convs.map((c) => Number(c[1])),
      kernelSize: Number(convs[0]![2]),
      poolSize: Number(convs[0]![3]),
      dense: [],
    });
    expect(text).toMatch(/flatten, Dense\(10, softmax\)/);
    expect(config.optimizer).toMatchObject({ name: 'adam', learningRate: 0.001, baseBatchSize: 32 });
  });

  it('configs/bstune.schema.json is the generated JSON Schema (regenerate: npm run schema)', () => {
    expect(schemaPath).toBe(join(configsDir, 'bstune.schema.json'));
    expect(readFileSync(schemaPath, 'utf8')).toBe(configJsonSchema());
    const schema = JSON.parse(configJsonSchema()) as { properties: Record<string, unknown>; additionalProperties?: unknown };
    expect(Object.keys(schema.properties).sort()).toEqual(['$schema', 'data', 'device', 'model', 'name', 'optimizer', 'search', 'sweep', 'training']);
    expect(schema.additionalProperties).toBe(false);
  });

  it('the JSON Schema is as strict as the loader on warmup and memoryLimit', () => {
    type Node = { properties: Record<string, Node>; not?: unknown; anyOf?: { type: string; pattern?: string; minimum?: number }[] };
    const schema = JSON.parse(configJsonSchema()) as Node;
    expect(schema.properties.optimizer!.properties.warmup!.not).toEqual({ required: ['epochs', 'steps'] });
    const limit = schema.properties.device!.properties.memoryLimit!.anyOf!;
    expect(limit.find((b) => b.type === 'integer')!.minimum).toBe(1024 ** 2);
    const pattern = new RegExp(limit.find((b) => b.type === 'string')!.pattern!);
    // Every text the pattern takes, the loader takes, and the other way round, at the 1 MiB floor too.
    for (const text of ['64MiB', '1.5GB', '512 mib', '2g', '64B', '.5GiB', '1048576', '1048579', '1048580', '1048600', '1049000', '1050000', '1100000', '2000000', '9999999', '10000000', '001048576', '+1MiB', '  1 GiB  ']) {
      expect(pattern.test(text), text).toBe(true);
      expect(() => parseSize(text), text).not.toThrow();
    }
    for (const text of ['sixty', '64', '12XB', '1.5', '-1MiB', '', 'MiB', '1e9', '1,024', '1 2 MiB', '1000000', '1048575', '1048570', '1048499', '1039999', '0999999']) {
      expect(pattern.test(text), text).toBe(false);
      expect(() => parseSize(text), text).toThrow();
    }
  });
});

describe('flags override the file', () => {
  const overridesOf = (argv: string[]) => {
    const parsed = parseArgs(argv);
    if (parsed.kind !== 'run') throw new Error('expected a run');
    return parsed.overrides;
  };

  it('each flag lands at its config path; the rest of the file is kept', () => {
    const overrides = overridesOf(['sweep', '--epochs', '2', '--seed', '7', '--accumulate', '4', '--threads', '2', '--memory-limit', '64MiB', '--sizes', '8,16', '--backend', 'cpu', '--repeats', '3', '--train-limit', '500', '--target-accuracy', '0.9', '--budget', 'steps']);
    const file = loadConfig(cnnPath, repoRoot).config;
    const { config } = loadConfig(cnnPath, repoRoot, overrides);
    expect(config.training).toEqual({ epochs: 2, seed: 7, accumulate: 4, threads: 2 });
    expect(config.device).toEqual({ backend: 'cpu', memoryLimit: 64 * 1024 ** 2 });
    expect(config.sweep).toEqual({ sizes: [8, 16], repeats: 3, targetAccuracy: 0.9, budget: 'steps' });
    expect(config.data.trainLimit).toBe(500);
    expect(config.model).toEqual(file.model);
    expect(config.optimizer).toEqual(file.optimizer);
    expect(config.search).toEqual(file.search);
  });

  it('--memory-limit below 1 MiB with a unit loads as bytes (a bare number that small is refused, not this)', () => {
    for (const [text, bytes] of [['700KiB', 700 * 1024], ['1KiB', 1024], ['64B', 64], ['1048576', 1048576]] as const) {
      const { config } = loadConfig(mlpPath, repoRoot, overridesOf(['find-max', '--memory-limit', text]));
      expect(config.device.memoryLimit).toBe(bytes);
    }
  });

  it('find-max flags set search.*', () => {
    const overrides = overridesOf(['find-max', '--start', '64', '--min', '4', '--steps', '3', '--refine', '--margin', '0.25', '--trial-timeout', '30']);
    const { config } = loadConfig(mlpPath, repoRoot, overrides);
    expect(config.search).toMatchObject({ start: 64, min: 4, stepsPerTrial: 3, refine: true, margin: 0.25, trialTimeout: 30 });
  });

  it('--data-dir switches the source to mnist-full', () => {
    const { config } = loadConfig(mlpPath, repoRoot, overridesOf(['train', '--data-dir', '/data/mnist']));
    expect(config.data).toMatchObject({ source: 'mnist-full', idxDir: '/data/mnist' });
  });

  it('a flag replaces a bad file value, and a flag that breaks a rule is named as the flag', () => {
    const text = 'training:\n  epochs: five\nsearch:\n  start: 64\n';
    expect(() => parseConfigText(text, 'f.yaml')).toThrow(expect.objectContaining({ where: 'f.yaml:2:11' }));
    expect(parseConfigText(text, 'f.yaml', overridesOf(['train', '--epochs', '3'])).training.epochs).toBe(3);
    expect(() => parseConfigText('search:\n  start: 64\n', 'f.yaml', overridesOf(['find-max', '--min', '128'])))
      .toThrow(expect.objectContaining({ code: 'BSTUNE_CONFIG_INVALID', where: '--min', message: expect.stringMatching(/search\.min \(128\).*search\.start \(64\)/) }));
  });
});

describe('error locations', () => {
  const cases: [string, string, string, RegExp][] = [
    ['unknown top-level key', 'name: x\n\ncolour: red\n', 'x.yaml:3:1', /unknown key "colour"/],
    ['unknown key in a flow map', 'data: { source: embedded, sauce: 1 }\n', 'x.yaml:1:27', /unknown key "data\.sauce"/],
    ['wrong type deep inside', 'optimizer:\n  warmup:\n    epochs: lots\n', 'x.yaml:3:13', /optimizer\.warmup\.epochs/],
    ['bad list item', 'model:\n  kind: mlp\n  hidden:\n    - 10\n    - -4\n', 'x.yaml:5:7', /model\.hidden\.1/],
    ['second of two duplicate sizes', 'sweep:\n  sizes:\n    - 16\n    - 32\n    - 16\n', 'x.yaml:5:7', /sweep\.sizes lists 16 twice/],
    ['min above start', 'search: {start: 8, min: 16}\n', 'x.yaml:1:25', /search\.min/],
    ['kernel too large', 'model:\n  kind: cnn\n  filters: [4, 4, 4]\n  kernelSize: 7\n', 'x.yaml:4:15', /model\.kernelSize 7 leaves no pixels after conv layer 3/],
    ['syntax error', 'name: x\ndata:\n  source: [embedded\n', 'x.yaml:4:1', /YAML syntax error/],
    ['duplicate key', 'name: a\ndata: {}\nname: b\n', 'x.yaml:3:1', /duplicate key "name"/],
  ];
  it.each(cases)('%s', (_name, text, where, message) => {
    const thrown = bstuneErrorFrom(() => parseConfigText(text, 'x.yaml'));
    expect(thrown.code).toBe('BSTUNE_CONFIG_INVALID');
    expect(thrown.where).toBe(where);
    expect(thrown.message).toMatch(message);
  });
});

describe('which file is read', () => {
  let dir = '';
  beforeAll(() => {
    dir = tmpDir('bstune-config-');
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('--config wins, then ./bstune.yaml, then the packaged MLP config', () => {
    expect(resolveConfigPath(undefined, dir)).toEqual({ path: defaultConfigPath, chosenBy: 'built-in default' });
    expect(defaultConfigPath).toBe(mlpPath);
    writeFiles(dir, { 'bstune.yaml': 'name: local\n', 'other.yaml': 'name: other\n' });
    expect(loadConfig(undefined, dir)).toMatchObject({ path: join(dir, 'bstune.yaml'), chosenBy: './bstune.yaml', config: { name: 'local' } });
    expect(loadConfig('other.yaml', dir)).toMatchObject({ path: join(dir, 'other.yaml'), chosenBy: '--config', config: { name: 'other' } });
  });
});

describe('bstune config check (end to end)', () => {
  it('exits 0 on the shipped CNN config and says it is valid', async () => {
    const r = await runCli(['config', 'check', 'configs/mnist-cnn.yaml']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/mnist-cnn\.yaml is valid/);
    expect(r.stdout).toMatch(/kind: cnn/);
  });

  it('--json prints one parseable document: schemaVersion 2, command config-check', async () => {
    const r = await runCli(['config', 'check', 'configs/mnist-cnn.yaml', '--json']);
    expect(r.code).toBe(0);
    expect(r.stderr).toBe('');
    const doc = JSON.parse(r.stdout) as Record<string, unknown>;
    expect(doc).toMatchObject({ schemaVersion: 2, command: 'config-check', configPath: cnnPath });
    expect(doc.config).toEqual(JSON.parse(JSON.stringify(loadConfig(cnnPath, repoRoot).config)));
    expect(r.stdout.trimEnd().split('\n').at(-1)).toBe('}');
  });

  it('the resolved config it prints loads back to the same config, a memory limit under 1 MiB included', async () => {
    for (const limit of ['512B', '3MiB']) {
      const d = tmpDir('check-roundtrip');
      writeFiles(d, { 'in.yaml': `name: rt\ndevice:\n  memoryLimit: ${limit}\n` });
      const r = await runCli(['config', 'check', join(d, 'in.yaml')]);
      expect(r.code, r.stderr).toBe(0);
      writeFiles(d, { 'out.yaml': r.stdout });
      expect(loadConfig(join(d, 'out.yaml'), d).config).toEqual(loadConfig(join(d, 'in.yaml'), d).config);
    }
  });

  it('config schema prints the checked-in schema', async () => {
    const r = await runCli(['config', 'schema']);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(readFileSync(schemaPath, 'utf8'));
  });
});

describe('config errors say how to fix the mistake', () => {
  it.each([
    ['optimizer:\n  learningrate: 0.1\n', /unknown key "optimizer\.learningrate" \(did you mean learningRate\?\)/],
    ['epochs: 3\n', /unknown key "epochs" \(did you mean training\.epochs\?\)/],
    ['model:\n  kind: cnn\n  hidden: [10]\n', /unknown key "model\.hidden" \(model \(kind cnn\) takes: kind, filters, kernelSize, poolSize, dense\)/],
    ['model:\n  kind: CNN\n', /model\.kind: must be one of "mlp", "cnn", "file", "module", got "CNN"/],
    ['optimizer:\n  baseBatchSize: 32.5\n', /optimizer\.baseBatchSize: must be a whole number/],
    ['search:\n  stepsPerTrial: 1\n', /search\.stepsPerTrial: must be >= 2, got 1/],
    ['search:\n  refine: yes\n', /search\.refine: must be true or false, got string "yes"/],
    ['sweep:\n  sizes: 64\n', /sweep\.sizes: must be a list, e.g\. \[16, 32\], got 64/],
    ['optimizer:\n  learningRate: .nan\n', /optimizer\.learningRate: must be a number, got NaN/],
    ['device:\n  memoryLimit: true\n', /device\.memoryLimit: must be a number of bytes or a size like "512MiB", got true/],
  ])('%j', (text, message) => {
    const err = bstuneErrorFrom(() => parseConfigText(text, '/x/bstune.yaml'));
    expect(err.line).toMatch(message);
    expect(err.line).toMatch(/\(\/x\/bstune\.yaml:\d+:\d+\)$/);
  });
});

describe('README', () => {
  it('its config reference block is a valid config', () => {
    const readme = readFileSync(join(__dirname, '..', 'README.md'), 'utf8');
    const block = readme.split('## Config reference')[1]!.split('```yaml')[1]!.split('```')[0]!;
    const config = parseConfigText(block, 'README.md');
    expect(config.search.start).toBe(512);
    expect(config.sweep.sizes).toEqual([16, 32, 64, 128]);
    // Its memoryLimit examples are limits a run can use: "64B" (64 bytes, every trial out of memory) was one.
    const examples = /memoryLimit: null \}\s+# memoryLimit: (.+)$/m.exec(block)![1]!.split(', ').map((e) => e.replace(/^"|"$|"? \(bytes\)$/g, ''));
    expect(examples.length).toBeGreaterThanOrEqual(3);
    for (const e of examples) expect(parseSize(e), e).toBeGreaterThanOrEqual(2 ** 20);
  });
});

// `config check` said "is valid" of a config whose model.json was not there; the run then stopped at it.
describe('config check names the files a run would not find', () => {
  it('a note per missing file or folder, missingFiles in --json; none for the packaged examples', async () => {
    const dir = tmpDir('bstune-missing-');
    writeFiles(dir, { 'c.yaml': 'model:\n  path: ./nope/model.json\ndata:\n  x: ./x.npy\n  y: ./y.npy\n', 'y.npy': 'not read' });
    const human = await runCli(['config', 'check', join(dir, 'c.yaml')]);
    expect(human.code).toBe(0);
    expect(human.stdout).toContain(`# note: not found here: ${join(dir, 'x.npy')} (data.x); a run on this machine stops there\n`);
    expect(human.stdout).toContain(`# note: not found here: ${join(dir, 'nope', 'model.json')} (model.path)`);
    expect(human.stdout).not.toContain('(data.y)');
    const json = await runCli(['config', 'check', join(dir, 'c.yaml'), '--json']);
    expect((JSON.parse(json.stdout) as { missingFiles: unknown }).missingFiles).toEqual([{ key: 'data.x', path: join(dir, 'x.npy') }, { key: 'model.path', path: join(dir, 'nope', 'model.json') }]);
    const example = await runCli(['config', 'check', join(repoRoot, 'configs', 'examples', 'keras-mlp.yaml'), '--json']);
    expect((JSON.parse(example.stdout) as { missingFiles: unknown }).missingFiles).toEqual([]);
    rmSync(dir, { recursive: true, force: true });
  });
});

describe('packaged configs', () => {
  it('`-c configs/mnist-cnn.yaml` from a directory without it finds the packaged file', () => {
    const r = resolveConfigPath('configs/mnist-cnn.yaml', '/');
    expect(r.path).toBe(join(defaultConfigPath, '..', 'mnist-cnn.yaml'));
    expect(r.chosenBy).toMatch(/packaged/);
    // anything else stays relative to the working directory, and missing
    expect(resolveConfigPath('my/mnist-cnn.yaml', '/').path).toBe('/my/mnist-cnn.yaml');
  });
});

describe('a batch larger than the training set', () => {
  it('blames the setting it came from: optimizer.baseBatchSize when no --batch-size was given', async () => {
    const r = await runCli(['train', '--train-limit', '5', '--json']);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr.trim()).toBe('bstune: error: batch size 32 is larger than the training set (5 samples, data.trainLimit / --train-limit 5) (optimizer.baseBatchSize)');
  });
});
