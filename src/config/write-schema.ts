import { renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { configSchema, deviceSchema, warmupSchema } from './schema.js';
import { defaultConfigPath } from './load.js';
import { MIN_BARE_BYTES } from '../report/stats.js';

/**
 * What parseSize accepts, as a JSON Schema pattern (no flags, so cases are spelt out): a
 * number with a unit, or a bare byte count of at least 1 MiB = 1048576 (the loader's floor),
 * spelt digit by digit below 10^7 and as any 8 or more digits above.
 */
const bareBytesFrom1MiB = [
  '104857[6-9]', '10485[89]\\d', '1048[6-9]\\d{2}', '1049\\d{3}', '10[5-9]\\d{4}', '1[1-9]\\d{5}', '[2-9]\\d{6}', '[1-9]\\d{7,}',
].join('|');
export const sizePattern = `^\\s*\\+?(?:(?:\\d+(?:\\.\\d+)?|\\.\\d+)\\s*(?:[bB]|[kKmMgGtT](?:[iI]?[bB])?)|0*(?:${bareBytesFrom1MiB}))\\s*$`;

/**
 * Rules the loader checks beyond the zod shapes (config/rules.ts), said in JSON Schema so an
 * editor flags them too: warmup takes epochs or steps, not both; memoryLimit is a size.
 */
function strictRules(ctx: { zodSchema: unknown; jsonSchema: Record<string, unknown> }): void {
  if (ctx.zodSchema === warmupSchema) {
    ctx.jsonSchema.not = { required: ['epochs', 'steps'] };
  } else if (ctx.zodSchema === deviceSchema.shape.memoryLimit) {
    ctx.jsonSchema.anyOf = [
      { type: 'string', pattern: sizePattern },
      { type: 'integer', minimum: MIN_BARE_BYTES, maximum: Number.MAX_SAFE_INTEGER },
      { type: 'null' },
    ];
  }
}

/** The JSON Schema editors use for completion; a test fails when the checked-in copy is stale. */
export function configJsonSchema(): string {
  const schema = z.toJSONSchema(configSchema, { io: 'input', target: 'draft-7', override: strictRules as never });
  return JSON.stringify({ title: 'bstune experiment config', ...schema }, null, 2) + '\n';
}

export const schemaPath = join(defaultConfigPath, '..', 'bstune.schema.json');

if (process.argv[1] && import.meta.url.endsWith(process.argv[1].replace(/\\/g, '/'))) {
  // Write then rename, so an interrupted run never leaves a half-written schema for editors.
  writeFileSync(`${schemaPath}.tmp`, configJsonSchema());
  renameSync(`${schemaPath}.tmp`, schemaPath);
  process.stderr.write(`wrote ${schemaPath}\n`);
}
