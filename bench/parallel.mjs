#!/usr/bin/env node
// Speed of running trials together (issue 17). A script, not a test. Run it under the
// machine's CPU lock on a quiet machine; it reports the load and the CPU others used meanwhile.
//   node bench/parallel.mjs [--reps 3] [--sweeps quick,user] [--jobs 50] [--skip-sweep] [--skip-queue] [--json]
// 1. Wall time of a 4-size MLP sweep (16,32,64,128) with --parallel 1 and --parallel 2, run
//    alternately (1,2,1,2,…) so a change in the machine's load hits both; ratio 2/1 per pair.
//    quick: --epochs 1 --train-limit 2000 (~1 s trials: start-up dominates);
//    user:  -c configs/mnist-mlp.yaml as shipped (5 epochs, 8,000 training digits).
//    Also the CPU seconds of bstune and its trial processes: CPU/wall of --parallel 1 is how
//    many cores one trial at a time already keeps busy, and CPU(--parallel 2)/2 over the
//    wall of --parallel 1 is the best ratio two cores allow.
//    When `sweep --threads` exists, the sweeps run with --threads 1 and again without it.
// 2. Queue overhead per trial: a real redis-server on a free loopback port, the QueueRunner the
//    coordinator uses, and a BullMQ worker whose "trial" returns at once, so every millisecond
//    is enqueue → worker → result back. Sequential (one run at a time) and all at once.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const root = fileURLToPath(new URL('..', import.meta.url));
const bin = join(root, 'bin', 'bstune.js');
const { values } = parseArgs({
  options: {
    reps: { type: 'string', default: '3' },
    sweeps: { type: 'string', default: 'quick,user' },
    jobs: { type: 'string', default: '50' },
    'skip-sweep': { type: 'boolean', default: false },
    'skip-queue': { type: 'boolean', default: false },
    json: { type: 'boolean', default: false },
  },
});
const log = (s) => process.stderr.write(`${s}\n`);
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const report = { machine: `${cpus().length} cores, ${cpus()[0]?.model ?? 'unknown CPU'}`, node: process.version };

/** CPU seconds of this process's waited-for children (and theirs), from /proc/self/stat. */
function childrenCpu() {
  const st = readFileSync('/proc/self/stat', 'utf8');
  const f = st.slice(st.lastIndexOf(')') + 2).split(' ');
  return (Number(f[13]) + Number(f[14])) / 100; // cutime + cstime, in clock ticks (USER_HZ 100)
}
/** CPU seconds the whole machine has been busy, from /proc/stat. */
function machineCpu() {
  const f = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
  return (f[0] + f[1] + f[2] + f[5] + f[6]) / 100; // user nice system irq softirq
}
const fmt = (xs, d = 2) => xs.map((x) => x.toFixed(d)).join(', ');

