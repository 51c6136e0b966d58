import { bstuneVersion } from '../version.js';
import type { Config } from '../config/schema.js';
import type { BackendChoice } from '../backend/resolve.js';
import type { TrialResult } from '../trial/protocol.js';

/** Renaming or removing a field bumps this; adding fields does not. */
/**
 * 2: trials[].learningRate is the peak rate the run reached (the scaled target moved to
 * trials[].scaledLearningRate); find-max's learningRate became scaledLearningRate.
 */
export const schemaVersion = 2;

export interface JsonDocument {
  schemaVersion: number;
  command: 'find-max' | 'sweep' | 'train' | 'config-check' | 'recommend';
  bstuneVersion: string;
  backend?: { name: string; device: string; why: string; memory: string; warning?: string };
  config: Config;
  configPath: string;
  data?: string;
  trials?: TrialResult[];
  [extra: string]: unknown;
}

/**
 * `p.warnings` (the command's start-up warnings, e.g. --threads on a one-thread backend) go
 * first in the document's `warnings`, before any the command adds: with --json they are not on stderr.
 */
export function makeDocument(command: JsonDocument['command'], p: { config: Config; configPath: string; backend?: BackendChoice; data?: string; trials?: TrialResult[]; warnings?: string[] }, extra: Record<string, unknown> = {}): JsonDocument {
  const more = Array.isArray(extra.warnings) ? (extra.warnings as string[]) : [];
  const warnings = [...(p.warnings ?? []), ...more];
  return {
    schemaVersion, command, bstuneVersion,
    ...(p.backend ? { backend: { name: p.backend.name, device: p.backend.device, why: p.backend.why, memory: p.backend.memory, ...(p.backend.warning ? { warning: p.backend.warning } : {}) } } : {}),
    config: p.config, configPath: p.configPath,
    ...(p.data !== undefined ? { data: p.data } : {}),
    ...(p.trials ? { trials: p.trials } : {}),
    ...extra,
    ...(p.warnings !== undefined || extra.warnings !== undefined ? { warnings } : {}),
  };
}
