/**
 * The local implementation of the trial contract: up to `slots` trial processes at once
 * on this machine, each on its own GPU when there are GPUs. The queue worker runs its
 * jobs through this pool too, so a trial runs the same way wherever it runs.
 */
import { freemem, hostname } from 'node:os';
import { usableCores } from './cores.js';
import { BstuneError } from '../errors.js';
import { runTrial } from './run.js';
import { planSlots, type SlotPlan, type SlotRequest } from './slots.js';
import { killAllTrials } from './pool.js';
import type { RunRequest, TrialRunner } from './runner.js';
import type { TrialResult, TrialSpec } from './protocol.js';

export class LocalPool implements TrialRunner {
  readonly slots: number;
  readonly description: string;
  private readonly free: (string | null)[];
  private readonly waiting: (() => void)[] = [];
  private readonly stop = new AbortController();

  constructor(readonly plan: SlotPlan) {
    this.slots = plan.slots;
    this.free = plan.gpus ? [...plan.gpus] : Array.from({ length: plan.slots }, () => null);
    this.description = plan.gpus
      ? `${plan.slots} trial process${plan.slots === 1 ? '' : 'es'} at once, one per GPU (${plan.gpus.join(', ')})`
      : `${plan.slots} trial process${plan.slots === 1 ? '' : 'es'} at once`;
  }

  async run(spec: TrialSpec, req: RunRequest): Promise<TrialResult> {
    const gpu = await this.acquire(req.signal);
    try {
      req.onStart?.(gpu !== null ? `${hostname()} GPU ${gpu}` : hostname());
      const signal = req.signal ? AbortSignal.any([req.signal, this.stop.signal]) : this.stop.signal;
      const t = await runTrial({ ...spec, slots: this.slots }, {
        ...req, signal,
        // One slot: the next trial's process may load while this one runs (find-max does that);
        // with more slots the other cores are busy with trials.
        prewarmNext: this.slots === 1 && req.prewarmNext === true,
        // Both: a queue worker learns a trial's backend only from its job. tfjs-node-gpu sees only
        // CUDA_VISIBLE_DEVICES; a webgpu trial picks adapter `gpu` of Dawn's list (webgpu/adapter.ts).
        ...(gpu !== null ? { env: { CUDA_VISIBLE_DEVICES: gpu, BSTUNE_WEBGPU_ADAPTER: gpu } } : {}),
      });
      return { ...t, ranOn: { host: hostname(), gpu, slots: this.slots } };
    } finally {
      this.release(gpu);
    }
  }

  private acquire(signal: AbortSignal | undefined): Promise<string | null> {
    return new Promise((resolve, reject) => {
      const attempt = () => {
        if (signal?.aborted || this.stop.signal.aborted) return reject(new BstuneError('BSTUNE_INTERRUPTED', 'interrupted'));
        if (this.free.length > 0) return resolve(this.free.shift()!);
        this.waiting.push(attempt);
      };
      attempt();
      signal?.addEventListener('abort', () => {
        const i = this.waiting.indexOf(attempt);
        if (i >= 0) this.waiting.splice(i, 1);
        attempt();
      }, { once: true });
    });
  }

  private release(gpu: string | null): void {
    this.free.push(gpu);
    this.waiting.shift()?.();
  }

  async close(): Promise<void> {
    this.stop.abort();
    for (const w of this.waiting.splice(0)) w();
    killAllTrials();
  }
}

/** Memory that new processes can use: cgroup-aware where this Node can tell (process.availableMemory). */
export function availableMemory(): number {
  const p = process as NodeJS.Process & { availableMemory?: () => number };
  const v = typeof p.availableMemory === 'function' ? p.availableMemory() : 0;
  return v > 0 ? v : freemem();
}

/** A pool sized for this machine: the rules of planSlots with this machine's cores and memory. */
export function localPool(r: Omit<SlotRequest, 'cores' | 'availableMemoryBytes'>): LocalPool {
  return new LocalPool(planSlots({ ...r, cores: usableCores(), availableMemoryBytes: availableMemory() }));
}

