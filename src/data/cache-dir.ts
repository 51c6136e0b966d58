import { homedir } from 'node:os';
import { join, resolve } from 'node:path';

/**
 * Where bstune keeps derived data: BSTUNE_CACHE_DIR, else $XDG_CACHE_HOME/bstune,
 * else ~/.cache/bstune. Empty variables count as unset, as the XDG spec asks.
 */
export function cacheDir(env: NodeJS.ProcessEnv = process.env): string {
  const explicit = env.BSTUNE_CACHE_DIR;
  if (explicit) return resolve(explicit);
  const xdg = env.XDG_CACHE_HOME;
  // The XDG spec says relative values are invalid and must be ignored.
  if (xdg && xdg.startsWith('/')) return join(xdg, 'bstune');
  return join(env.HOME || homedir(), '.cache', 'bstune');
}
