/**
 * Classify how a training trial failed: out of memory (the search steps down),
 * a timeout, or an ordinary error (the search stops — stepping down past a bug
 * would report a misleading "max batch").
 *
 * Matching is on substrings, not whole messages, because tfjs-node cuts the
 * TensorFlow status message at 500 characters and the child's stderr mixes in
 * warnings and stack traces.
 */

/** diverged: the run trained (memory and speed are real) but its loss went NaN/Inf or up, or it stayed at chance (src/train/divergence.ts). */
export type Outcome = 'ok' | 'oom' | 'error' | 'timeout' | 'diverged';

export interface FailureFacts {
  message?: string | null;
  name?: string | null;
  stderr?: string | null;
  exitCode?: number | null;
  signal?: NodeJS.Signals | string | null;
  timedOut?: boolean;
  /** Size of the wasm heap when the trial failed, if the wasm backend was in use. */
  wasmHeapBytes?: number | null;
  /** The trial's backend: a SIGSEGV means something else on a GPU driver than in JS. */
  backend?: string | null;
}

export interface Classification {
  outcome: Exclude<Outcome, 'ok' | 'diverged'>;
  /** One short human line, ≤ 200 characters. */
  reason: string;
}

const GiB = 1024 ** 3;
/** wasm32 cannot address past 4 GiB; an out-of-bounds access this close to it means the heap ran out. */
export const WASM_NEAR_CAP_BYTES = 3.5 * GiB;
/**
 * A typed-array length this large only comes from a huge tensor; smaller
 * "invalid" lengths (negative, fractional) are bugs.
 */
const HUGE_TYPED_ARRAY_LENGTH = 2 ** 30;
const MAX_REASON = 200;

function oneLine(text: string): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length <= MAX_REASON ? flat : `${flat.slice(0, MAX_REASON - 1)}…`;
}

function gib(bytes: number): string {
  return `${(bytes / GiB).toFixed(1)} GiB`;
}

function tensorFlowReason(text: string): string {
  // Only a complete shape is quoted: a message cut at 500 chars may end mid-shape.
  const shape = /shape\s*\[([\d,\s]*)\]/.exec(text);
  const device = /device:([A-Za-z_]+:\d+)/.exec(text);
  let reason = 'TensorFlow OOM when allocating tensor';
  if (shape) reason += ` shape[${shape[1].replace(/\s+/g, '')}]`;
  if (device) reason += ` on ${device[1]}`;
  return reason;
}

type Rule = { test: RegExp; reason: (text: string, match: RegExpExecArray) => string | null };

/**
 * Ordered most specific first; a rule whose reason() returns null does not
 * match (used for "looks like OOM only if the numbers say so").
 */
