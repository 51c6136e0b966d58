import { gatherDoctorFacts, type DoctorFacts } from '../../backend/doctor.js';
import { fmtBytes } from '../../report/format.js';
import { bstuneVersion } from '../../version.js';
import { schemaVersion } from '../../report/document.js';
import { ExitCode } from '../../errors.js';
import type { Context, CommandOutput } from '../context.js';

export async function run(ctx: Context): Promise<CommandOutput> {
  ctx.progress.start('checking backends and GPUs…');
  const facts = await gatherDoctorFacts();
  ctx.progress.stop();
  const document = { schemaVersion, command: 'doctor', bstuneVersion, ...facts } as unknown as CommandOutput['document'];
  return { document, human: renderDoctor(facts), exitCode: ExitCode.ok };
}

const mark = (ok: boolean | null, warn = false) => (ok === null ? '–' : !ok ? '✖' : warn ? '⚠' : '✔');

/** One screen: backends, GPUs, CUDA libraries, then the fixes, numbered. */
export function renderDoctor(f: DoctorFacts): string {
  const lines: string[] = [`bstune ${bstuneVersion} on ${f.platform}, Node ${f.node}`, '', 'Backends'];
  for (const b of f.backends) {
    const software = b.name === 'webgpu' && f.webgpu.adapter?.isFallbackAdapter === true;
    const state = !b.installed ? 'not installed' : b.loads === null ? 'installed' : b.loads ? 'loads' : 'installed, does not load';
    lines.push(`  ${mark(b.installed ? b.loads ?? true : null, software)} ${b.name.padEnd(15)} ${state}${b.installed && b.detail !== state ? `: ${b.detail}` : ''}`);
  }
  lines.push('', 'GPUs');
  lines.push(`  nvidia-smi: ${f.nvidiaSmi.detail}`);
  for (const g of f.nvidiaSmi.gpus) lines.push(`    GPU ${g.index}: ${g.name}, ${fmtBytes(g.memoryTotalBytes)}, driver ${g.driverVersion}`);
  const a = f.webgpu.adapter;
  if (a) {
    lines.push(`  WebGPU adapter: ${a.description}`);
    lines.push(`    vendor ${a.vendor || '?'}, architecture ${a.architecture || '?'}${a.isFallbackAdapter ? ', fallback (software) adapter: not a GPU answer' : ''}`);
    lines.push(`    maxStorageBufferBindingSize ${fmtBytes(a.maxStorageBufferBindingSize)} (largest tensor), maxBufferSize ${fmtBytes(a.maxBufferSize)}`);
  } else {
    lines.push(`  WebGPU adapter: none (${f.webgpu.detail})`);
  }
  lines.push('', 'CUDA 11.x and cuDNN 8.x libraries for tfjs-node-gpu');
  for (const l of f.cuda.libraries) {
    const where = l.path ?? (l.offPath ? `${l.offPath} (not on the loader's path)` : 'not found');
    lines.push(`  ${mark(l.path !== null)} ${l.soname.padEnd(18)} ${where}`);
  }
  lines.push('');
  if (f.fixes.length === 0) lines.push('Nothing to fix.');
  else {
    lines.push('To fix (only what you need: the GPU backends are optional)');
    f.fixes.forEach((fix, i) => lines.push(`  ${i + 1}. ${fix}`));
  }
  return `${lines.join('\n')}\n`;
}
