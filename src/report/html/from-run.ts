/**
 * `--html FILE` on sweep and find-max (and recommend): the same page the report command
 * makes, from the trials a run just produced, written before the command returns.
 */
import { resolve } from 'node:path';
import { writeOutput } from './write.js';
import { fromModel } from './data.js';
import { bstuneVersion } from '../../version.js';
import type { ReportInput, ReportTrial } from './types.js';

export interface RunReport {
  command: string;
  trials: ReportTrial[];
  config: { name: string; device: { memoryLimit: number | null } } & Record<string, unknown>;
  backend: { name: string; device: string };
  /** The results file, when the run wrote one. */
  source?: string;
  targetAccuracy?: number | null;
  recommendation?: ReportInput['recommendation'];
  /** find-max's fitted memory model, so the page draws the line the search used. */
  memoryModel?: { fixedBytes: number; bytesPerSample: number; r2: number; points: number } | null;
}

/** Renders and writes the page; returns its absolute path. */
export async function writeRunReport(cwd: string, file: string, r: RunReport): Promise<string> {
  const path = resolve(cwd, file);
  const now = new Date().toISOString();
  // vega and vega-lite load only when a report is asked for: sweep and find-max start as fast as before.
  const { renderHtmlReport } = await import('./index.js');
  const report = await renderHtmlReport({
    title: `bstune ${r.command}: ${r.config.name}`,
    source: r.source ?? `this ${r.command} run (no results file)`,
    command: r.command,
    trials: r.trials,
    config: r.config,
    memoryLimitBytes: r.config.device.memoryLimit,
    memoryFit: r.memoryModel ? fromModel(r.memoryModel, `${r.command}'s memory model over ${r.memoryModel.points} batch sizes`) : null,
    targetAccuracy: r.targetAccuracy ?? null,
    recommendation: r.recommendation ?? null,
    backend: r.backend,
    bstuneVersion,
    generatedAt: now,
    runDate: `${now} (this run finished)`,
  });
  writeOutput(path, report.html, '--html');
  return path;
}
