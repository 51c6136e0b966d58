import { existsSync } from 'node:fs';
import { stringify } from 'yaml';
import { loadConfig } from '../../config/load.js';
import { makeDocument } from '../../report/document.js';
import { configJsonSchema } from '../../config/write-schema.js';
import type { Context, CommandOutput } from '../context.js';
import type { Config } from '../../config/schema.js';
import { MIN_BARE_BYTES } from '../../report/stats.js';

export async function run(ctx: Context): Promise<CommandOutput> {
  if (ctx.args.command === 'config-schema') {
    const text = configJsonSchema();
    return { document: JSON.parse(text), human: text, exitCode: 0 };
  }
  const loaded = loadConfig(ctx.args.common.config, ctx.cwd, ctx.args.overrides);
  const code = runsCode(loaded.config);
  // Like a test runner, bstune imports the modules a config names: say so before anyone trains with it.
  const warning = code.length > 0 ? `# note: this config runs code: ${code.join(', ')} (imported by bstune and its trial processes); use configs you trust\n` : '';
  // "is valid" said nothing of a model or data file that is not there: a run here stops at it.
  const missing = missingFiles(loaded.config);
  const notFound = missing.map((m) => `# note: not found here: ${m.path} (${m.key}); a run on this machine stops there\n`).join('');
  const human = `# ${loaded.path} is valid (chosen by ${loaded.chosenBy}); resolved with defaults:\n${warning}${notFound}${stringify(asYaml(loaded.config))}`;
  return { document: makeDocument('config-check', { config: loaded.config, configPath: loaded.path }, { runsCode: code, missingFiles: missing }), human, exitCode: 0 };
}

/** The files and folders a config names (resolved against its folder by the loader) that do not exist here. */
export function missingFiles(c: Config): { key: string; path: string }[] {
  const named: [string, string | undefined][] = [
    ['data.idxDir', c.data.idxDir], ['data.x', c.data.x], ['data.y', c.data.y], ['data.validationX', c.data.validationX],
    ['data.validationY', c.data.validationY], ['data.module', c.data.module],
    ['model.path', c.model.kind === 'file' ? c.model.path : undefined], ['model.module', c.model.kind === 'module' ? c.model.module : undefined],
  ];
  return named.flatMap(([key, path]) => (path !== undefined && !existsSync(path) ? [{ key, path }] : []));
}

/**
 * The resolved config as YAML that loads back to the same config: a memory limit under
 * 1 MiB keeps its unit ("512B"), since a bare number that small is refused as a missing unit.
 */
function asYaml(c: Config): unknown {
  const limit = c.device.memoryLimit;
  return limit !== null && limit < MIN_BARE_BYTES ? { ...c, device: { ...c.device, memoryLimit: `${limit}B` } } : c;
}

/** The JS modules a config makes bstune import (a data module in bstune itself, a model module in each trial). */
export function runsCode(c: Config): string[] {
  return [c.data.source === 'module' ? c.data.module : undefined, c.model.kind === 'module' ? c.model.module : undefined].filter((m): m is string => m !== undefined);
}
