import { readFileSync, statSync, existsSync } from 'node:fs';
import { resolve, dirname, join, isAbsolute } from 'node:path';
import { fileURLToPath } from 'node:url';
import { LineCounter, parseDocument, isMap, isPair, isScalar, isSeq, type Document, type Node as YamlNode } from 'yaml';
import { BstuneError } from '../errors.js';
import { configSchema, type Config, type ParsedConfig } from './schema.js';
import { semanticProblems } from './rules.js';
import { describeIssue, keysAt, unknownKeyHint } from './messages.js';
import { parseSize } from '../report/stats.js';

/** A value set from the command line, applied over the file before validation. */
export interface Override {
  path: string[];
  value: unknown;
  flag: string;
}

export interface LoadedConfig {
  config: Config;
  /** Absolute path of the file read. */
  path: string;
  /** How the file was chosen: `--config`, `./bstune.yaml`, or `built-in default`. */
  chosenBy: string;
}

/** Larger than any sane experiment file; stops a 50 MB file before the parser sees it. */
const MAX_CONFIG_BYTES = 1024 * 1024;
const packageRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const defaultConfigPath = join(packageRoot, 'configs', 'mnist-mlp.yaml');
const localConfigName = 'bstune.yaml';

/**
 * `--config FILE` wins; else `bstune.yaml` in the working directory; else the
 * packaged MLP config, so `npx bstune find-max` works on a fresh clone.
 */
export function resolveConfigPath(explicit: string | undefined, cwd: string): { path: string; chosenBy: string } {
  if (explicit !== undefined) {
    const path = resolve(cwd, explicit);
    // `-c configs/mnist-cnn.yaml` as in the examples, run from anywhere: the packaged file.
    const packaged = resolve(packageRoot, explicit);
    if (!existsSync(path) && !isAbsolute(explicit) && explicit.startsWith('configs') && existsSync(packaged)) {
      return { path: packaged, chosenBy: '--config, found among the packaged configs' };
    }
    return { path, chosenBy: '--config' };
  }
  const local = resolve(cwd, localConfigName);
  if (existsSync(local)) return { path: local, chosenBy: `./${localConfigName}` };
  return { path: defaultConfigPath, chosenBy: 'built-in default' };
}

export function loadConfig(explicit: string | undefined, cwd: string, overrides: Override[] = []): LoadedConfig {
  const { path, chosenBy } = resolveConfigPath(explicit, cwd);
  let text: string;
  try {
    text = readConfigText(path);
  } catch (e) {
    const near = e instanceof BstuneError && e.code === 'BSTUNE_CONFIG_NOT_FOUND' && explicit !== undefined ? nearConfig(explicit, cwd) : null;
    if (near !== null) throw new BstuneError('BSTUNE_CONFIG_NOT_FOUND', `config file not found; did you mean ${near}?`, path);
    throw e;
  }
  return { config: parseConfigText(text, path, overrides), path, chosenBy };
}

/**
 * A config that exists close to a name that does not, as the user would type it: the other
 * extension (.yml for .yaml), or a packaged config by its file name (`-c mnist-cnn.yaml`).
 */
function nearConfig(explicit: string, cwd: string): string | null {
  const swapped = /\.ya?ml$/i.test(explicit) ? explicit.replace(/\.(ya?ml)$/i, (_, ext: string) => (ext.toLowerCase() === 'yml' ? '.yaml' : '.yml')) : `${explicit}.yaml`;
  const named = join('configs', explicit.replace(/^.*[\\/]/, ''));
  for (const candidate of [swapped, named, join('configs', swapped.replace(/^.*[\\/]/, ''))]) {
    if (candidate === explicit) continue;
    const { path } = resolveConfigPath(candidate, cwd);
    if (existsSync(path) && statSync(path).isFile()) return candidate;
  }
  return null;
}

function readConfigText(path: string): string {
  let size: number;
  try {
    const st = statSync(path);
    if (st.isDirectory()) throw new BstuneError('BSTUNE_CONFIG_INVALID', 'config path is a directory, not a YAML file', path);
    size = st.size;
  } catch (e) {
    if (e instanceof BstuneError) throw e;
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new BstuneError('BSTUNE_CONFIG_NOT_FOUND', 'config file not found', path);
    throw new BstuneError('BSTUNE_CONFIG_INVALID', `cannot read config file: ${code ?? String(e)}`, path);
  }
  if (size > MAX_CONFIG_BYTES) {
    throw new BstuneError('BSTUNE_CONFIG_INVALID', `config file is ${size} bytes; an experiment file should be under 1 MiB`, path);
  }
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (e) {
    throw new BstuneError('BSTUNE_CONFIG_INVALID', `cannot read config file: ${(e as NodeJS.ErrnoException).code ?? String(e)}`, path);
  }
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw new BstuneError('BSTUNE_CONFIG_INVALID', 'config file is not valid UTF-8 text', path);
  }
}

