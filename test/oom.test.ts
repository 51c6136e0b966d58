import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { classifyFailure, type FailureFacts } from '../src/backend/oom.js';

const GiB = 1024 ** 3;

const tfGpuOom =
  'Invalid TF_Status: 8\nMessage: OOM when allocating tensor with shape[512,32,28,28] and type float on ' +
  '/job:localhost/replica:0/task:0/device:GPU:0 by allocator GPU_0_bfc\n\t [[{{node Conv2D}}]]\n' +
  'Hint: If you want to see a list of allocated tensors when OOM happens, add report_tensor_allocations_upon_oom ' +
  'to RunOptions for current allocation info. This isn\'t available when running in Eager mode.\n' +
  'Additional padding so that the binding has something to cut at 500 characters ' + 'x'.repeat(200);

const cases: Array<[string, FailureFacts, 'oom' | 'error' | 'timeout', RegExp]> = [
  ['tfjs-node-gpu OOM', { name: 'Error', message: tfGpuOom }, 'oom', /^TensorFlow OOM when allocating tensor shape\[512,32,28,28\] on GPU:0$/],
  ['the same cut at 500 chars', { message: tfGpuOom.slice(0, 500) }, 'oom', /shape\[512,32,28,28\] on GPU:0/],
  ['cut mid-shape', { message: tfGpuOom.slice(0, 70) }, 'oom', /^TensorFlow OOM when allocating tensor$/],
  ['cut to the status alone', { message: 'Invalid TF_Status: 8' }, 'oom', /RESOURCE_EXHAUSTED/],
  [
    'CPU OOM',
    { message: 'Invalid TF_Status: 8\nMessage: OOM when allocating tensor with shape[4096,4096] and type float on /job:localhost/replica:0/task:0/device:CPU:0 by allocator cpu' },
    'oom',
    /shape\[4096,4096\] on CPU:0/,
  ],
  ['failed to allocate memory', { message: 'Invalid TF_Status: 13\nMessage: failed to allocate memory' }, 'oom', /failed to allocate memory/],
  ['CUDA_ERROR_OUT_OF_MEMORY', { stderr: 'E tensorflow/stream_executor/cuda/cuda_driver.cc:806] failed to alloc 8589934592 bytes on host: CUDA_ERROR_OUT_OF_MEMORY: out of memory' }, 'oom', /CUDA/],
  ['Resource exhausted', { message: 'Resource exhausted: OOM when allocating tensor' }, 'oom', /TensorFlow/],
  ['ResourceExhaustedError', { name: 'ResourceExhaustedError', message: 'something big' }, 'oom', /resource exhausted/],
  ['Array buffer allocation failed', { name: 'RangeError', message: 'Array buffer allocation failed' }, 'oom', /ArrayBuffer/],
  ['RangeError text in message', { message: 'RangeError: Array buffer allocation failed' }, 'oom', /ArrayBuffer/],
  ['huge typed array', { message: 'RangeError: Invalid typed array length: 4294967296' }, 'oom', /typed array too large \(length 4294967296\)/],
  ['Cannot allocate Wasm memory', { message: 'RangeError: Cannot allocate Wasm memory for new instance' }, 'oom', /wasm memory/],
  ['WebAssembly.Memory(): could not allocate memory', { message: 'RangeError: WebAssembly.Memory(): could not allocate memory' }, 'oom', /wasm memory/],
  ['Memory.grow maximum', { message: 'RangeError: WebAssembly.Memory.grow(): Maximum memory size exceeded' }, 'oom', /cannot grow/],
  ['wasm Out of memory', { message: 'Out of memory' }, 'oom', /out of memory/],
  ['abort(OOM)', { message: 'abort(OOM). Build with -s ASSERTIONS=1 for more info.' }, 'oom', /abort\(OOM\)/],
  [
    'emscripten cannot enlarge',
    { message: 'Cannot enlarge memory arrays to size 4294971392 bytes (OOM). Either (1) compile with -s INITIAL_MEMORY=X' },
    'oom',
    /Cannot enlarge memory arrays/,
  ],
  [
    'out of bounds near the cap',
    { name: 'RuntimeError', message: 'memory access out of bounds', wasmHeapBytes: 3.9 * GiB },
    'oom',
    /^wasm heap exhausted \(memory access out of bounds at 3\.9 GiB\)$/,
  ],
  [
    'out of bounds at exactly 3.5 GiB',
    { message: 'RuntimeError: memory access out of bounds', wasmHeapBytes: 3.5 * GiB },
    'oom',
    /3\.5 GiB/,
  ],
  [
    'V8 heap OOM in stderr',
    {
      exitCode: 134,
      signal: 'SIGABRT',
      stderr:
        '<--- Last few GCs --->\n[123:0x5]  9000 ms: Mark-Compact 4000.1 (4100.2) -> 3990.3 (4101.0) MB\n\n' +
        'FATAL ERROR: Ineffective mark-compacts near heap limit Allocation failed - JavaScript heap out of memory\n',
    },
    'oom',
    /V8 JavaScript heap out of memory/,
  ],
  ['Reached heap limit', { stderr: 'FATAL ERROR: Reached heap limit Allocation failed' }, 'oom', /V8/],
  ['SIGKILL', { signal: 'SIGKILL', exitCode: null }, 'oom', /^killed by SIGKILL \(likely the kernel OOM killer\)$/],
  ['exit 137', { exitCode: 137 }, 'oom', /137.*OOM killer/],
  ['timed out', { timedOut: true, signal: 'SIGKILL' }, 'timeout', /timed out/],
  ['timed out beats OOM text', { timedOut: true, message: 'Out of memory' }, 'timeout', /timed out/],

  ['TypeError', { name: 'TypeError', message: "Cannot read properties of undefined (reading 'shape')\n    at foo (x.js:1:1)" }, 'error', /^TypeError: Cannot read properties of undefined \(reading 'shape'\)$/],
  ['TypeError already prefixed', { name: 'TypeError', message: 'TypeError: x is not a function' }, 'error', /^TypeError: x is not a function$/],
  [
    'shape mismatch',
    { name: 'Error', message: 'Error when checking target: expected dense_Dense2 to have shape [,10], but got array with shape [512,1].' },
    'error',
    /^Error when checking target/,
  ],
  [
    'TF status other than 8',
    { message: 'Invalid TF_Status: 3\nMessage: Incompatible shapes: [32,10] vs. [32,1]' },
    'error',
    /^Invalid TF_Status: 3$/,
  ],
  ['out of bounds on a small heap', { name: 'RuntimeError', message: 'memory access out of bounds', wasmHeapBytes: 256 * 1024 ** 2 }, 'error', /likely a bug/],
  ['out of bounds, heap unknown', { message: 'RuntimeError: memory access out of bounds' }, 'error', /treated as a bug/],
  ['negative typed array length', { message: 'RangeError: Invalid typed array length: -1' }, 'error', /Invalid typed array length: -1/],
  ['exit 1, no message', { exitCode: 1 }, 'error', /^exited with code 1 and no error message$/],
  [
    'exit 1, node stack on stderr',
    { exitCode: 1, stderr: "file:///x/model.js:12\n  foo();\n  ^\n\nReferenceError: foo is not defined\n    at file:///x/model.js:12:3\n\nNode.js v20.20.2\n" },
    'error',
    /^ReferenceError: foo is not defined$/,
  ],
  ['SIGSEGV', { signal: 'SIGSEGV' }, 'error', /^killed by SIGSEGV$/],
  ['nothing at all', {}, 'error', /no error message/],
];

