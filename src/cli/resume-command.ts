import { parseQueueUrl } from '../queue/url.js';
import type { Context } from './context.js';

/**
 * The command that continues an interrupted sweep or find-max: the results file plus the
 * config and every flag that changed it, since a resume must reproduce the same config hash.
 */
export function resumeCommand(ctx: Context, command: 'sweep' | 'find-max', outPath: string): string {
  const words = ['bstune', command, '--resume', outPath];
  if (ctx.args.common.config !== undefined) words.push('-c', ctx.args.common.config);
  // Where the runs ran: a resume goes to the same queue, or as many local trials at once.
  if (ctx.args.queue !== undefined) words.push('--queue', parseQueueUrl(ctx.args.queue).display);
  if (ctx.args.parallel !== undefined) words.push('--parallel', String(ctx.args.parallel));
  if (ctx.args.gpus !== undefined) words.push('--gpus', ctx.args.gpus.join(','));
  for (const o of ctx.args.overrides) {
    if (o.flag === '--data-dir' && o.path[o.path.length - 1] !== 'idxDir') continue; // one flag sets two keys
    if (o.value === true) words.push(o.flag);
    else words.push(o.flag, Array.isArray(o.value) ? o.value.join(',') : String(o.value));
  }
  return words.map((w) => (/^[\w@%+=:,./-]+$/.test(w) ? w : `'${w.replace(/'/g, `'\\''`)}'`)).join(' ');
}
