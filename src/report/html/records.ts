/**
 * Reading a results file for a report. Pure: text in, records and notes out. Unlike a resume
 * (src/results/file.ts), a report never changes the file: a torn or foreign line is skipped
 * and the report says so; only a file that mixes configs, or holds nothing usable, is an error.
 */
import { BstuneError } from '../../errors.js';
import { configDiff } from '../../results/record.js';
import type { ReportTrial } from './types.js';

export interface ParsedResults {
  trials: ReportTrial[];
  /** One line per thing left out, e.g. "line 7: not JSON (a write cut short?)". */
  skipped: string[];
  configHash: string | null;
  hashedConfig: unknown;
}

const isObj = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

/** What makes a line a trial record: the fields every chart keys on. */
function asTrial(v: unknown): ReportTrial | null {
  if (!isObj(v)) return null;
  if (typeof v.batchSize !== 'number' || !Number.isFinite(v.batchSize) || v.batchSize < 1) return null;
  if (typeof v.outcome !== 'string') return null;
  if (v.history !== undefined && !Array.isArray(v.history)) return null;
  return { ...(v as unknown as ReportTrial), history: Array.isArray(v.history) ? (v.history as ReportTrial['history']) : [] };
}

/**
 * Parses JSONL. `pick` chooses one config hash when the file mixes several (else that is an
 * error naming them and what differs). The newest line for a (batch, seed) counts, as for a resume.
 */
export function parseResults(text: string, where: string, pick?: string): ParsedResults {
  const skipped: string[] = [];
  const all: { t: ReportTrial; line: number }[] = [];
  const lines = text.split('\n');
  for (const [i, raw] of lines.entries()) {
    if (raw.trim() === '') continue;
    const n = i + 1;
    let v: unknown;
    try {
      v = JSON.parse(raw);
    } catch {
      const last = i === lines.length - 1 || lines.slice(i + 1).every((l) => l.trim() === '');
      skipped.push(`line ${n}: not JSON${last ? ' (the last write was cut short?)' : ''}`);
      continue;
    }
    const t = asTrial(v);
    if (t === null) {
      skipped.push(`line ${n}: JSON but not a bstune trial record (no batchSize/outcome)`);
      continue;
    }
    all.push({ t, line: n });
  }
  if (all.length === 0) {
    const why = text.trim() === '' ? 'results file is empty' : `results file holds no trial records (${skipped.length} line${skipped.length === 1 ? '' : 's'} skipped: ${skipped[0]})`;
    throw new BstuneError('BSTUNE_USAGE', why, where);
  }

  const hashOf = (t: ReportTrial) => (typeof t.configHash === 'string' ? t.configHash : '(none)');
  const groups = new Map<string, { t: ReportTrial; line: number }[]>();
  for (const r of all) groups.set(hashOf(r.t), [...(groups.get(hashOf(r.t)) ?? []), r]);
  let chosen: string;
  if (pick !== undefined) {
    const match = [...groups.keys()].filter((h) => h.startsWith(pick));
    if (match.length !== 1) {
      throw new BstuneError('BSTUNE_USAGE', `${match.length === 0 ? 'no' : 'more than one'} config in the file matches --config-hash ${pick}; it holds ${describeGroups(groups)}`, '--config-hash');
    }
    chosen = match[0]!;
  } else if (groups.size > 1) {
    const [a, b] = [...groups.values()];
    const diff = configDiff(a![0]!.t.hashedConfig, b![0]!.t.hashedConfig);
    const what = diff.length > 0 ? `; they differ in ${diff.slice(0, 2).join('; ')}${diff.length > 2 ? ` and ${diff.length - 2} more` : ''}` : '';
    throw new BstuneError('BSTUNE_USAGE', `results file mixes ${groups.size} configs (${describeGroups(groups)})${what}; choose one with --config-hash HASH`, where);
  } else {
    chosen = [...groups.keys()][0]!;
  }
  for (const [h, rs] of groups) {
    if (h !== chosen) skipped.push(`${rs.length} record${rs.length === 1 ? '' : 's'} of config ${h} (lines ${rs.map((r) => r.line).join(', ')}): another config than --config-hash ${pick ?? ''}`.trim());
  }
  const kept = groups.get(chosen)!;
  // A resume re-runs failed runs: the newest line for a (batch, seed) is the one that counts.
  const key = (t: ReportTrial) => `${t.batchSize}/${t.seed ?? ''}/${t.accumulate ?? 1}`;
  const trials: ReportTrial[] = [];
  for (const [i, r] of kept.entries()) {
    const newer = kept.slice(i + 1).find((s) => key(s.t) === key(r.t));
    if (newer) skipped.push(`line ${r.line}: batch ${r.t.batchSize}${r.t.seed !== undefined ? ` seed ${r.t.seed}` : ''} (${r.t.outcome}) superseded by line ${newer.line}`);
    else trials.push(r.t);
  }
  return { trials, skipped, configHash: chosen === '(none)' ? null : chosen, hashedConfig: kept[kept.length - 1]!.t.hashedConfig };
}

function describeGroups(groups: Map<string, { line: number }[]>): string {
  return [...groups.entries()].map(([h, rs]) => `${h}: ${rs.length} record${rs.length === 1 ? '' : 's'} from line ${rs[0]!.line}`).join(', ');
}