/** Parse, apply overrides, validate. Every error names the key path and file:line:col. */
export function parseConfigText(text: string, file: string, overrides: Override[] = []): Config {
  const lineCounter = new LineCounter();
  let doc: Document.Parsed;
  try {
    // yaml's core schema has no custom tags (no code execution) and caps alias expansion.
    // Its uniqueKeys check is quadratic (80k keys: a minute), so duplicates are found below.
    // logLevel 'error': yaml must not print its own warnings; every problem becomes our one line.
    doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: false, logLevel: 'error' });
  } catch (e) {
    throw invalid(`YAML could not be parsed: ${yamlMessage(e)}`, file);
  }
  const where = (offset: number | undefined) => {
    if (offset === undefined) return file;
    const { line, col } = lineCounter.linePos(offset);
    return `${file}:${line}:${col}`;
  };
  const yamlError = doc.errors[0];
  if (yamlError) {
    throw invalid(`YAML syntax error: ${yamlMessage(yamlError.message)}`, where(yamlError.pos[0]));
  }
  // yaml only warns on an unknown tag (`!!js/function`, `!foo`) and keeps the bare value;
  // a tag in an experiment file is a mistake or an attempt at code, so refuse it.
  const badTag = doc.warnings.find((w) => w.code === 'TAG_RESOLVE_FAILED');
  if (badTag) {
    const tag = firstLine(badTag.message).replace(/^Unresolved tag:\s*/, '').replace(/^tag:yaml\.org,2002:/, '!!');
    throw invalid(`unknown YAML tag ${tag}; write plain values (numbers, strings, lists, mappings)`, where(badTag.pos[0]));
  }
  const badKey = findBadKey(doc.contents);
  if (badKey) throw invalid(badKey.message, where(badKey.node.range?.[0]));
  if (doc.contents === null) throw invalid('config file is empty', file);
  if (!isMap(doc.contents)) {
    throw invalid('config must be a YAML mapping of keys (name, data, model, ...)', where(doc.contents.range?.[0]));
  }
  let raw: unknown;
  try {
    raw = doc.toJS({ maxAliasCount: 100 });
  } catch (e) {
    throw invalid(`YAML could not be read: ${yamlMessage(e)}`, file);
  }
  inferKinds(raw);
  resolvePaths(raw, dirname(resolve(file)));
  const fromFlag = new Map<string, string>();
  for (const o of overrides) {
    setIn(raw as Record<string, unknown>, o.path, o.value);
    fromFlag.set(o.path.join('.'), o.flag);
  }
  const locate = (path: PropertyKey[], key?: string): string => {
    const flag = fromFlag.get(path.map(String).join('.'));
    if (flag) return flag;
    return where(findOffset(doc, path, key));
  };

  const parsed = configSchema.safeParse(raw);
  if (!parsed.success) {
    const issues = parsed.error.issues;
    const first = issues[0]!;
    const key = first.code === 'unrecognized_keys' ? first.keys[0] : undefined;
    const keyPath = [...first.path, ...(key !== undefined ? [key] : [])].map(String).join('.') || '(top level)';
    const at = (path: PropertyKey[]): unknown => path.reduce<unknown>((o, k) => (o !== null && typeof o === 'object' ? (o as Record<string, unknown>)[String(k)] : undefined), raw);
    const parent = at(first.path);
    const kind = first.path[0] === 'model' && parent !== null && typeof parent === 'object' ? (parent as Record<string, unknown>).kind : undefined;
    const section = first.path.length > 0 ? `${first.path.map(String).join('.')}${kind !== undefined ? ` (kind ${String(kind)})` : ''}` : 'the top level';
    const message = first.code === 'unrecognized_keys'
      ? `unknown key "${keyPath}"${misplacedHint(first.path, key!) ?? unknownKeyHint(key!, keysAt(first.path, kind), section)}${first.keys.length > 1 ? `; also unknown: ${first.keys.slice(1).join(', ')}` : ''}`
      : `${keyPath}: ${describeIssue(first, at(first.path))}`;
    const more = issues.length > 1 ? `; and ${issues.length - 1} more problem${issues.length > 2 ? 's' : ''}` : '';
    throw invalid(`invalid config: ${message}${more}`, locate(first.path, key));
  }
  const problems = semanticProblems(parsed.data as ParsedConfig);
  const problem = problems[0];
  if (problem) throw invalid(`invalid config: ${problem.message}`, locate(problem.path));
  return finalize(parsed.data as ParsedConfig);
}

const isObj = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

/**
 * `model: {path: ./model.json}` and `data: {idxDir: ...}` read as what they say: the
 * kind (file, module) and the source (idx, npy, module) follow from the key given.
 */
function inferKinds(raw: unknown): void {
  if (!isObj(raw)) return;
  const { model, data } = raw;
  if (isObj(model) && model.kind === undefined) {
    if ('path' in model) model.kind = 'file';
    else if ('module' in model) model.kind = 'module';
  }
  if (isObj(data) && data.source === undefined) {
    if ('idxDir' in data) data.source = 'idx';
    else if ('x' in data || 'y' in data) data.source = 'npy';
    else if ('module' in data) data.source = 'module';
  }
}

