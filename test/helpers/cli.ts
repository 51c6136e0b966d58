import { spawn } from 'node:child_process';
import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root (the folder holding bin/, dist/, configs/). */
export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const binPath = join(repoRoot, 'bin', 'bstune.js');

export interface RunOptions {
  cwd?: string;
  /** Added to the inherited environment (NO_COLOR=1 is always set). */
  env?: Record<string, string | undefined>;
  /** Written to stdin, which is then closed; without it stdin is closed at once. */
  input?: string | Buffer;
  /** Kill the process after this long (default 60 s); the result then has code null. */
  timeoutMs?: number;
  /** Another copy of bin/bstune.js to run (an installed layout); default this clone's. */
  bin?: string;
}

export interface RunResult {
  /** Exit code, or null when the process was killed by a signal (signal says which). */
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
}

/** Runs `node bin/bstune.js ...args` the way a user would, without a shell. */
export function runCli(args: string[], opts: RunOptions = {}): Promise<RunResult> {
  return new Promise((resolvePromise, reject) => {
    const env: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: '1', FORCE_COLOR: undefined, ...opts.env };
    // DEBUG=bstune in the test runner's env would add stacks on purpose; tests set it explicitly.
    if (!opts.env || !('DEBUG' in opts.env)) delete env.DEBUG;
    const child = spawn(process.execPath, [opts.bin ?? binPath, ...args], { cwd: opts.cwd ?? repoRoot, env, stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, opts.timeoutMs ?? 60_000);
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolvePromise({ code, signal, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8'), timedOut });
    });
    child.stdin.on('error', () => {}); // the CLI may exit before reading stdin
    child.stdin.end(opts.input ?? '');
  });
}

/** A fresh temporary folder (left for the OS to clean; tests may rm it in afterAll). */
export function tmpDir(prefix = 'bstune-test-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/** Writes `{ 'relative/path': content }` under dir, creating folders; returns dir. */
export function writeFiles(dir: string, files: Record<string, string | Buffer>): string {
  for (const [rel, content] of Object.entries(files)) {
    const path = join(dir, rel);
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, content);
  }
  return dir;
}

/** Removes ANSI escapes so output compares the same with or without a TTY. */
export function stripAnsi(s: string): string {
  // eslint-disable-next-line no-control-regex
  return s.replace(/\x1b\[[0-9;?]*[ -/]*[@-~]/g, '');
}
