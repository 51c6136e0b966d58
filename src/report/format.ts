import { formatBytes } from './stats.js';

const useColor = (stream: NodeJS.WriteStream) => stream.isTTY === true && !process.env.NO_COLOR;

export function paint(stream: NodeJS.WriteStream, code: 'red' | 'green' | 'yellow' | 'dim' | 'bold', text: string): string {
  if (!useColor(stream)) return text;
  const codes = { red: 31, green: 32, yellow: 33, dim: 2, bold: 1 } as const;
  return `\u001b[${codes[code]}m${text}\u001b[0m`;
}

export const dash = '–';
export const fmtBytes = (n: number | null | undefined) => (n === null || n === undefined ? dash : formatBytes(n));
export const fmtRate = (n: number | null | undefined) => (n === null || n === undefined ? dash : Math.round(n).toLocaleString('en-US'));
export const fmtPct = (n: number | null | undefined) => (n === null || n === undefined || Number.isNaN(n) ? dash : `${(n * 100).toFixed(2)}%`);
export const fmtNum = (n: number | null | undefined, digits = 4) => (n === null || n === undefined ? dash : n.toFixed(digits));
export const fmtSec = (n: number | null | undefined) => (n === null || n === undefined ? dash : `${n.toFixed(2)} s`);
export function fmtLr(n: number): string {
  return n >= 0.01 ? n.toFixed(4).replace(/0+$/, '').replace(/\.$/, '') : n.toPrecision(3).replace(/\.?0+(e|$)/, '$1');
}

/** A B_simple value in samples, with its standard error when known: "287 ± 99". */
export function fmtNoise(b: number | null | undefined, se?: number | null): string {
  if (b === null || b === undefined) return dash;
  const r = (n: number) => (n >= 10 ? Math.round(n).toLocaleString('en-US') : n.toPrecision(2));
  return se !== null && se !== undefined ? `${r(b)} ± ${r(se)}` : r(b);
}

/** The peak rate a run reached, starred when warmup kept it below the scaled rate (say why in a footnote). */
export function fmtReachedLr(reached: number | null, scaled: number): string {
  if (reached === null) return dash;
  return belowScaled(reached, scaled) ? `${fmtLr(reached)}*` : fmtLr(reached);
}

export const belowScaled = (reached: number | null, scaled: number): boolean => reached !== null && reached < scaled * (1 - 1e-9);

export const reachedLrFootnote = '* lr: the peak rate the run reached; warmup outlasted it, so it never reached its scaled rate (scaledLearningRate in --json)';
