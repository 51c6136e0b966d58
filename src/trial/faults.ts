/**
 * Test-only fault injection, switched on by the BSTUNE_TEST_FAULT environment variable
 * (never by a config value): `kill:256` SIGKILLs the trial process after its first step
 * at batch sizes >= 256; `oom:` fails a real allocation; `throw:` raises an ordinary
 * bug; `hang:` stops making progress; `heap:` exhausts the V8 heap; `segv:` dies of SIGSEGV,
 * as Mesa's software Vulkan driver does when memory runs out; `thread:` makes the last
 * training thread (with more than one) throw at step 2. Comma-separated.
 */
export type FaultKind = 'kill' | 'oom' | 'throw' | 'hang' | 'heap' | 'segv' | 'thread';
export interface Fault {
  kind: FaultKind;
  minBatch: number;
}

const kinds: readonly FaultKind[] = ['kill', 'oom', 'throw', 'hang', 'heap', 'segv', 'thread'];

export function parseFaults(text: string | undefined): Fault[] {
  if (!text) return [];
  return text.split(',').flatMap((part) => {
    const [kind, n] = part.trim().split(':');
    return kinds.includes(kind as FaultKind) && Number.isInteger(Number(n)) ? [{ kind: kind as FaultKind, minBatch: Number(n) }] : [];
  });
}

export function faultAfterStep(faults: Fault[], batchSize: number, globalStep: number): void {
  if (globalStep !== 0) return;
  const fault = faults.find((f) => batchSize >= f.minBatch);
  if (!fault) return;
  switch (fault.kind) {
    case 'kill':
      process.kill(process.pid, 'SIGKILL');
      break;
    case 'segv':
      process.kill(process.pid, 'SIGSEGV');
      break;
    case 'oom':
      // A real failed allocation, as V8 reports it when memory runs out.
      void new ArrayBuffer(2 ** 45);
      break;
    case 'throw':
      throw new TypeError(`injected bug at batch ${batchSize}: cannot read properties of undefined (reading 'shape')`);
    case 'hang':
      for (;;) { /* spin: only the parent's timeout ends this */ }
    case 'heap': {
      const hoard: number[][] = [];
      for (;;) hoard.push(new Array(1e6).fill(Math.random()));
    }
  }
}
