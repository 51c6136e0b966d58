/**
 * The trial's watchdog loop (src/trial/watchdog.ts), run for real with /bin/sh against a
 * stand-in trial process (`sleep`): it kills the process once its parent is not the one
 * named, leaves it alone while the parent is right, never touches a recycled pid, and
 * ends by itself when the process exits. The whole path (bstune SIGKILLed while a trial
 * hangs) is in e2e-faults.test.ts.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { WATCHDOG_SCRIPT, startTimeOf } from '../src/trial/watchdog.js';

const linux = process.platform === 'linux' && existsSync('/bin/sh');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const exited = (p: ChildProcess) => new Promise<number | null>((r) => (p.exitCode !== null || p.signalCode !== null ? r(p.exitCode) : p.once('exit', (c) => r(c))));
const alive = (p: ChildProcess) => p.exitCode === null && p.signalCode === null;

function watch(target: ChildProcess, parent: number, start?: string, env?: NodeJS.ProcessEnv): ChildProcess {
  const stat = readFileSync(`/proc/${target.pid}/stat`, 'utf8');
  return spawn('/bin/sh', ['-c', WATCHDOG_SCRIPT, 'bstune-watchdog', String(parent), String(target.pid), start ?? startTimeOf(stat)!], { stdio: 'ignore', ...(env ? { env } : {}) });
}

/** utime + stime of a process, in clock ticks. */
function cpuTicks(pid: number): number {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return Number(f[11]) + Number(f[12]);
}

describe('startTimeOf', () => {
  it('reads field 22 after a command name holding spaces and parentheses', () => {
    const fields = ['S', '7', ...Array.from({ length: 17 }, (_, i) => String(100 + i)), '424242', '99'];
    expect(startTimeOf(`123 (we ird) (name) ${fields.join(' ')}`)).toBe('424242');
    expect(startTimeOf(readFileSync('/proc/self/stat', 'utf8'))).toMatch(/^\d+$/);
  });
});

// Elsewhere (no /proc or /bin/sh) trials use a worker thread instead, and this block reports itself skipped.
describe.skipIf(!linux)('the watchdog loop (/bin/sh, Linux only)', () => {
  it('kills a process whose parent is not the one it was started for', async () => {
    const target = spawn('sleep', ['30'], { stdio: 'ignore' });
    const dog = watch(target, 1); // our test process is its parent, not pid 1: as if re-parented
    expect(await exited(dog)).toBe(0);
    await exited(target);
    expect(target.signalCode).toBe('SIGKILL');
  });

  it('leaves it alone while the parent is there, and ends when the process exits', async () => {
    const target = spawn('sleep', ['30'], { stdio: 'ignore' });
    const dog = watch(target, process.pid);
    await sleep(1200); // two rounds of the loop
    expect(alive(target)).toBe(true);
    expect(alive(dog)).toBe(true);
    target.kill('SIGTERM');
    expect(await exited(dog)).toBe(0);
    expect(target.signalCode).toBe('SIGTERM');
  });

  it('a trial PATH without sleep neither spins a core nor loses the watchdog', async () => {
    // Before: `sleep` not found made the loop re-read /proc with no pause, ~100 ticks (a whole core) a second.
    const target = spawn('/bin/sleep', ['30'], { stdio: 'ignore' });
    const dog = watch(target, process.pid, undefined, { PATH: '/nonexistent' });
    await sleep(1000);
    expect(alive(dog)).toBe(true);
    expect(cpuTicks(dog.pid!)).toBeLessThan(30);
    target.kill('SIGTERM');
    expect(await exited(dog)).toBe(0);
    const orphan = spawn('/bin/sleep', ['30'], { stdio: 'ignore' });
    expect(await exited(watch(orphan, 1, undefined, { PATH: '/nonexistent' }))).toBe(0);
    await exited(orphan);
    expect(orphan.signalCode).toBe('SIGKILL');
  });

  it('never kills a recycled pid (another start time)', async () => {
    const target = spawn('sleep', ['30'], { stdio: 'ignore' });
    const dog = watch(target, 1, '1');
    expect(await exited(dog)).toBe(0);
    expect(alive(target)).toBe(true);
    target.kill('SIGTERM');
    await exited(target);
  });
});
