/**
 * The report page: one self-contained HTML file (inline CSS and SVG, no script, no link, no
 * font or image fetched), readable in light and dark mode and on paper. Pure.
 */
import { formatBytes } from '../stats.js';
import { fmtLr } from '../format.js';
import { style } from './style.js';
import type { ChartPlans } from './charts.js';
import type { ReportInput, ReportTrial } from './types.js';

export const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

const titles: Record<string, string> = {
  memory: 'Peak memory', throughput: 'Training speed', accuracy: 'Validation accuracy', loss: 'Validation loss', 'time-to-target': 'Time to target', noise: 'Gradient noise scale',
};

function backendOf(input: ReportInput): string {
  if (input.backend) return `${input.backend.name}${input.backend.device ? ` — ${input.backend.device}` : ''}`;
  const names = new Set(input.trials.map((t) => (typeof t.backend === 'string' ? `${t.backend}${t.device ? ` — ${t.device}` : ''}` : t.backend ? `${t.backend.name ?? '?'}${t.backend.device ? ` — ${t.backend.device}` : ''}` : null)).filter((x): x is string => x !== null));
  if (names.size > 0) return [...names].join('; ');
  const fromConfig = (input.config as { device?: { backend?: string } } | undefined)?.device?.backend;
  return fromConfig ? `${fromConfig} (from the hashed config; the records do not name the device)` : 'not recorded';
}

function datesOf(input: ReportInput): string {
  const ts = input.trials.map((t) => t.timestamp).filter((x): x is string => typeof x === 'string').sort();
  if (ts.length > 0) return ts[0] === ts[ts.length - 1] ? ts[0]! : `${ts[0]} to ${ts[ts.length - 1]}`;
  if (input.runDate) return input.runDate;
  return input.fileModified ? `${input.fileModified} (results file last modified; the records carry no timestamp)` : 'not recorded';
}

function versionsOf(input: ReportInput): string {
  const vs = [...new Set(input.trials.map((t) => t.bstuneVersion).filter((x): x is string => typeof x === 'string'))];
  const measured = vs.length > 0 ? `measured with ${vs.join(', ')}` : 'the records do not name the bstune that measured them';
  return `${esc(input.bstuneVersion)} made this report; ${esc(measured)}`;
}

const cell = (v: string) => `<td>${esc(v)}</td>`;
const num = (n: number | null | undefined, f: (n: number) => string) => (typeof n === 'number' && Number.isFinite(n) ? f(n) : '–');

function trialRow(t: ReportTrial): string {
  return `<tr class="outcome-${esc(t.outcome)}">${[
    String(t.batchSize) + (t.accumulate && t.accumulate > 1 ? ` × ${t.accumulate}` : ''),
    t.seed !== undefined ? String(t.seed) : '–',
    num(t.learningRate, fmtLr),
    t.outcome + (t.reason ? `: ${t.reason}` : ''),
    num(t.peakMemoryBytes, formatBytes),
    num(t.samplesPerSecond, (n) => Math.round(n).toLocaleString('en-US')),
    num(t.valAccuracy, (n) => `${(n * 100).toFixed(2)}%`),
    num(t.valLoss, (n) => n.toFixed(4)),
    String(t.history.length),
  ].map(cell).join('')}</tr>`;
}

export interface RenderedChart { id: string; svg: string; caption: string }

export function reportPage(input: ReportInput, plans: ChartPlans, rendered: RenderedChart[]): string {
  const sizes = [...new Set(input.trials.map((t) => t.batchSize))].sort((a, b) => a - b);
  const failed = input.trials.filter((t) => t.outcome !== 'ok');
  const summary = `${input.trials.length} run${input.trials.length === 1 ? '' : 's'} at batch size${sizes.length === 1 ? '' : 's'} ${sizes.join(', ')}${failed.length ? `; ${failed.length} not ok (${[...new Set(failed.map((t) => t.outcome))].join(', ')})` : ''}`;
  const rec = input.recommendation;
  const recHtml = rec
    ? `<section class="callout recommend"><h2>Recommendation</h2><p>Batch size <strong>${rec.batchSize}</strong>${rec.learningRate != null ? ` with learning rate <strong>${esc(fmtLr(rec.learningRate))}</strong>` : ''}.${rec.why ? ` ${esc(rec.why.charAt(0).toUpperCase() + rec.why.slice(1))}` : ''}</p></section>`
    : '';
  const skipped = input.skipped ?? [];
  const skippedHtml = skipped.length
    ? `<section class="callout warn" id="skipped"><h2>Skipped input</h2><ul>${skipped.map((s) => `<li>${esc(s)}</li>`).join('')}</ul></section>`
    : '';
  const figures = rendered.map((c) => `<figure class="chart" id="chart-${esc(c.id)}" data-chart="${esc(c.id)}" aria-label="${esc(titles[c.id] ?? c.id)}">${c.svg}<figcaption>${esc(c.caption)}</figcaption></figure>`).join('\n');
  const absentHtml = plans.absent.length ? `<section id="absent"><h2>Not shown</h2><ul>${plans.absent.map((a) => `<li>${esc(a)}</li>`).join('')}</ul></section>` : '';
  const config = input.config !== undefined ? JSON.stringify(input.config, null, 2) : 'not recorded';
  const limit = input.memoryLimitBytes != null ? formatBytes(input.memoryLimitBytes) : 'none';
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">
<meta name="generator" content="bstune ${esc(input.bstuneVersion)}">
<title>${esc(input.title)}</title>
<style>${style}</style>
</head>
<body>
<header>
<h1>${esc(input.title)}</h1>
<p class="summary">${esc(summary)}</p>
</header>
<main>
${recHtml}
${skippedHtml}
<div class="charts">
${figures}
</div>
${absentHtml}
<section id="trials"><h2>Runs</h2>
<table><thead><tr><th>batch</th><th>seed</th><th>lr</th><th>outcome</th><th>peak memory</th><th>samples/s</th><th>val acc</th><th>val loss</th><th>epochs</th></tr></thead>
<tbody>${input.trials.map(trialRow).join('\n')}</tbody></table>
</section>
<section id="run-info"><h2>Run</h2>
<dl>
<dt>results</dt><dd>${esc(input.source)}</dd>
${input.command ? `<dt>command</dt><dd>${esc(input.command)}</dd>` : ''}
<dt>bstune</dt><dd>${versionsOf(input)}</dd>
<dt>backend / device</dt><dd>${esc(backendOf(input))}</dd>
<dt>date of the runs</dt><dd>${esc(datesOf(input))}</dd>
<dt>report made</dt><dd>${esc(input.generatedAt)}</dd>
<dt>memory limit</dt><dd>${esc(limit)}</dd>
${plans.target !== null ? `<dt>target accuracy</dt><dd>${(plans.target * 100).toFixed(2)}%</dd>` : ''}
${input.configHash ? `<dt>config hash</dt><dd><code>${esc(input.configHash)}</code></dd>` : ''}
</dl>
<h3>Config</h3>
<pre>${esc(config)}</pre>
</section>
</main>
</body>
</html>
`;
}
