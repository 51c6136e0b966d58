import { stringify } from 'yaml';
import { loadConfig } from '../../config/load.js';
import { makeDocument } from '../../report/document.js';
import { configJsonSchema } from '../../config/write-schema.js';
import type { Context, CommandOutput } from '../context.js';

export async function run(ctx: Context): Promise<CommandOutput> {
  if (ctx.args.command === 'config-schema') {
    const text = configJsonSchema();
    return { document: JSON.parse(text), human: text, exitCode: 0 };
  }
  const loaded = loadConfig(ctx.args.common.config, ctx.cwd, ctx.args.overrides);
  const human = `# ${loaded.path} is valid (chosen by ${loaded.chosenBy}); resolved with defaults:\n${stringify(loaded.config)}`;
  return { document: makeDocument('config-check', { config: loaded.config, configPath: loaded.path }), human, exitCode: 0 };
}
