import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

/**
 * Mesa's software Vulkan device as unpacked by .ci/install-lavapipe, selected per process
 * through the environment of the processes a test starts (never this process's own).
 * null when it is not there: outside CI the WebGPU tests then skip and say so; in CI
 * (.ci/run installs it first) they fail.
 */
export function lavapipeEnv(): Record<string, string> | null {
  const dir = process.env.BSTUNE_LAVAPIPE_DIR ?? join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'bstune', 'lavapipe');
  const icd = join(dir, 'icd.json');
  if (!existsSync(join(dir, 'ready')) || !existsSync(icd) || !existsSync(join(dir, 'libdir'))) return null;
  const libdir = readFileSync(join(dir, 'libdir'), 'utf8').trim();
  const ld = [libdir, process.env.LD_LIBRARY_PATH].filter(Boolean).join(':');
  // VK_ICD_FILENAMES for older loaders (Debian 12's 1.3.239), VK_DRIVER_FILES for newer ones.
  return { VK_ICD_FILENAMES: icd, VK_DRIVER_FILES: icd, LD_LIBRARY_PATH: ld };
}

export const LAVAPIPE_MISSING = 'SKIPPED: Mesa lavapipe not found; run `bash .ci/install-lavapipe` (as root) to test WebGPU';
