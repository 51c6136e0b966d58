import { readFileSync, statSync } from 'node:fs';
import { basename, resolve } from 'node:path';
import { BstuneError, ExitCode } from '../../errors.js';
import { parseResults } from '../../report/html/records.js';
import { writeOutput } from '../../report/html/write.js';
import { epochsCsv, trialsCsv } from '../../report/csv.js';
import { bstuneVersion } from '../../version.js';
import { parseSize } from '../../report/stats.js';
import { schemaVersion } from '../../report/document.js';
import type { Context, CommandOutput } from '../context.js';

/** `bstune report RESULTS.jsonl [--html FILE] [--csv FILE] [--epochs-csv FILE]`: charts and tables from a results file; no training. */
export async function run(ctx: Context): Promise<CommandOutput> {
  const a = ctx.args;
  const path = resolve(ctx.cwd, a.results!);
  let text: string;
  let modified: string;
  try {
    const st = statSync(path);
    if (st.isDirectory()) throw new BstuneError('BSTUNE_USAGE', 'results file is a directory', path);
    modified = st.mtime.toISOString();
    text = readFileSync(path, 'utf8');
  } catch (e) {
    if (e instanceof BstuneError) throw e;
    const code = (e as NodeJS.ErrnoException).code;
    throw new BstuneError('BSTUNE_USAGE', code === 'ENOENT' ? 'results file not found' : `cannot read results file (${code})`, path);
  }
  const parsed = parseResults(text, path, a.configHash);
  const flagValue = (flag: string) => a.overrides.find((o) => o.flag === flag)?.value;
  const hashed = parsed.hashedConfig as { device?: { memoryLimit?: unknown } } | undefined;
  const limitFlag = flagValue('--memory-limit');
  // The flag arrives as written ("64MiB"), checked by the parser; the file holds bytes.
  const limit = typeof limitFlag === 'string' ? parseSize(limitFlag) : typeof hashed?.device?.memoryLimit === 'number' ? hashed.device.memoryLimit : null;
  const target = flagValue('--target-accuracy');

  const noOutput = a.html === undefined && a.csv === undefined && a.epochsCsv === undefined;
  // With no output named, the page goes beside the results file: x.jsonl → x.html.
  const htmlPath = a.html !== undefined ? resolve(ctx.cwd, a.html) : noOutput ? path.replace(/(\.jsonl?)?$/, '.html') : undefined;
  for (const [flag, out] of [['--html', htmlPath], ['--csv', a.csv], ['--epochs-csv', a.epochsCsv]] as const) {
    if (out !== undefined && resolve(ctx.cwd, out) === path) throw new BstuneError('BSTUNE_USAGE', 'would overwrite the results file it reads', flag);
  }

  const lines: string[] = [];
  const doc: Record<string, unknown> = { schemaVersion, command: 'report', bstuneVersion, resultsFile: path, configHash: parsed.configHash, runs: parsed.trials.length, skipped: parsed.skipped };
  if (htmlPath !== undefined) {
    ctx.progress.start('rendering charts…');
    const { renderHtmlReport } = await import('../../report/html/index.js');
    const report = await renderHtmlReport({
      title: `bstune report: ${basename(path)}`, source: path, trials: parsed.trials, config: parsed.hashedConfig, configHash: parsed.configHash,
      memoryLimitBytes: limit, targetAccuracy: typeof target === 'number' ? target : null, skipped: parsed.skipped,
      bstuneVersion, generatedAt: new Date().toISOString(), fileModified: modified,
    });
    writeOutput(htmlPath, report.html, '--html');
    ctx.progress.done(`report written: ${htmlPath}`);
    lines.push(`html: ${htmlPath} (${report.charts.length} chart${report.charts.length === 1 ? '' : 's'}: ${report.charts.join(', ')})`);
    lines.push(...report.absent.map((s) => `  not shown: ${s}`));
    Object.assign(doc, { html: htmlPath, charts: report.charts, absent: report.absent, warnings: report.warnings });
    if (ctx.args.common.verbose) for (const w of report.warnings) ctx.stderr.write(`bstune: vega ${w}\n`);
  }
  if (a.csv !== undefined) {
    const out = resolve(ctx.cwd, a.csv);
    writeOutput(out, trialsCsv(parsed.trials), '--csv');
    lines.push(`csv: ${out} (${parsed.trials.length} trial row${parsed.trials.length === 1 ? '' : 's'})`);
    doc.csv = out;
  }
  if (a.epochsCsv !== undefined) {
    const out = resolve(ctx.cwd, a.epochsCsv);
    const n = parsed.trials.reduce((s, t) => s + t.history.length, 0);
    writeOutput(out, epochsCsv(parsed.trials), '--epochs-csv');
    lines.push(`epochs csv: ${out} (${n} epoch row${n === 1 ? '' : 's'})`);
    doc.epochsCsv = out;
  }
  const head = `${parsed.trials.length} run${parsed.trials.length === 1 ? '' : 's'} from ${path}${parsed.configHash ? ` (config ${parsed.configHash})` : ''}`;
  const skipped = parsed.skipped.map((s) => `  skipped: ${s}`);
  return { document: doc as CommandOutput['document'], human: `${[head, ...skipped, ...lines].join('\n')}\n`, exitCode: ExitCode.ok };
}
