import { spawn, spawnSync } from 'node:child_process';
import { binPath, repoRoot } from './cli.js';

/** util-linux `script` gives a real pseudo-terminal; null when it is missing (then the tests say so and skip). */
export const scriptBin: string | null = (() => {
  const r = spawnSync('script', ['--version'], { encoding: 'utf8' });
  return r.status === 0 && /util-linux/.test(r.stdout) ? 'script' : null;
})();

export interface PtyResult {
  code: number | null;
  /** Everything the terminal received (stdout and stderr share it), escapes included. */
  output: Buffer;
  timedOut: boolean;
}

const sh = (w: string) => `'${w.replace(/'/g, `'\\''`)}'`;

/**
 * Runs `node bin/bstune.js ...args` on a pseudo-terminal of the given size, the way
 * `script -q -c "stty cols 0 rows 0; npx bstune find-max" log` does, killed after
 * timeoutMs. The output is capped at capBytes so a flood cannot fill the test's memory.
 */
export function runInPty(args: string[], opts: { cols: number; rows: number; cwd?: string; env?: Record<string, string | undefined>; timeoutMs?: number; capBytes?: number }): Promise<PtyResult> {
  const inner = `stty cols ${opts.cols} rows ${opts.rows} && exec ${[process.execPath, binPath, ...args].map(sh).join(' ')}`;
  const env: NodeJS.ProcessEnv = { ...process.env, TERM: 'xterm-256color', ...opts.env };
  // CI=… and NO_COLOR would turn the spinner off on their own; these tests look at what a person's terminal gets.
  delete env.CI;
  delete env.NO_COLOR;
  delete env.DEBUG;
  for (const [k, v] of Object.entries(opts.env ?? {})) if (v === undefined) delete env[k];
  const cap = opts.capBytes ?? 4 * 2 ** 20;
  return new Promise((resolve, reject) => {
    // -e: script exits with the command's code; the log goes to /dev/null, the terminal's output to our pipe.
    const child = spawn(scriptBin ?? 'script', ['-q', '-e', '-c', inner, '/dev/null'], { cwd: opts.cwd ?? repoRoot, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    const chunks: Buffer[] = [];
    let size = 0;
    let timedOut = false;
    const kill = () => {
      try {
        process.kill(-child.pid!, 'SIGKILL'); // script, the shell and bstune with its trials
      } catch {
        /* already gone */
      }
    };
    const timer = setTimeout(() => {
      timedOut = true;
      kill();
    }, opts.timeoutMs ?? 90_000);
    const take = (b: Buffer) => {
      if (size < cap) chunks.push(b);
      size += b.length;
    };
    child.stdout!.on('data', take);
    child.stderr!.on('data', take);
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      if (timedOut) kill();
      const output = Buffer.concat(chunks);
      resolve({ code, output: size > cap ? Buffer.concat([output, Buffer.from(`\n[... ${size - cap} more bytes]`)]) : output, timedOut });
    });
  });
}
