#!/usr/bin/env node
// The WebGPU speed check of issue 15, as a user would run it: wall (and CPU) seconds of
//   bstune train    -c configs/mnist-mlp.yaml --backend webgpu
//   bstune find-max -c configs/mnist-cnn.yaml --backend webgpu --memory-limit 64MiB
// each a fresh `node bin/bstune.js` (process start, trial processes, everything), against the
// 60 s target on the software device. A script, not a test: numbers vary by machine and load.
//   node bench/webgpu.mjs [--runs 1] [--cold] [--json]
// Device: the Vulkan driver the environment selects; when VK_ICD_FILENAMES/VK_DRIVER_FILES are
// unset, the Mesa lavapipe that .ci/install-lavapipe unpacks (as the tests select it).
// --cold: each run with an empty Mesa shader cache (MESA_SHADER_CACHE_DIR), as on a fresh CI
// machine; by default Mesa's own cache (~/.cache/mesa_shader_cache_db) is warm after a first run.
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { cpus, homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { runBstune as run } from './lib/run-bstune.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));
const { values } = parseArgs({ options: { runs: { type: 'string', default: '1' }, cold: { type: 'boolean', default: false }, json: { type: 'boolean', default: false } } });
const log = (s) => process.stderr.write(`${s}\n`);
const TARGET_SECONDS = 60;

function deviceEnv() {
  if (process.env.VK_ICD_FILENAMES || process.env.VK_DRIVER_FILES) return {};
  const dir = process.env.BSTUNE_LAVAPIPE_DIR ?? join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'bstune', 'lavapipe');
  if (!existsSync(join(dir, 'ready'))) {
    log(`no Vulkan driver selected and no lavapipe in ${dir}: run \`bash .ci/install-lavapipe\` (as root) first`);
    process.exit(2);
  }
  const icd = join(dir, 'icd.json');
  const ld = [readFileSync(join(dir, 'libdir'), 'utf8').trim(), process.env.LD_LIBRARY_PATH].filter(Boolean).join(':');
  return { VK_ICD_FILENAMES: icd, VK_DRIVER_FILES: icd, LD_LIBRARY_PATH: ld };
}

const commands = [
  { name: 'train MLP', args: ['train', '-c', 'configs/mnist-mlp.yaml', '--backend', 'webgpu'], summary: (d) => `val acc ${(d.trials[0].history.at(-1).valAccuracy * 100).toFixed(2)}%, ${Math.round(d.trials[0].samplesPerSecond)} samples/s` },
  { name: 'find-max CNN 64MiB', args: ['find-max', '-c', 'configs/mnist-cnn.yaml', '--backend', 'webgpu', '--memory-limit', '64MiB'], summary: (d) => `max batch ${d.maxBatchSize} (${d.trials.map((t) => `${t.batchSize} ${t.outcome}`).join(', ')})` },
];

const env = deviceEnv();
const rows = [];
let device = null;
for (let r = 0; r < Number(values.runs); r++) {
  for (const c of commands) {
    const cache = values.cold ? mkdtempSync(join(tmpdir(), 'bstune-mesa-cache-')) : null;
    log(`${c.name}${cache ? ' (cold shader cache)' : ''}: node bin/bstune.js ${c.args.join(' ')} …`);
    const res = await run(c.args, { ...env, ...(cache ? { MESA_SHADER_CACHE_DIR: cache } : {}) });
    if (cache) rmSync(cache, { recursive: true, force: true });
    device ??= res.doc?.backend?.device ?? null;
    const row = {
      command: `bstune ${c.args.join(' ')}`, name: c.name, cold: values.cold, exit: res.code,
      wallSeconds: Number(res.wall.toFixed(2)), cpuSeconds: res.cpu === null ? null : Number(res.cpu.toFixed(2)),
      load1Before: Number(res.loadBefore.toFixed(2)), load1After: Number(res.loadAfter.toFixed(2)),
      result: res.doc ? c.summary(res.doc) : `failed: ${res.stderr}`,
      underTarget: res.code === 0 && res.wall < TARGET_SECONDS,
    };
    rows.push(row);
    log(`  ${row.wallSeconds} s wall, ${row.cpuSeconds ?? '?'} s CPU, load ${row.load1Before} → ${row.load1After}: ${row.result}`);
  }
}

const machine = `${cpus().length} × ${cpus()[0]?.model ?? 'unknown CPU'}, Node ${process.versions.node}`;
if (values.json) {
  process.stdout.write(`${JSON.stringify({ machine, device, targetSeconds: TARGET_SECONDS, rows }, null, 2)}\n`);
} else {
  console.log(`machine: ${machine}\ndevice:  ${device ?? 'unknown'}\n`);
  console.log('command                 wall s   CPU s   load1   result');
  for (const r of rows) {
    console.log(`${(r.name + (r.cold ? ' (cold)' : '')).padEnd(22)} ${String(r.wallSeconds).padStart(7)} ${String(r.cpuSeconds ?? '?').padStart(7)}   ${String(r.load1Before).padStart(5)}   ${r.underTarget ? '<' : '≥'} ${TARGET_SECONDS} s · ${r.result}`);
  }
}
process.exitCode = rows.every((r) => r.exit === 0) ? 0 : 1;