if (!values['skip-sweep']) {
  const dir = mkdtempSync(join(tmpdir(), 'bstune-bench-parallel-'));
  const help = spawnSync(process.execPath, [bin, 'sweep', '--help'], { encoding: 'utf8' }).stdout ?? '';
  const threadModes = help.includes('--threads') ? [['--threads', '1'], []] : [[]];
  const kinds = {
    quick: ['--epochs', '1', '--train-limit', '2000'],
    user: ['-c', join(root, 'configs', 'mnist-mlp.yaml')],
  };
  report.sweeps = [];
  for (const kind of values.sweeps.split(',')) {
    for (const threads of threadModes) {
      const args = [...kinds[kind], ...threads];
      const runs = { 1: [], 2: [] };
      for (let rep = 0; rep < Number(values.reps); rep++) {
        for (const n of [1, 2]) {
          const out = join(dir, `${kind}-${threads.join('')}-p${n}-${rep}.jsonl`);
          const load = loadavg()[0];
          const c0 = childrenCpu();
          const m0 = machineCpu();
          const t0 = performance.now();
          const r = spawnSync(process.execPath, [bin, 'sweep', '--sizes', '16,32,64,128', ...args, '--parallel', String(n), '--out', out, '--quiet'], { cwd: dir, encoding: 'utf8' });
          const wall = (performance.now() - t0) / 1000;
          const cpu = childrenCpu() - c0;
          const foreign = Math.max(0, machineCpu() - m0 - cpu);
          if (r.status !== 0) throw new Error(`sweep --parallel ${n} failed: ${r.stderr}`);
          runs[n].push({ wall, cpu, foreign, load });
          log(`${kind}${threads.length ? ' --threads 1' : ''} --parallel ${n} (rep ${rep + 1}): ${wall.toFixed(2)} s wall, ${cpu.toFixed(2)} s CPU, others used ${foreign.toFixed(1)} s CPU meanwhile (load ${load.toFixed(2)})`);
        }
      }
      const ratios = runs[2].map((r, i) => r.wall / runs[1][i].wall);
      // A pair where other programs used more than a tenth of our CPU meanwhile is not clean.
      const clean = ratios.filter((_, i) => [runs[1][i], runs[2][i]].every((r) => r.foreign <= 0.1 * r.cpu));
      const coresP1 = runs[1].map((r) => r.cpu / r.wall);
      const bound = runs[2].map((r, i) => r.cpu / 2 / runs[1][i].wall);
      report.sweeps.push({ kind, args: ['--sizes', '16,32,64,128', ...args], parallel1: runs[1], parallel2: runs[2], ratios, medianRatio: median(ratios), cleanRatios: clean, coresBusyAtParallel1: coresP1, cpuBoundRatio: bound });
      log(`${kind}${threads.length ? ' --threads 1' : ''}: ratio --parallel 2 / --parallel 1: ${fmt(ratios)} (median ${median(ratios).toFixed(2)}; target ≤ 0.65); ${clean.length} of ${ratios.length} pairs clean${clean.length ? ` (median ${median(clean).toFixed(2)})` : ''}; ` +
        `--parallel 1 keeps ${fmt(coresP1, 1)} cores busy; best ratio 2 cores allow for that CPU: ${fmt(bound)}`);
    }
  }
}

if (!values['skip-queue']) {
  const found = spawnSync('redis-server', ['--version']);
  if (found.status !== 0) {
    log('queue overhead: skipped, redis-server is not installed (.ci/install-redis)');
  } else {
    const port = await new Promise((resolve) => {
      const s = createServer().listen(0, '127.0.0.1', () => {
        const p = s.address().port;
        s.close(() => resolve(p));
      });
    });
    const redis = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
    try {
      await new Promise((r) => setTimeout(r, 300));
      const { QueueRunner } = await import('../dist/queue/producer.js');
      const { QUEUE_NAME, bullConnection } = await import('../dist/queue/connection.js');
      const { parseQueueUrl } = await import('../dist/queue/url.js');
      const { Worker } = await import('bullmq');
      const url = `redis://127.0.0.1:${port}`;
      let runner;
      for (let i = 0; i < 50 && !runner; i++) runner = await QueueRunner.connect(url).catch(() => new Promise((r) => setTimeout(r, 100)));
      const worker = new Worker(QUEUE_NAME, async (job) => ({ batchSize: job.data.spec.batchSize, outcome: 'ok' }), { connection: bullConnection(parseQueueUrl(url), { maxRetriesPerRequest: null }), concurrency: 8 });
      await worker.waitUntilReady();
      const jobs = Number(values.jobs);
      const spec = (i) => ({ batchSize: i + 1, seed: 0, mode: 'full', backend: 'wasm', config: {} });
      const run = (tag, i) => runner.run(spec(i), { id: `bench-${tag}-${process.pid}-${i}` });
      for (let i = 0; i < 5; i++) await run('warm', i);
      let t0 = performance.now();
      for (let i = 0; i < jobs; i++) await run('seq', i);
      const seq = (performance.now() - t0) / jobs;
      t0 = performance.now();
      await Promise.all(Array.from({ length: jobs }, (_, i) => run('all', i)));
      const all = (performance.now() - t0) / jobs;
      report.queue = { jobs, msPerTrialSequential: seq, msPerTrialAllAtOnce: all };
      log(`queue overhead per trial (enqueue → worker → result back): ${seq.toFixed(1)} ms one at a time, ${all.toFixed(1)} ms with ${jobs} at once (target < 50 ms)`);
      await worker.close();
      await runner.close();
    } finally {
      redis.kill('SIGKILL');
    }
  }
}
if (values.json) process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
