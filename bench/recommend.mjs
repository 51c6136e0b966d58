#!/usr/bin/env node
// Issue 12's speed check, as a user would run it: wall (and CPU) seconds of
//   bstune recommend -c configs/mnist-mlp.yaml   (target: under 60 s on a 2-core CPU machine)
//   bstune recommend -c configs/mnist-cnn.yaml   (target: under 3 minutes)
// each a fresh `node bin/bstune.js` (process start, every trial process, everything), with the
// 1-minute load average before and after. A script, not a test: numbers vary by machine and load.
//   node bench/recommend.mjs [--runs 1] [--models mlp,cnn] [--json]
import { cpus } from 'node:os';
import { parseArgs } from 'node:util';
import { runBstune as run } from './lib/run-bstune.mjs';

const { values } = parseArgs({ options: { runs: { type: 'string', default: '1' }, models: { type: 'string', default: 'mlp,cnn' }, json: { type: 'boolean', default: false } } });
const log = (s) => process.stderr.write(`${s}\n`);
const TARGETS = { mlp: 60, cnn: 180 };

const summary = (d) => {
  const r = d.recommendation;
  const runs = d.evidence.findMax.length + d.evidence.candidates.filter((c) => !d.evidence.findMax.some((f) => f.batchSize === c.batchSize && f.seconds === c.seconds)).length + d.evidence.probes.length + (d.evidence.accumulation ? 1 : 0);
  return `${r ? `batch ${r.batchSize}${r.accumulate > 1 ? ` × ${r.accumulate}` : ''}, ${r.scaling} ${r.learningRate}` : 'no recommendation'} (${d.rate.winner ? 'a winner' : 'within noise'}); ${runs} trial runs, probes ${d.parallel.probes} at a time`;
};

const rows = [];
for (let i = 0; i < Number(values.runs); i++) {
  for (const model of values.models.split(',')) {
    const args = ['recommend', '-c', `configs/mnist-${model}.yaml`];
    log(`node bin/bstune.js ${args.join(' ')} --json …`);
    const res = await run(args);
    const row = {
      command: `bstune ${args.join(' ')}`, model, exit: res.code, targetSeconds: TARGETS[model],
      wallSeconds: Number(res.wall.toFixed(2)), cpuSeconds: res.cpu === null ? null : Number(res.cpu.toFixed(2)),
      load1Before: Number(res.loadBefore.toFixed(2)), load1After: Number(res.loadAfter.toFixed(2)),
      result: res.doc ? summary(res.doc) : `failed: ${res.stderr}`,
      underTarget: res.code === 0 && res.wall < TARGETS[model],
    };
    rows.push(row);
    log(`  ${row.wallSeconds} s wall, ${row.cpuSeconds ?? '?'} s CPU, load ${row.load1Before} → ${row.load1After}: ${row.result}`);
  }
}

const machine = `${cpus().length} × ${cpus()[0]?.model ?? 'unknown CPU'}, Node ${process.versions.node}`;
if (values.json) {
  process.stdout.write(`${JSON.stringify({ machine, rows }, null, 2)}\n`);
} else {
  console.log(`machine: ${machine}\n`);
  console.log('config   wall s   CPU s   load1 before → after   target   result');
  for (const r of rows) {
    console.log(`${r.model.padEnd(6)} ${String(r.wallSeconds).padStart(8)} ${String(r.cpuSeconds ?? '?').padStart(7)}   ${String(r.load1Before).padStart(5)} → ${String(r.load1After).padEnd(5)}         ${r.underTarget ? '<' : '≥'} ${r.targetSeconds} s · ${r.result}`);
  }
}
process.exitCode = rows.every((r) => r.exit === 0) ? 0 : 1;
