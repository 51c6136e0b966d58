import { renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { configSchema, deviceSchema, warmupSchema } from './schema.js';
import { defaultConfigPath } from './load.js';
import { MIN_BARE_BYTES } from '../report/stats.js';

/**
 * What parseSize accepts, as a JSON Schema pattern (no flags, so cases are spelt out): a
 * number with a unit, or a bare byte count of 7 digits or more (the loader's exact floor,
 * 1 MiB = 1048576, is not a pattern; 1000000-1048575 pass here and fail at load).
 */
export const sizePattern = '^\\s*\\+?(?:(?:\\d+(?:\\.\\d+)?|\\.\\d+)\\s*(?:[bB]|[kKmMgGtT](?:[iI]?[bB])?)|0*[1-9]\\d{6,})\\s*$';

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
