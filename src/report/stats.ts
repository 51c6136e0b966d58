/**
 * Small statistics and byte-size helpers shared by reports, config and tests.
 * Summaries of an empty list are NaN rather than a throw so a report can print
 * "—" for a batch size that produced no measurements.
 */
import { BstuneError } from '../errors.js';

export function mean(xs: readonly number[]): number {
  if (xs.length === 0) return NaN;
  let sum = 0;
  for (const x of xs) sum += x;
  return sum / xs.length;
}

/** Sample standard deviation (n − 1); 0 for fewer than two values. */
export function std(xs: readonly number[]): number {
  if (xs.length < 2) return 0;
  const m = mean(xs);
  let ss = 0;
  for (const x of xs) ss += (x - m) ** 2;
  return Math.sqrt(ss / (xs.length - 1));
}

export function median(xs: readonly number[]): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

export interface LinearFit {
  slope: number;
  intercept: number;
  /** Coefficient of determination; 1 when every y is equal (the flat line fits exactly). */
  r2: number;
}

/**
 * Ordinary least squares y = slope·x + intercept. Fewer than two points or all
 * x equal leave the line undetermined: every field is NaN.
 */
export function linearFit(xs: readonly number[], ys: readonly number[]): LinearFit {
  if (xs.length !== ys.length) {
    throw new RangeError(`linearFit: ${xs.length} xs but ${ys.length} ys`);
  }
  const undetermined = { slope: NaN, intercept: NaN, r2: NaN };
  if (xs.length < 2) return undetermined;
  const mx = mean(xs);
  const my = mean(ys);
  let sxx = 0;
  let sxy = 0;
  let syy = 0;
  for (let i = 0; i < xs.length; i++) {
    const dx = xs[i] - mx;
    const dy = ys[i] - my;
    sxx += dx * dx;
    sxy += dx * dy;
    syy += dy * dy;
  }
  if (sxx === 0) return undetermined;
  const slope = sxy / sxx;
  const intercept = my - slope * mx;
  // r² = explained / total variance; computed as sxy²/(sxx·syy) to avoid a second pass.
  const r2 = syy === 0 ? 1 : Math.min(1, (sxy * sxy) / (sxx * syy));
  return { slope, intercept, r2 };
}

const BINARY_UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'] as const;

/** Binary units with one decimal when it matters: "0 B", "512 KiB", "1.2 GiB". */
export function formatBytes(n: number): string {
  if (!Number.isFinite(n)) return `${n} B`;
  const sign = n < 0 ? '-' : '';
  let v = Math.abs(n);
  let unit = 0;
  while (v >= 1024 && unit < BINARY_UNITS.length - 1) {
    v /= 1024;
    unit++;
  }
  if (unit === 0) return `${sign}${Math.round(v)} B`;
  let shown = v.toFixed(1);
  // 1023.96 KiB rounds to "1024.0"; show it as the next unit instead.
  if (Number(shown) >= 1024 && unit < BINARY_UNITS.length - 1) {
    unit++;
    shown = (Number(shown) / 1024).toFixed(1);
  }
  return `${sign}${shown.replace(/\.0$/, '')} ${BINARY_UNITS[unit]}`;
}

const UNIT_BYTES: Record<string, number> = {
  b: 1,
  kb: 1e3,
  mb: 1e6,
  gb: 1e9,
  tb: 1e12,
  k: 1024,
  kib: 1024,
  m: 1024 ** 2,
  mib: 1024 ** 2,
  g: 1024 ** 3,
  gib: 1024 ** 3,
  t: 1024 ** 4,
  tib: 1024 ** 4,
};
const UNITS_HELP = 'B, KB, MB, GB, TB (powers of 1000) or KiB, MiB, GiB, TiB, K, M, G (powers of 1024)';

/** A number alone counts bytes only from 1 MiB up: below that it is surely a missing unit. */
export const MIN_BARE_BYTES = 1024 ** 2;

function bad(text: string, why: string): BstuneError {
  return new BstuneError('BSTUNE_USAGE', `"${text}" is not a size: ${why}`);
}

/**
 * A positive whole number of bytes from "1048576", "512MiB", "1.5GB", "1 GiB", "64B".
 * A number without a unit is bytes and must be at least 1 MiB ("64" is refused).
 * K/M/G alone mean KiB/MiB/GiB as in most memory flags. A fraction is allowed
 * with a unit and rounded to the nearest byte, but "1.5" bytes is refused: it
 * is more likely a missing unit than an intent.
 */
export function parseSize(text: string | number): number {
  const raw = String(text);
  if (typeof text === 'number') {
    if (!Number.isFinite(text)) throw bad(raw, 'not a finite number');
  }
  const m = /^\s*([+-]?)(\d+(?:\.\d+)?|\.\d+)\s*([a-z]*)\s*$/i.exec(raw);
  if (!m) {
    throw bad(raw, raw.trim() === '' ? 'empty' : `expected a number and an optional unit (${UNITS_HELP})`);
  }
  const [, sign, digits, unitText] = m;
  if (sign === '-') throw bad(raw, 'must be positive');
  const unit = unitText.toLowerCase();
  const factor = unit === '' ? 1 : UNIT_BYTES[unit];
  if (factor === undefined) throw bad(raw, `unknown unit "${unitText}" (use ${UNITS_HELP})`);
  const value = Number(digits);
  if (factor === 1 && !Number.isInteger(value)) throw bad(raw, 'a byte count must be a whole number');
  const bytes = Math.round(value * factor);
  if (bytes <= 0) throw bad(raw, 'must be positive');
  // `--memory-limit 64` meant 64 bytes, and every trial then "ran out of memory".
  if (unit === '' && bytes < MIN_BARE_BYTES) throw bad(raw, `without a unit it would mean ${bytes} bytes; write ${digits}MiB or ${digits}GiB (or ${digits}B if you mean bytes)`);
  if (!Number.isSafeInteger(bytes)) throw bad(raw, 'too large');
  return bytes;
}
