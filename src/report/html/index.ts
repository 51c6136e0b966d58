/**
 * The HTML report: `renderHtmlReport(input)` returns the whole page. The report command,
 * `sweep --html`, `find-max --html` (and recommend) build a ReportInput and call this.
 */
import { planCharts } from './charts.js';
import { reportPage, type RenderedChart } from './page.js';
import { renderSvg } from './render.js';
import type { ReportInput } from './types.js';

export type { ReportInput, ReportTrial, Recommendation, MemoryFit } from './types.js';

export interface HtmlReport {
  html: string;
  /** The charts drawn, in page order. */
  charts: string[];
  /** What could not be drawn, one sentence each. */
  absent: string[];
  /** Anything vega warned about while laying out the charts. */
  warnings: string[];
}

export async function renderHtmlReport(input: ReportInput): Promise<HtmlReport> {
  const plans = planCharts(input);
  const rendered: RenderedChart[] = [];
  const warnings: string[] = [];
  for (const c of plans.charts) {
    const r = await renderSvg(c.spec, `c-${c.id}`);
    rendered.push({ id: c.id, svg: r.svg, caption: c.caption });
    warnings.push(...r.warnings.map((w) => `${c.id}: ${w}`));
  }
  return { html: reportPage(input, plans, rendered), charts: plans.charts.map((c) => c.id), absent: plans.absent, warnings };
}
