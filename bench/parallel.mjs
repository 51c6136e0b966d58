#!/usr/bin/env node
// Speed of running trials together (issue 17). A script, not a test: on a shared machine the
// numbers move with the load, so compare the ratios measured within one run.
//   node bench/parallel.mjs [--reps 2] [--train-limit 2000] [--epochs 1] [--jobs 50] [--skip-sweep] [--skip-queue]
// 1. Wall time of a 4-size MLP sweep (16,32,64,128) with --parallel 1 and --parallel 2, run
//    alternately (ABAB…) so a change in the machine's load hits both; prints the ratio 2/1.
// 2. Queue overhead per trial: a real redis-server on a free loopback port, the QueueRunner the
//    coordinator uses, and a BullMQ worker whose "trial" returns at once, so every millisecond
//    is enqueue → worker → result back. Sequential (one run at a time) and all at once.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const root = fileURLToPath(new URL('..', import.meta.url));
const bin = join(root, 'bin', 'bstune.js');
const { values } = parseArgs({
  options: {
    reps: { type: 'string', default: '2' },
    'train-limit': { type: 'string', default: '2000' },
    epochs: { type: 'string', default: '1' },
    jobs: { type: 'string', default: '50' },
    'skip-sweep': { type: 'boolean', default: false },
    'skip-queue': { type: 'boolean', default: false },
    json: { type: 'boolean', default: false },
  },
});
const log = (s) => process.stderr.write(`${s}\n`);
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const report = {};

if (!values['skip-sweep']) {
  const dir = mkdtempSync(join(tmpdir(), 'bstune-bench-parallel-'));
  const times = { 1: [], 2: [] };
  for (let rep = 0; rep < Number(values.reps); rep++) {
    for (const n of [1, 2]) {
      const out = join(dir, `p${n}-${rep}.jsonl`);
      const t0 = performance.now();
      const r = spawnSync(process.execPath, [bin, 'sweep', '--sizes', '16,32,64,128', '--epochs', values.epochs, '--train-limit', values['train-limit'], '--parallel', String(n), '--out', out, '--quiet'], { cwd: dir, encoding: 'utf8' });
      const s = (performance.now() - t0) / 1000;
      if (r.status !== 0) throw new Error(`sweep --parallel ${n} failed: ${r.stderr}`);
      times[n].push(s);
      log(`sweep --parallel ${n} (rep ${rep + 1}): ${s.toFixed(1)} s`);
    }
  }
  const ratios = times[2].map((t, i) => t / times[1][i]);
  report.sweep = { sizes: [16, 32, 64, 128], trainLimit: Number(values['train-limit']), epochs: Number(values.epochs), secondsParallel1: times[1], secondsParallel2: times[2], ratios, medianRatio: median(ratios) };
  log(`ratio --parallel 2 / --parallel 1: ${ratios.map((r) => r.toFixed(2)).join(', ')} (median ${median(ratios).toFixed(2)}; target ≤ 0.65)`);
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
