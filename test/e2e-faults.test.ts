/**
 * Trial failures end to end, injected with BSTUNE_TEST_FAULT into the real trial
 * processes: which ones count as out of memory (the search steps down), which stop
 * the search, and that no trial process outlives bstune however it ends.
 */
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { closeSync, openSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { binPath, runCli, tmpDir } from './helpers/cli.js';

const MLP = ['find-max', '-c', 'configs/mnist-mlp.yaml', '--train-limit', '1000'];
// find-max keeps a results file under its working directory's .bstune/: run in a scratch folder, not the clone.
const scratch = tmpDir('bstune-faults-');
const withFault = (fault: string) => ({ env: { BSTUNE_TEST_FAULT: fault }, timeoutMs: 90_000, cwd: scratch });

interface Trial {
  batchSize: number;
  outcome: string;
  reason: string | null;
}
interface Doc {
  trials: Trial[];
  maxBatchSize: number | null;
}

// ---- process inspection (Linux ps) ----------------------------------------------

interface Proc {
  pid: number;
  ppid: number;
  stat: string;
  args: string;
}
function processes(): Proc[] {
  const out = execFileSync('ps', ['-eo', 'pid=,ppid=,stat=,args='], { encoding: 'utf8' });
  return out.split('\n').flatMap((line) => {
    const m = /^\s*(\d+)\s+(\d+)\s+(\S+)\s+(.*)$/.exec(line);
    return m ? [{ pid: Number(m[1]), ppid: Number(m[2]), stat: m[3]!, args: m[4]! }] : [];
  });
}
/** Trial processes whose parent is `parent` (other engineers' runs are left out). */
const trialChildrenOf = (parent: number) => processes().filter((p) => p.ppid === parent && p.args.includes('dist/trial/child.js'));
/** Alive = listed and not a zombie waiting to be reaped. */
const alive = (pid: number) => processes().some((p) => p.pid === pid && !p.stat.startsWith('Z'));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function waitFor<T>(probe: () => T | null | undefined | false, timeoutMs: number, stepMs = 100): Promise<T | null> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = probe();
    if (v) return v;
    if (Date.now() > end) return null;
    await sleep(stepMs);
  }
}

/** Started bstune processes and trial pids seen, killed in afterEach if a test failed midway. */
const cleanup = new Set<number>();
afterEach(() => {
  for (const pid of cleanup) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      /* already gone */
    }
  }
  cleanup.clear();
});

interface Running {
  child: ChildProcess;
  /** Trial-process pids seen as children of this bstune while it ran. */
  trialPids: Set<number>;
  stderr: () => string;
  stdout: () => string;
  /** Resolves once stdout has ended (after exit, when its output is complete). */
  stdoutEnded: Promise<void>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Starts bstune and keeps polling for its trial children until it exits. */
function start(args: string[], env: Record<string, string>, detached = false): Running {
  const child = spawn(process.execPath, [binPath, ...args], {
    cwd: scratch, env: { ...process.env, NO_COLOR: '1', ...env }, stdio: ['ignore', 'pipe', 'pipe'], detached,
  });
  cleanup.add(child.pid!);
  let err = '';
  let out = '';
  child.stderr!.on('data', (b: Buffer) => (err += b.toString()));
  child.stdout!.on('data', (b: Buffer) => (out += b.toString()));
  const trialPids = new Set<number>();
  let done = false;
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('exit', (code, signal) => {
      done = true;
      resolve({ code, signal });
    }),
  );
  void (async () => {
    while (!done) {
      for (const p of trialChildrenOf(child.pid!)) {
        trialPids.add(p.pid);
        cleanup.add(p.pid);
      }
      await sleep(100);
    }
  })();
  const stdoutEnded = new Promise<void>((resolve) => child.stdout!.on('end', () => resolve()));
  return { child, trialPids, stderr: () => err, stdout: () => out, stdoutEnded, exited };
}

// ---- out of memory: the search steps down -------------------------------------

describe('faults classified as out of memory', () => {
  it.each([
    ['kill:256', /SIGKILL/],
    ['oom:256', /ArrayBuffer allocation failed/],
    ['heap:256', /heap out of memory/],
  ])('%s → 512 and 256 are oom, the answer is 128', async (fault, reason) => {
    const r = await runCli([...MLP, '--json'], withFault(fault));
    expect(r.code, r.stderr).toBe(0);
    const doc = JSON.parse(r.stdout) as Doc;
    expect(doc.trials.map((t) => [t.batchSize, t.outcome])).toEqual([[512, 'oom'], [256, 'oom'], [128, 'ok']]);
    for (const t of doc.trials.slice(0, 2)) expect(t.reason).toMatch(reason);
    expect(doc.trials[2]!.reason).toBeNull();
    expect(doc.maxBatchSize).toBe(128);
  });
});

