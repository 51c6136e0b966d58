import { z } from 'zod';
import { configSchema } from './schema.js';

/** zod's issue, said the way a person editing a YAML file thinks of it. */
export function describeIssue(issue: z.core.$ZodIssue, input: unknown): string {
  const i = issue as z.core.$ZodIssue & Record<string, unknown>;
  switch (issue.code) {
    case 'invalid_type': {
      const expected = String(i.expected);
      if (expected === 'int') return 'must be a whole number';
      const got = input === undefined ? 'nothing' : input === null ? 'null' : Array.isArray(input) ? 'a list' : typeof input === 'object' ? 'a mapping'
        : typeof input === 'number' ? String(input) : `${typeof input} ${JSON.stringify(input)}`;
      const want = { array: 'a list, e.g. [16, 32]', object: 'a mapping of keys', number: 'a number', string: 'text', boolean: 'true or false' }[expected] ?? expected;
      return `must be ${want}, got ${got}`;
    }
    case 'invalid_value':
      return `must be one of ${(i.values as unknown[]).map((v) => JSON.stringify(v)).join(', ')}${input !== undefined ? `, got ${JSON.stringify(input)}` : ''}`;
    case 'invalid_union':
      if (issue.path[issue.path.length - 1] === 'memoryLimit') return `must be a number of bytes or a size like "512MiB", got ${JSON.stringify(input)}`;
      if (Array.isArray(i.options)) return `must be one of ${(i.options as unknown[]).map((v) => JSON.stringify(v)).join(', ')}${input !== undefined ? `, got ${JSON.stringify(input)}` : ''}`;
      return issue.message;
    case 'too_small':
    case 'too_big': {
      const bound = issue.code === 'too_small' ? i.minimum : i.maximum;
      const op = issue.code === 'too_small' ? (i.inclusive ? '>=' : '>') : i.inclusive ? '<=' : '<';
      if (i.origin === 'array') return `must have ${issue.code === 'too_small' ? 'at least' : 'at most'} ${String(bound)} item${bound === 1 ? '' : 's'}`;
      if (i.origin === 'string') return 'must not be empty';
      // A fraction given as a percentage (validationSplit: 20, targetAccuracy: 95): say the fraction.
      const percent = issue.code === 'too_big' && bound === 1 && typeof input === 'number' && input >= 10 && input <= 100 ? `: ${input / 100} for ${input}%` : '';
      return `must be ${op} ${String(bound)}${typeof input === 'number' ? `, got ${input}${percent}` : ''}`;
    }
    default:
      return issue.message;
  }
}

type Schema = z.ZodType;

function unwrap(s: Schema): Schema {
  let cur: Schema = s;
  while (cur instanceof z.ZodDefault || cur instanceof z.ZodOptional || cur instanceof z.ZodNullable) cur = cur.unwrap() as Schema;
  return cur;
}

/** The keys a mapping at `path` may hold; for `model`, those of the kind given (if any). */
export function keysAt(path: PropertyKey[], kind?: unknown): string[] {
  let nodes: Schema[] = [configSchema];
  const objectsOf = (n: Schema): z.ZodObject[] => {
    const u = unwrap(n);
    if (u instanceof z.ZodObject) return [u];
    if (u instanceof z.ZodDiscriminatedUnion) {
      const options = u.options as z.ZodObject[];
      const chosen = options.filter((o) => (o.shape.kind as z.ZodLiteral | undefined)?.value === kind);
      return chosen.length > 0 ? chosen : options;
    }
    return [];
  };
  for (const k of path) nodes = nodes.flatMap(objectsOf).flatMap((o) => (o.shape[String(k)] ? [o.shape[String(k)] as Schema] : []));
  return [...new Set(nodes.flatMap(objectsOf).flatMap((o) => Object.keys(o.shape)))];
}

function distance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0]![j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      d[i]![j] = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
  }
  return d[a.length]![b.length]!;
}

/** " (did you mean learningRate?)", or the keys allowed there when nothing is close. */
export function unknownKeyHint(key: string, allowed: string[], where: string): string {
  const visible = allowed.filter((k) => k !== '$schema');
  const close = visible
    .map((k) => ({ k, d: k.toLowerCase() === key.toLowerCase() ? 0 : distance(k.toLowerCase(), key.toLowerCase()) }))
    .filter((c) => c.d <= Math.max(1, Math.floor(key.length / 4)))
    .sort((a, b) => a.d - b.d)[0];
  if (close) return ` (did you mean ${close.k}?)`;
  return visible.length > 0 ? ` (${where} takes: ${visible.join(', ')})` : '';
}
