/**
 * Vega-Lite spec → SVG text, in Node: vega-lite compiles to a Vega spec, a headless vega
 * View (renderer 'none') lays it out and serialises SVG. No canvas, no browser, no network
 * (every spec carries its data inline). Warnings are collected instead of printed.
 */
import { parse, View, type LoggerInterface } from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';

function collectingLogger(into: string[]): LoggerInterface {
  let level = 2;
  const logger: LoggerInterface = {
    level(l?: number) {
      if (l === undefined) return level as never;
      level = l;
      return logger as never;
    },
    error: (...a: readonly unknown[]) => (into.push(`error: ${a.map(String).join(' ')}`), logger),
    warn: (...a: readonly unknown[]) => (into.push(`warning: ${a.map(String).join(' ')}`), logger),
    info: () => logger,
    debug: () => logger,
  } as LoggerInterface;
  return logger;
}

/** Element ids made unique per chart, so several inline SVGs on one page never share a clip path. */
function prefixIds(svg: string, prefix: string): string {
  return svg.replace(/\bid="([^"]+)"/g, `id="${prefix}-$1"`).replace(/url\(#([^)]+)\)/g, `url(#${prefix}-$1)`);
}

export async function renderSvg(spec: TopLevelSpec, idPrefix: string): Promise<{ svg: string; warnings: string[] }> {
  const warnings: string[] = [];
  const logger = collectingLogger(warnings);
  const vg = compile(spec, { logger: logger as never }).spec;
  const view = new View(parse(vg), { renderer: 'none', logger });
  try {
    const svg = await view.toSVG();
    return { svg: prefixIds(svg, idPrefix), warnings };
  } finally {
    view.finalize();
  }
}