// ---- anything else stops the search --------------------------------------------

describe('faults that stop the search', () => {
  it('throw:128 with --json: exit 1, one stderr line with the message, the document with every trial and stoppedBy, nothing smaller tried', async () => {
    const r = await runCli([...MLP, '--json'], withFault('throw:128'));
    expect(r.code).toBe(1);
    const lines = r.stderr.trimEnd().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^bstune: error: trial at batch 512 failed with error: TypeError: injected bug at batch 512/);
    const doc = JSON.parse(r.stdout) as Doc & { stoppedBy: { batchSize: number; outcome: string; reason: string } | null };
    expect(doc.trials.map((t) => [t.batchSize, t.outcome])).toEqual([[512, 'error']]);
    expect(doc.trials[0]!.reason).toMatch(/injected bug at batch 512/);
    expect(doc.stoppedBy).toMatchObject({ batchSize: 512, outcome: 'error' });
    expect(doc.maxBatchSize).toBeNull();
  });

  it('oom:256,throw:128 in human mode: the table (512, 256 oom; 128 error; no 64) comes before the error line', async () => {
    // stdout and stderr into one file, so their order is the order they were written in.
    const dir = tmpDir();
    const file = join(dir, 'out.txt');
    const fd = openSync(file, 'w');
    const child = spawn(process.execPath, [binPath, ...MLP, '-q'], {
      cwd: scratch, env: { ...process.env, NO_COLOR: '1', BSTUNE_TEST_FAULT: 'oom:256,throw:128' }, stdio: ['ignore', fd, fd],
    });
    const code = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
    closeSync(fd);
    const out = readFileSync(file, 'utf8');
    rmSync(dir, { recursive: true, force: true });
    expect(code).toBe(1);
    const lines = out.split('\n');
    const rows = lines.filter((l) => /^│\s*\d+\s*│/.test(l)).map((l) => l.split('│').map((c) => c.trim()));
    expect(rows.map((c) => [Number(c[1]), c[3]])).toEqual([[512, 'oom'], [256, 'oom'], [128, 'error']]);
    const lastRow = lines.findLastIndex((l) => /^└/.test(l));
    const errorLine = lines.findIndex((l) => l.startsWith('bstune: error:'));
    expect(lastRow).toBeGreaterThan(-1);
    expect(errorLine).toBeGreaterThan(lastRow);
    expect(lines[errorLine]).toMatch(/trial at batch 128 failed with error: TypeError: injected bug at batch 128/);
    expect(lines.filter((l) => l.startsWith('bstune: error:'))).toHaveLength(1);
    expect(out).not.toMatch(/nothing fits/);
    expect(out).toMatch(/search stopped/);
  });

  it('hang:128 with --trial-timeout 3 --json: timeout stops the search (exit 1), the document lists it, and the trial process is gone', async () => {
    const run = start([...MLP, '--json', '--trial-timeout', '3'], { BSTUNE_TEST_FAULT: 'hang:128' });
    const { code } = await run.exited;
    expect(code).toBe(1);
    expect(run.stderr()).toMatch(/trial at batch 512 failed with timeout: no result within search\.trialTimeout \(3 s\).*raise --trial-timeout/);
    await run.stdoutEnded;
    const doc = JSON.parse(run.stdout()) as Doc & { stoppedBy: { batchSize: number; outcome: string } | null };
    expect(doc.trials.map((t) => [t.batchSize, t.outcome])).toEqual([[512, 'timeout']]);
    expect(doc.stoppedBy).toMatchObject({ batchSize: 512, outcome: 'timeout' });
    // One trial (512) ran, plus at most the prewarmed spare for the next one; none outlived bstune.
    expect(run.trialPids.size).toBeGreaterThanOrEqual(1);
    expect(run.trialPids.size).toBeLessThanOrEqual(2);
    for (const pid of run.trialPids) expect(alive(pid)).toBe(false);
  });
});

// ---- the results file and --resume ---------------------------------------------------

