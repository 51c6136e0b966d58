// One bstune command for a bench: wall seconds, the CPU seconds it and its trial processes
// used, the load around it, and its --json document.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../..', import.meta.url));

/** CPU seconds of this process's waited-for children (Linux /proc; null elsewhere). */
export function childCpuSeconds() {
  try {
    const fields = readFileSync('/proc/self/stat', 'utf8').split(') ')[1].split(' ');
    // cutime and cstime (fields 16 and 17 of stat) in clock ticks at USER_HZ = 100; they count
    // grandchildren (trial processes) once their parent waited for them.
    return (Number(fields[13]) + Number(fields[14])) / 100;
  } catch {
    return null;
  }
}

/** Runs `bstune ARGS --json` from the checkout; resolves with its exit code, times and document. */
export function runBstune(args, env = {}) {
  return new Promise((resolve) => {
    const cpu0 = childCpuSeconds();
    const load = loadavg()[0];
    const t0 = performance.now();
    const child = spawn(process.execPath, ['bin/bstune.js', ...args, '--json'], { cwd: root, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    child.on('close', (code) => {
      const wall = (performance.now() - t0) / 1000;
      const cpu1 = childCpuSeconds();
      let doc = null;
      try { doc = JSON.parse(out); } catch { /* the caller reports a missing document */ }
      resolve({ code, wall, cpu: cpu0 !== null && cpu1 !== null ? cpu1 - cpu0 : null, loadBefore: load, loadAfter: loadavg()[0], doc, stderr: err.trim().split('\n').slice(-3).join('\n') });
    });
  });
}
