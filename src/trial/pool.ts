import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { ConcreteBackend } from '../backend/resolve.js';
import type { ChildMessage } from './protocol.js';
import { withHugePages } from './huge-pages.js';

const childPath = fileURLToPath(new URL('./child.js', import.meta.url));
const STDERR_KEEP = 64 * 1024;

/** A trial process, with what it said before anyone listened: its readiness and its stderr tail. */
export interface TrialProcess {
  child: ChildProcess;
  backend: ConcreteBackend;
  /** What the process loads before its spec arrives: the data set, as JSON (see child.ts). */
  preload: string;
  readyAt: number | null;
  stderr: () => string;
  /** Set by the taker: gets the trial's stderr as it comes (for --verbose). */
  onStderr: ((b: Buffer) => void) | null;
  onReady: (() => void) | null;
}

/** Trial processes alive now, so an interrupted bstune leaves no orphans. */
const live = new Set<ChildProcess>();
let spare: TrialProcess | null = null;

function start(backend: ConcreteBackend, preload: string, env: NodeJS.ProcessEnv): TrialProcess {
  const execArgv = process.env.BSTUNE_TEST_FAULT?.includes('heap:') ? ['--max-old-space-size=96'] : [];
  const child = fork(childPath, [backend, preload], { stdio: ['ignore', 'ignore', 'pipe', 'ipc'], execArgv, env: withHugePages(env), serialization: 'advanced' });
  live.add(child);
  child.on('exit', () => live.delete(child));
  child.on('error', () => live.delete(child));
  let tail = '';
  const p: TrialProcess = { child, backend, preload, readyAt: null, stderr: () => tail, onStderr: null, onReady: null };
  child.stderr?.on('data', (b: Buffer) => {
    p.onStderr?.(b);
    tail = (tail + b.toString()).slice(-STDERR_KEEP);
  });
  child.on('message', (m: ChildMessage) => {
    if (m.type !== 'ready') return;
    p.readyAt = performance.now();
    p.onReady?.();
  });
  return p;
}

/**
 * Only the offline backends are prepared ahead: loading libtensorflow in a spare process
 * would create a CUDA context and distort the running trial's device-memory figures.
 */
const prewarmable = (b: ConcreteBackend) => b === 'wasm' || b === 'cpu';

/**
 * A process for the next trial: the spare, if one is ready for this backend and data (it
 * loaded TensorFlow.js, its backend and the data set while the previous trial finished),
 * else a new one.
 */
export function takeTrialProcess(backend: ConcreteBackend, preload: string, env: NodeJS.ProcessEnv, plainEnv = true): TrialProcess {
  if (plainEnv && spare && spare.backend === backend && spare.preload === preload && spare.child.exitCode === null && spare.child.signalCode === null && !env.TF_FORCE_GPU_ALLOW_GROWTH) {
    const p = spare;
    spare = null;
    return p;
  }
  releaseSpare();
  return start(backend, preload, env);
}

/**
 * Starts the process for the next trial, to load while the current one validates and
 * exits. Same priority as every trial: the spare becomes the next measured trial, and a
 * process cannot raise its priority back, so a lowered one would skew its samples/s.
 */
export function startSpare(backend: ConcreteBackend, preload: string, env: NodeJS.ProcessEnv): void {
  if (!prewarmable(backend) || env.TF_FORCE_GPU_ALLOW_GROWTH) return;
  releaseSpare();
  spare = start(backend, preload, env);
}

/** Ends the spare process: call when no more trials will run. */
export function releaseSpare(): void {
  spare?.child.kill('SIGKILL');
  spare = null;
}

export function killAllTrials(): void {
  spare = null;
  for (const c of live) c.kill('SIGKILL');
}