describe('find-max results file', () => {
  it('holds every finished trial with when, which bstune, backend and device; --resume reuses fits and OOMs and re-runs the error', async () => {
    const dir = tmpDir();
    const file = join(dir, 'fm.jsonl');
    const first = await runCli([...MLP, '--out', file, '--json'], { ...withFault('oom:256,throw:128'), cwd: dir });
    expect(first.code, first.stderr).toBe(1);
    const lines = readFileSync(file, 'utf8').trimEnd().split('\n').map((l) => JSON.parse(l) as Trial & Record<string, unknown>);
    expect(lines.map((l) => [l.batchSize, l.outcome])).toEqual([[512, 'oom'], [256, 'oom'], [128, 'error']]);
    for (const l of lines) {
      expect(new Date(l.timestamp as string).toISOString()).toBe(l.timestamp);
      expect(l.bstuneVersion).toMatch(/^\d+\.\d+\.\d+/);
      expect(l.backend).toBe('wasm');
      expect(l.device).toMatch(/CPU/);
      expect(l.configHash).toMatch(/^[0-9a-f]{16}$/);
    }
    expect((JSON.parse(first.stdout) as { resultsFile: string }).resultsFile).toBe(file);

    // The bug is fixed: the resume takes 512 and 256 from the file and runs 128 again.
    const again = await runCli([...MLP, '--resume', file, '--json'], { timeoutMs: 90_000, cwd: dir });
    expect(again.code, again.stderr).toBe(0);
    const doc = JSON.parse(again.stdout) as Doc & { reusedTrials: number[] };
    expect(doc.trials.map((t) => [t.batchSize, t.outcome])).toEqual([[512, 'oom'], [256, 'oom'], [128, 'ok']]);
    expect(doc.reusedTrials).toEqual([512, 256]);
    expect(doc.maxBatchSize).toBe(128);
    const after = readFileSync(file, 'utf8').trimEnd().split('\n').map((l) => JSON.parse(l) as Trial);
    expect(after.map((l) => [l.batchSize, l.outcome])).toEqual([[512, 'oom'], [256, 'oom'], [128, 'error'], [128, 'ok']]);

    // Another config (more steps per trial) cannot resume this file.
    const other = await runCli([...MLP, '--steps', '7', '--resume', file, '--json'], { timeoutMs: 90_000, cwd: dir });
    expect(other.code).toBe(2);
    expect(other.stdout).toBe('');
    expect(other.stderr).toMatch(/different config: stepsPerTrial: 5 → 7/);
  });
});

// ---- interruption and parent death -----------------------------------------------

describe('no orphan trial processes', () => {
  it.each(['SIGINT', 'SIGTERM'] as const)('%s during a trial → exit 130, the trial process is gone', async (sig) => {
    const run = start([...MLP, '--trial-timeout', '120'], { BSTUNE_TEST_FAULT: 'hang:1' });
    const seen = await waitFor(() => run.trialPids.size > 0, 20_000);
    expect(seen, run.stderr()).toBe(true);
    await sleep(1500); // well into the trial (the hang starts after step 1)
    run.child.kill(sig); // bstune only, not its process group
    const { code } = await run.exited;
    expect(code).toBe(130);
    expect(run.stderr()).toContain(`bstune: ${sig}: stopping; finished trials are kept in the results file`);
    expect(run.stderr()).not.toMatch(/\n\nbstune: SIG/); // no blank line in a pipe (that newline is for a terminal's ^C)
    expect(run.stderr()).toMatch(/bstune: error: interrupted; 0 finished trials are saved in \S+\.jsonl; continue with: bstune find-max --resume \S+\.jsonl -c configs\/mnist-mlp\.yaml --train-limit 1000 --trial-timeout 120\n/);
    for (const pid of run.trialPids) expect(alive(pid)).toBe(false);
  });

  it('the trial process ends itself when bstune is SIGKILLed, even while its event loop is blocked', async () => {
    const run = start([...MLP, '--trial-timeout', '120'], { BSTUNE_TEST_FAULT: 'hang:1' }, true);
    const seen = await waitFor(() => run.trialPids.size > 0, 20_000);
    expect(seen, run.stderr()).toBe(true);
    const [trialPid] = [...run.trialPids] as [number];
    await sleep(2500); // the trial is now spinning in the hang: it cannot read IPC events
    expect(alive(trialPid)).toBe(true);
    process.kill(run.child.pid!, 'SIGKILL'); // the parent only
    await run.exited;
    const gone = await waitFor(() => !alive(trialPid), 5_000, 200);
    expect(gone).toBe(true);
  });
});
