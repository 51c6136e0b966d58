/**
 * Ends this trial process when its parent (bstune) is gone, even while the event loop is
 * blocked in a long synchronous kernel (where IPC's 'disconnect' cannot fire).
 *
 * On Linux a /bin/sh loop does it: it reads /proc/<trial>/stat every half second with
 * shell builtins and SIGKILLs the trial once it has been re-parented. A thread would do
 * as well, but a Node worker thread boots a whole Node environment: 60-110 ms of CPU per
 * trial process, paid again by every trial (measured on 2 cores; with --parallel 2 the
 * cores are full, so that is time taken from the trials). Elsewhere (no /proc): the worker.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { Worker } from 'node:worker_threads';

/**
 * The loop: $1 the parent's pid, $2 this process's pid, $3 its start time (field 22 of
 * /proc/<pid>/stat), so a recycled pid is never killed. It ends on its own when the trial
 * exits (stat gone or a zombie). Ctrl-C reaches the whole process group: the loop ignores
 * it, as the trial does (the parent owns interruption).
 * `sleep` is the one program it runs: from the trial's PATH, else /bin or /usr/bin, else a
 * whole second (a sleep that takes no fractions); with none it ends rather than spin a core.
 * The part after the last ") " is state, ppid, ... (the command name before it may hold
 * spaces or parentheses).
 */
export const WATCHDOG_SCRIPT = `
trap '' INT
while IFS= read -r s < "/proc/$2/stat"; do
  s=\${s##*) }
  set -f; set -- "$1" "$2" "$3" $s; set +f
  [ "$4" = Z ] && exit 0
  [ "\${23}" = "$3" ] || exit 0
  if [ "$5" != "$1" ]; then kill -9 "$2"; exit 0; fi
  sleep 0.5 || /bin/sleep 0.5 || /usr/bin/sleep 0.5 || sleep 1 || exit 0
done 2>/dev/null
`;

/** Field 22 of /proc/self/stat: when this process started, in clock ticks since boot. */
export function startTimeOf(stat: string): string | null {
  const fields = stat.slice(stat.lastIndexOf(') ') + 2).split(' ');
  return fields[19] ?? null;
}

export function startWatchdog(parent: number, readStat: () => string): void {
  let start: string | null = null;
  try {
    if (process.platform === 'linux' && existsSync('/bin/sh')) start = startTimeOf(readStat());
  } catch {
    // no /proc (an unusual container): the worker below
  }
  if (start !== null) {
    const sh = spawn('/bin/sh', ['-c', WATCHDOG_SCRIPT, 'bstune-watchdog', String(parent), String(process.pid), start], { stdio: 'ignore' });
    sh.on('error', () => startWorker(parent));
    sh.unref();
    return;
  }
  startWorker(parent);
}

function startWorker(parent: number): void {
  const watchdog = new Worker(
    `const { workerData } = require('node:worker_threads');
     setInterval(() => { if (process.ppid !== workerData.parent) process.kill(process.pid, 'SIGKILL'); }, 500);`,
    { eval: true, workerData: { parent }, resourceLimits: { maxOldGenerationSizeMb: 8 } },
  );
  watchdog.unref();
}