/** Files named in a config file are relative to that file (as in tsconfig), so a config works from any directory. */
function resolvePaths(raw: unknown, base: string): void {
  if (!isObj(raw)) return;
  const fix = (o: unknown, keys: string[]) => {
    if (!isObj(o)) return;
    for (const k of keys) if (typeof o[k] === 'string' && o[k] !== '') o[k] = resolve(base, o[k] as string);
  };
  fix(raw.data, ['idxDir', 'x', 'y', 'validationX', 'validationY', 'module']);
  fix(raw.model, ['path', 'module']);
}

function finalize(p: ParsedConfig): Config {
  const { $schema: _schema, ...rest } = p;
  const limit = p.device.memoryLimit;
  return { ...rest, device: { ...p.device, memoryLimit: typeof limit === 'string' ? parseSize(limit) : limit } };
}

/** A key written at the top level that belongs in a section, like `epochs` for `training.epochs`. */
function misplacedHint(path: PropertyKey[], key: string): string | null {
  if (path.length > 0) return null;
  const home = keysAt([]).find((section) => keysAt([section]).some((k) => k.toLowerCase() === key.toLowerCase()));
  return home ? ` (did you mean ${home}.${keysAt([home]).find((k) => k.toLowerCase() === key.toLowerCase())}?)` : null;
}

function setIn(obj: Record<string, unknown>, path: string[], value: unknown): void {
  let cur = obj;
  for (const k of path.slice(0, -1)) {
    const next = cur[k];
    if (next === undefined || next === null || typeof next !== 'object' || Array.isArray(next)) cur[k] = {};
    cur = cur[k] as Record<string, unknown>;
  }
  cur[path[path.length - 1]!] = value;
}

/**
 * The first key that is repeated within one mapping or is itself a list or mapping, anywhere
 * in the document. Linear, and iterative so a deep document cannot overflow the stack.
 */
function findBadKey(root: unknown): { node: YamlNode; message: string } | null {
  const stack: unknown[] = [root];
  while (stack.length > 0) {
    const node = stack.pop();
    if (isMap(node)) {
      const seen = new Set<unknown>();
      for (const pair of node.items) {
        const key = pair.key;
        if (isScalar(key)) {
          if (seen.has(key.value)) {
            return { node: key, message: `YAML syntax error: duplicate key ${JSON.stringify(String(key.value))} (map keys must be unique)` };
          }
          seen.add(key.value);
        } else if (isMap(key) || isSeq(key)) {
          return { node: key, message: 'YAML key is a list or mapping; keys must be plain names' };
        }
        stack.push(pair.value);
      }
    } else if (isSeq(node)) {
      for (const item of node.items) stack.push(item);
    } else if (isPair(node)) {
      stack.push(node.value);
    }
  }
  return null;
}

/** Offset of the deepest node of `path` that exists in the document (the key itself when `key` is given). */
function findOffset(doc: Document.Parsed, path: PropertyKey[], key?: string): number | undefined {
  let node: unknown = doc.contents;
  let offset = (doc.contents as YamlNode | null)?.range?.[0];
  const steps = [...path.map(String), ...(key !== undefined ? [key] : [])];
  for (const step of steps) {
    if (!node || typeof node !== 'object' || !('items' in node)) break;
    const items = (node as { items: unknown[] }).items;
    let found: unknown;
    if (isMap(node)) {
      const pair = items.find((it) => isPair(it) && isScalar(it.key) && String(it.key.value) === step);
      if (!pair || !isPair(pair)) break;
      const keyNode = pair.key as YamlNode;
      offset = step === key ? keyNode.range?.[0] : ((pair.value as YamlNode | null)?.range?.[0] ?? keyNode.range?.[0]);
      found = pair.value;
    } else {
      found = items[Number(step)];
      const r = (found as YamlNode | undefined)?.range?.[0];
      if (r === undefined) break;
      offset = r;
    }
    node = found;
  }
  return offset;
}

/**
 * The error is printed as one line, but keys and values come from the file and may hold
 * newlines or control characters (`"a\\nb": 1`): show those escaped.
 */
function invalid(message: string, where: string): BstuneError {
  return new BstuneError('BSTUNE_CONFIG_INVALID', escapeControls(message), escapeControls(where));
}

const named: Record<string, string> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' };
function escapeControls(s: string): string {
  // eslint-disable-next-line no-control-regex
  return s.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, (c) => named[c] ?? `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** yaml reports a too-deep document as the engine's stack overflow; say what it means. */
function yamlMessage(e: unknown): string {
  const text = firstLine(e);
  return /call stack/i.test(text) ? 'the document is nested too deeply' : text;
}

function firstLine(e: unknown): string {
  const text = e instanceof Error ? e.message : String(e);
  return text.split('\n')[0]!.trim();
}