describe('classifyFailure', () => {
  it.each(cases)('%s', (_label, facts, outcome, reason) => {
    const got = classifyFailure(facts);
    expect(got.outcome).toBe(outcome);
    expect(got.reason).toMatch(reason);
  });

  it('the 500-char cut still yields an OOM at every cut point after the status', () => {
    for (let n = 'Invalid TF_Status: 8'.length; n <= 500; n++) {
      expect(classifyFailure({ message: tfGpuOom.slice(0, n) }).outcome).toBe('oom');
    }
  });

  it('property: the reason is always one line of at most 200 characters', () => {
    const facts = fc.record(
      {
        message: fc.option(fc.string({ maxLength: 1000 }), { nil: undefined }),
        name: fc.option(fc.string({ maxLength: 300 }), { nil: undefined }),
        stderr: fc.option(fc.string({ maxLength: 1000 }), { nil: undefined }),
        exitCode: fc.option(fc.integer({ min: 0, max: 255 }), { nil: null }),
        signal: fc.option(fc.constantFrom('SIGKILL', 'SIGTERM', 'SIGSEGV'), { nil: null }),
        timedOut: fc.boolean(),
        wasmHeapBytes: fc.option(fc.nat({ max: 4 * GiB }), { nil: null }),
      },
      { requiredKeys: [] },
    );
    fc.assert(
      fc.property(facts, (f) => {
        const { outcome, reason } = classifyFailure(f);
        expect(['oom', 'error', 'timeout']).toContain(outcome);
        expect(reason.length).toBeGreaterThan(0);
        expect(reason.length).toBeLessThanOrEqual(200);
        expect(reason).not.toMatch(/[\r\n]/);
      }),
    );
  });
});