const rules: Rule[] = [
  {
    // bstune's WebGPU checks (src/backend/webgpu/): a tensor the device cannot bind or create.
    test: /does not fit: exceeds the device's (?:binding|buffer) limit[^\n]*/,
    reason: (_t, m) => m[0],
  },
  { test: /WebGPU out of memory[^\n]*/, reason: (_t, m) => m[0] },
  { test: /OOM when allocating/i, reason: (t) => tensorFlowReason(t) },
  {
    // 8 = RESOURCE_EXHAUSTED in TensorFlow's status codes.
    test: /Invalid TF_Status:\s*8\b/,
    reason: (t) => (/shape\s*\[|device:/.test(t) ? tensorFlowReason(t) : 'TensorFlow RESOURCE_EXHAUSTED (TF_Status 8)'),
  },
  { test: /CUDA_ERROR_OUT_OF_MEMORY/, reason: () => 'CUDA out of memory (CUDA_ERROR_OUT_OF_MEMORY)' },
  { test: /ResourceExhaustedError|Resource exhausted/i, reason: () => 'TensorFlow resource exhausted' },
  { test: /failed to allocate memory/i, reason: () => 'TensorFlow failed to allocate memory' },
  {
    test: /JavaScript heap out of memory|Reached heap limit/i,
    reason: () => 'V8 JavaScript heap out of memory (see --max-old-space-size)',
  },
  { test: /Array buffer allocation failed/i, reason: () => 'JS ArrayBuffer allocation failed' },
  {
    test: /Invalid typed array length:\s*(-?[\d.e+]+)/i,
    reason: (_t, m) => {
      const length = Number(m[1]);
      return Number.isInteger(length) && length >= HUGE_TYPED_ARRAY_LENGTH
        ? `typed array too large (length ${length})`
        : null;
    },
  },
  {
    test: /Cannot allocate Wasm memory|WebAssembly\.Memory(?:\(\))?: could not allocate memory/i,
    reason: () => 'could not allocate wasm memory',
  },
  {
    test: /WebAssembly\.Memory\.grow\(\): Maximum memory size exceeded/i,
    reason: () => 'wasm heap cannot grow (maximum memory size exceeded)',
  },
  {
    // bstune's own check of tfjs-backend-wasm's malloc (src/backend/wasm-oom.ts).
    test: /wasm heap exhausted: cannot allocate ([\d.]+ MiB) \(heap at ([\d.]+ GiB)/i,
    reason: (_t, m) => `wasm heap exhausted (could not allocate ${m[1]} at ${m[2]} of the 4 GiB cap)`,
  },
  {
    test: /Cannot enlarge memory arrays/i,
    reason: () => 'wasm heap exhausted (emscripten: Cannot enlarge memory arrays)',
  },
  { test: /abort\(\s*OOM\s*\)/i, reason: () => 'wasm out of memory (abort(OOM))' },
  { test: /out of memory/i, reason: () => 'out of memory' },
];

function firstLine(text: string): string {
  return text.split(/\r?\n/).find((l) => l.trim() !== '')?.trim() ?? '';
}

/**
 * The line of a child's stderr worth showing: Node prints the source excerpt
 * and a caret before the "SomeError: ..." line, and its version after it.
 */
function stderrHeadline(stderr: string): string {
  const lines = stderr.split(/\r?\n/).map((l) => l.trim()).filter((l) => l !== '');
  return lines.find((l) => /^([A-Z]\w*)?Error\b|^FATAL|^Uncaught/.test(l)) ?? lines[0] ?? '';
}

function errorReason(f: FailureFacts): string {
  const message = f.message ? firstLine(f.message) : '';
  if (message) {
    const name = f.name?.trim();
    const prefixed = name && name !== 'Error' && !message.startsWith(name) ? `${name}: ${message}` : message;
    return oneLine(prefixed);
  }
  const fromStderr = f.stderr ? stderrHeadline(f.stderr) : '';
  if (fromStderr) return oneLine(fromStderr);
  if (f.signal) return `killed by ${f.signal}`;
  if (f.exitCode !== undefined && f.exitCode !== null) return `exited with code ${f.exitCode} and no error message`;
  return oneLine(f.name?.trim() || 'failed with no error message');
}

export function classifyFailure(f: FailureFacts): Classification {
  if (f.timedOut) {
    const detail = f.signal ? ` (then killed by ${f.signal})` : '';
    return { outcome: 'timeout', reason: `trial timed out${detail}` };
  }

  const text = [f.name, f.message, f.stderr].filter((s): s is string => typeof s === 'string' && s !== '').join('\n');
  for (const rule of rules) {
    const match = rule.test.exec(text);
    if (!match) continue;
    const reason = rule.reason(text, match);
    if (reason !== null) return { outcome: 'oom', reason: oneLine(reason) };
  }

  if (/memory access out of bounds/i.test(text)) {
    const heap = f.wasmHeapBytes;
    if (typeof heap === 'number' && heap >= WASM_NEAR_CAP_BYTES) {
      return { outcome: 'oom', reason: `wasm heap exhausted (memory access out of bounds at ${gib(heap)})` };
    }
    const why =
      typeof heap === 'number'
        ? `wasm heap at ${gib(heap)}, not near the 4 GiB cap, so likely a bug`
        : 'wasm heap size unknown, so treated as a bug';
    return { outcome: 'error', reason: oneLine(`${errorReason(f)} (${why})`) };
  }

  // Real exhaustion on Mesa's software Vulkan device crashes the process inside the driver
  // (seen: SIGSEGV while allocating); the trial's own process contains it.
  if (f.backend === 'webgpu' && (f.signal === 'SIGSEGV' || f.signal === 'SIGBUS')) {
    return { outcome: 'oom', reason: `crashed while allocating (${f.signal} in the GPU driver)` };
  }

  // The kernel's OOM killer sends SIGKILL; a shell or container reports it as 128 + 9.
  if (f.signal === 'SIGKILL') return { outcome: 'oom', reason: 'killed by SIGKILL (likely the kernel OOM killer)' };
  if (f.exitCode === 137 && !f.signal) {
    return { outcome: 'oom', reason: 'exited with code 137 = SIGKILL (likely the kernel OOM killer)' };
  }

  return { outcome: 'error', reason: errorReason(f) };
}
