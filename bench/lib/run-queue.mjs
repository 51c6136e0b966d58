// How long this process's training threads waited for a CPU, step by step (Linux:
// /proc/self/task/TID/schedstat = ns on CPU, ns waiting on a run queue, timeslices).
// On a machine other sessions load, a step whose threads waited for a CPU measures that
// load, not the code: "clean" steps (waits under 5% of the step) are the code's speed.
import { readdirSync, readFileSync } from 'node:fs';

function schedstat(tid) {
  try {
    const [run, wait] = readFileSync(`/proc/self/task/${tid}/schedstat`, 'utf8').split(' ').map(Number);
    return { run, wait };
  } catch {
    return null;
  }
}

/** The busiest thread other than the main one so far (with --threads 2: the worker replica), or null. */
function busiestOtherThread() {
  let best = null;
  let bestRun = -1;
  let tids = [];
  try { tids = readdirSync('/proc/self/task'); } catch { return null; }
  for (const tid of tids) {
    if (Number(tid) === process.pid) continue;
    const s = schedstat(tid);
    if (s && s.run > bestRun) { bestRun = s.run; best = tid; }
  }
  return best;
}

/**
 * Call `start(threads)` once the training threads run (after the first steps), then
 * `step(ms)` after each step; `clean()` gives the steps whose threads waited for a CPU
 * less than 5% of the step, and `all` how many were seen. Where /proc is missing every
 * step counts as unknown (clean() is empty).
 */
export function runQueueWatch() {
  let tids = [];
  let last = null;
  const cleanMs = [];
  let all = 0;
  const waits = () => tids.map(schedstat);
  return {
    start(threads) {
      tids = [String(process.pid)];
      if (threads > 1) { const w = busiestOtherThread(); if (w) tids.push(w); }
      last = waits();
    },
    step(ms) {
      if (last === null) return;
      const now = waits();
      all++;
      if (now.every((s) => s) && last.every((s) => s)) {
        const waitedMs = now.reduce((a, s, i) => a + (s.wait - last[i].wait), 0) / 1e6;
        if (waitedMs < 0.05 * ms) cleanMs.push(ms);
      }
      last = now;
    },
    get all() { return all; },
    clean() { return cleanMs; },
  };
}
