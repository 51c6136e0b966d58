/**
 * `sweep --queue` and `bstune worker` against a real redis-server on loopback (its own
 * instance per suite, on a free port, nothing saved). Trials are real and tiny (a few hundred
 * samples, one or two epochs); stall detection is shortened with --stall-timeout.
 */
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { binPath, runCli, tmpDir } from './helpers/cli.js';
import { redisMissing, startRedis, type RedisServer } from './helpers/redis.js';
import { lavapipeEnv, LAVAPIPE_MISSING } from './helpers/lavapipe.js';

const lavapipe = lavapipeEnv();

const missing = redisMissing();
if (missing) console.warn(`queue tests skipped: ${missing}`);

interface Proc {
  child: ChildProcess;
  out: () => string;
  err: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

const started: Proc[] = [];

function bstune(args: string[], cwd: string, env: Record<string, string> = {}): Proc {
  const child = spawn(process.execPath, [binPath, ...args], { cwd, env: { ...process.env, NO_COLOR: '1', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout!.on('data', (b: Buffer) => (out += b.toString()));
  child.stderr!.on('data', (b: Buffer) => (err += b.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) => child.on('close', (code, signal) => r({ code, signal })));
  const p = { child, out: () => out, err: () => err, exited };
  started.push(p);
  return p;
}

async function until(what: string, ok: () => boolean, timeoutMs = 180_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!ok()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Trial processes whose parent is `pid`. */
function trialChildren(pid: number): number[] {
  const out = execFileSync('ps', ['-eo', 'pid=,ppid=,args='], { encoding: 'utf8' });
  return out.split('\n').flatMap((line) => {
    const m = /^\s*(\d+)\s+(\d+)\s+(.*)$/.exec(line);
    return m && Number(m[2]) === pid && m[3]!.includes('dist/trial/child.js') ? [Number(m[1])] : [];
  });
}

interface Line { batchSize: number; seed: number; outcome: string; seconds: number; ranOn?: { host: string } }
const lines = (file: string): Line[] => (existsSync(file) ? readFileSync(file, 'utf8').split('\n').filter((l) => l.endsWith('}')).map((l) => JSON.parse(l) as Line) : []);
const sizes = (ls: Line[]) => ls.map((l) => l.batchSize).sort((a, b) => a - b);
/** Trials a worker finished, from its log lines ("✔ batch 32 seed 42: ok in 3.1 s"). */
const finishedBy = (w: Proc) => (w.err().match(/^. batch \d+ seed \d+: \w+/gm) ?? []).length;

const quick = ['--epochs', '1', '--train-limit', '400'];
const workerReady = (w: Proc) => w.err().includes('worker ready');

// Generous limits: on a loaded machine a tiny trial can take tens of seconds; these are not speed tests.
describe.skipIf(missing !== null)('queue: sweep --queue with bstune workers on a real Redis', { timeout: 300_000 }, () => {
  let redis: RedisServer;
  beforeAll(async () => {
    redis = await startRedis();
  });
  afterAll(async () => {
    for (const p of started) if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGKILL');
    await redis?.kill();
  });

  it('streams results back; the same sweep enqueued again runs nothing twice', async () => {
    const dir = tmpDir('bstune-queue-');
    const w = bstune(['worker', '--queue', redis.url], dir);
    await until('worker ready', () => workerReady(w));
    const first = await runCli(['sweep', '--sizes', '16,32', ...quick, '--queue', redis.url, '--out', join(dir, 'a.jsonl')], { cwd: dir, timeoutMs: 240_000 });
    expect(first.code, first.stderr).toBe(0);
    expect(first.stdout).toMatch(/^│ 16 /m);
    const a = lines(join(dir, 'a.jsonl'));
    expect(sizes(a)).toEqual([16, 32]);
    expect(a.every((l) => l.outcome === 'ok' && typeof l.ranOn?.host === 'string')).toBe(true);
    expect(finishedBy(w)).toBe(2);

    // Same config, same runs: the job ids exist, so the results come from the queue, not a new run.
    const again = await runCli(['sweep', '--sizes', '16,32', ...quick, '--queue', redis.url, '--out', join(dir, 'b.jsonl'), '--json'], { cwd: dir, timeoutMs: 240_000 });
    expect(again.code, again.stderr).toBe(0);
    const b = lines(join(dir, 'b.jsonl'));
    expect(b.map((l) => [l.batchSize, l.seconds]).sort()).toEqual(a.map((l) => [l.batchSize, l.seconds]).sort());
    expect(finishedBy(w)).toBe(2);
    w.child.kill('SIGTERM');
    expect((await w.exited).code).toBe(0);
    expect(w.err()).toMatch(/worker stopped after 2 trials/);
  });

  it('a worker SIGKILLed mid-trial: its run goes to the other worker, and the file holds each run once', async () => {
    const dir = tmpDir('bstune-queue-kill-');
    // 4 s: short for a test, long enough that a loaded machine does not stall a live worker's lock.
    const a = bstune(['worker', '--queue', redis.url, '--stall-timeout', '4'], dir);
    const b = bstune(['worker', '--queue', redis.url, '--stall-timeout', '4'], dir);
    await until('both workers ready', () => workerReady(a) && workerReady(b));
    const out = join(dir, 'r.jsonl');
    const sweep = bstune(['sweep', '--sizes', '24,48', '--epochs', '2', '--train-limit', '1200', '--queue', redis.url, '--out', out], dir);
    // Each worker takes one run (one trial at a time each); kill A while its trial trains.
    await until('both workers running a trial', () => trialChildren(a.child.pid!).length > 0 && trialChildren(b.child.pid!).length > 0);
    const orphan = trialChildren(a.child.pid!)[0]!;
    a.child.kill('SIGKILL');
    const r = await sweep.exited;
    expect(r.code, sweep.err()).toBe(0);
    expect(sweep.err()).toMatch(/its worker stopped answering; the run went back to the queue/);
    const ls = lines(out);
    expect(sizes(ls)).toEqual([24, 48]);
    expect(ls.every((l) => l.outcome === 'ok')).toBe(true);
    // A finished nothing; B finished both runs, its own and A's. (Counting B's lines would not do:
    // should B's own lock lapse under load, BullMQ gives that run out again, and only the file is exact.)
    expect(finishedBy(a)).toBe(0);
    expect(b.err()).toMatch(/batch 24 seed 42: ok/);
    expect(b.err()).toMatch(/batch 48 seed 42: ok/);
    // A's trial process did not outlive A.
    expect(() => execFileSync('ps', ['-o', 'args=', '-p', String(orphan)], { encoding: 'utf8' })).toThrow();
    b.child.kill('SIGTERM');
    await b.exited;
  });

  it('Redis lost mid-sweep: finished runs are kept, one clear line, and the printed resume finishes the rest', async () => {
    const dir = tmpDir('bstune-queue-lost-');
    const own = await startRedis();
    const w = bstune(['worker', '--queue', own.url], dir);
    await until('worker ready', () => workerReady(w));
    const out = join(dir, 'r.jsonl');
    const sweep = bstune(['sweep', '--sizes', '8,16,32', ...quick, '--queue', own.url, '--out', out], dir, { BSTUNE_QUEUE_GRACE_SECONDS: '1' });
    await until('a first finished run', () => lines(out).length >= 1);
    await own.kill();
    const r = await sweep.exited;
    expect(r.code, sweep.err()).toBe(1);
    const last = sweep.err().trim().split('\n').pop()!;
    expect(last).toMatch(new RegExp(`^bstune: error: lost the queue at redis://127\\.0\\.0\\.1:${own.port} \\(.*\\); \\d finished runs are saved; continue with: bstune sweep --resume \\S+ --queue redis://127\\.0\\.0\\.1:${own.port} `));
    const kept = lines(out);
    expect(kept.length).toBeGreaterThanOrEqual(1);
    expect(kept.length).toBeLessThan(3);

    // Redis back (empty: nothing was saved); the worker reconnects by itself; resume as told.
    const back = await startRedis(own.port);
    started.push({ child: back.process } as Proc);
    const resume = /continue with: bstune (sweep .*)$/.exec(last)![1]!.split(' ');
    const done = await runCli(resume, { cwd: dir, timeoutMs: 240_000 });
    expect(done.code, done.stderr).toBe(0);
    expect(sizes(lines(out))).toEqual([8, 16, 32]);
    w.child.kill('SIGTERM');
    await w.exited;
    await back.kill();
  });

  // A webgpu run from the queue on a worker started with --gpus: the worker learns the backend from
  // the job, and the trial process picks adapter 0 of Dawn's list (Mesa's lavapipe, the only one here).
  it.skipIf(lavapipe === null && process.env.CI !== 'true')(`webgpu runs on a worker with --gpus: adapter 1 (none here) is an error result, adapter 0 trains and is named${lavapipe ? '' : ` (${LAVAPIPE_MISSING})`}`, async () => {
    expect(lavapipe, LAVAPIPE_MISSING).not.toBeNull();
    const dir = tmpDir('bstune-queue-gpu-');
    // First a worker given an adapter this machine lacks: the run is a result saying so, not a retry.
    const w1 = bstune(['worker', '--queue', redis.url, '--gpus', '1'], dir, lavapipe!);
    await until('worker ready', () => workerReady(w1));
    const missingOut = join(dir, 'missing.jsonl');
    const r1 = await runCli(['sweep', '--sizes', '16', ...quick, '--backend', 'webgpu', '--queue', redis.url, '--out', missingOut], { cwd: dir, env: lavapipe!, timeoutMs: 240_000 });
    expect(lines(missingOut)).toMatchObject([{ batchSize: 16, outcome: 'error' }]);
    expect((lines(missingOut)[0] as Line & { reason: string }).reason).toMatch(/^on worker .*: no WebGPU adapter 1: Dawn lists 1 WebGPU adapter: 0 = llvmpipe/);
    expect(r1.code).toBe(1);
    w1.child.kill('SIGTERM');
    await w1.exited;
    const w = bstune(['worker', '--queue', redis.url, '--gpus', '0'], dir, lavapipe!);
    await until('worker ready', () => workerReady(w));
    const out = join(dir, 'g.jsonl');
    const r = await runCli(['sweep', '--sizes', '32', ...quick, '--backend', 'webgpu', '--queue', redis.url, '--out', out], { cwd: dir, env: lavapipe!, timeoutMs: 240_000 });
    expect(r.code, r.stderr).toBe(0);
    const [t] = lines(out) as (Line & { adapter?: string; ranOn?: { gpu: string | null } })[];
    expect(t).toMatchObject({ batchSize: 32, outcome: 'ok', ranOn: { gpu: '0' } });
    expect(t!.adapter).toMatch(/^llvmpipe/);
    w.child.kill('SIGTERM');
    await w.exited;
  });
});
