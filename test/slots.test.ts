import { describe, expect, it } from 'vitest';
import { parseGpus, planSlots, TRIAL_BASE_BYTES, type SlotRequest } from '../src/trial/slots.js';
import { parseQueueUrl } from '../src/queue/url.js';
import { bstuneErrorFrom } from './helpers/thrown.js';

const GiB = 2 ** 30;
const cpu: SlotRequest = { backend: 'wasm', cores: 2, availableMemoryBytes: 20 * GiB, memoryLimitBytes: null };

describe('planSlots: how many trials at once, on which GPU', () => {
  it('runs one at a time unless asked', () => {
    expect(planSlots(cpu)).toEqual({ slots: 1, gpus: null, notes: [] });
  });

  it('caps --parallel at the cores this process may use, and says so', () => {
    const p = planSlots({ ...cpu, parallel: 8 });
    expect(p.slots).toBe(2);
    expect(p.notes).toEqual(['--parallel 8 capped to 2: 2 cores available to this process']);
    expect(planSlots({ ...cpu, parallel: 2 }).notes).toEqual([]);
  });

  it('caps by memory: each trial may use its own memory limit on top of a process', () => {
    const p = planSlots({ ...cpu, cores: 64, parallel: 16, availableMemoryBytes: 4 * GiB, memoryLimitBytes: GiB });
    expect(p.slots).toBe(Math.floor((4 * GiB) / (TRIAL_BASE_BYTES + GiB)));
    expect(p.notes[0]).toMatch(/capped to 2: 4 GiB free, about 1\.4 GiB per trial/);
    // Never below one: a single trial is what a sequential sweep would run anyway.
    expect(planSlots({ ...cpu, parallel: 2, availableMemoryBytes: 1 }).slots).toBe(1);
  });

  it('gives each trial its own GPU on tensorflow-gpu, one per device by default', () => {
    expect(planSlots({ ...cpu, backend: 'tensorflow-gpu', gpus: ['0', '1', '2'] })).toEqual({ slots: 3, gpus: ['0', '1', '2'], notes: [] });
    expect(planSlots({ ...cpu, backend: 'tensorflow-gpu', gpus: ['0', '1', '2'], parallel: 2 }).gpus).toEqual(['0', '1']);
    // GPUs are not capped by CPU cores: the work is on the devices.
    expect(planSlots({ ...cpu, cores: 1, backend: 'tensorflow-gpu', gpus: ['0', '1'] }).slots).toBe(2);
  });

  it('gives each webgpu trial its own adapter index; CUDA UUIDs mean nothing to Dawn', () => {
    expect(planSlots({ ...cpu, backend: 'webgpu', gpus: ['1', '0'] })).toEqual({ slots: 2, gpus: ['1', '0'], notes: [] });
    const e = bstuneErrorFrom(() => planSlots({ ...cpu, backend: 'webgpu', gpus: ['0', 'GPU-8f6e-11aa'] }));
    expect(e.line).toBe("--gpus GPU-8f6e-11aa: the webgpu backend takes adapter indices (0, 1, ... in Dawn's order), not CUDA UUIDs (--gpus)");
  });

  it('refuses more trials than GPUs (two trials on one device would share its memory)', () => {
    const e = bstuneErrorFrom(() => planSlots({ ...cpu, backend: 'tensorflow-gpu', gpus: ['0'], parallel: 2 }));
    expect(e.line).toBe('--parallel 2 needs 2 GPUs, but --gpus lists 1: each trial gets a device of its own (--parallel)');
  });

  it('says --gpus does nothing on a CPU backend, and caps by cores there', () => {
    const p = planSlots({ ...cpu, gpus: ['0', '1', '2'], parallel: 3 });
    expect(p).toMatchObject({ slots: 2, gpus: null });
    expect(p.notes[0]).toBe('--gpus applies to the tensorflow-gpu and webgpu backends; trials run on wasm, on the CPU');
  });
});

describe('parseGpus', () => {
  it('takes indices and UUIDs', () => {
    expect(parseGpus('0,1, 3')).toEqual(['0', '1', '3']);
    expect(parseGpus('GPU-8f6e-11aa')).toEqual(['GPU-8f6e-11aa']);
  });
  it.each(['', '0,', 'a', '0;1', '-1'])('refuses %j', (t) => {
    expect(bstuneErrorFrom(() => parseGpus(t)).where).toBe('--gpus');
  });
});

describe('parseQueueUrl', () => {
  it('reads host, port, database; hides the password', () => {
    expect(parseQueueUrl('redis://10.0.0.5:6390/2')).toMatchObject({ host: '10.0.0.5', port: 6390, db: 2, tls: false, display: 'redis://10.0.0.5:6390/2' });
    expect(parseQueueUrl('redis://h')).toMatchObject({ port: 6379, db: 0 });
    const a = parseQueueUrl('rediss://bob:s%3Dcret@h:1');
    expect(a).toMatchObject({ username: 'bob', password: 's=cret', tls: true });
    expect(a.display).toBe('rediss://bob@h:1');
    expect(parseQueueUrl('redis://[::1]:7000').host).toBe('::1');
  });
  it.each(['localhost:6379', 'http://h', 'redis://', 'redis://h/x'])('refuses %j', (t) => {
    expect(bstuneErrorFrom(() => parseQueueUrl(t)).line).toMatch(/expected redis:\/\/HOST:PORT \(--queue\)$/);
  });
});
