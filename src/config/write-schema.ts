import { renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { configSchema } from './schema.js';
import { defaultConfigPath } from './load.js';

/** The JSON Schema editors use for completion; a test fails when the checked-in copy is stale. */
export function configJsonSchema(): string {
  const schema = z.toJSONSchema(configSchema, { io: 'input', target: 'draft-7' });
  return JSON.stringify({ title: 'bstune experiment config', ...schema }, null, 2) + '\n';
}

export const schemaPath = join(defaultConfigPath, '..', 'bstune.schema.json');

if (process.argv[1] && import.meta.url.endsWith(process.argv[1].replace(/\\/g, '/'))) {
  // Write then rename, so an interrupted run never leaves a half-written schema for editors.
  writeFileSync(`${schemaPath}.tmp`, configJsonSchema());
  renameSync(`${schemaPath}.tmp`, schemaPath);
  process.stderr.write(`wrote ${schemaPath}\n`);
}
