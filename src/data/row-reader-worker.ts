/** The reader thread of row-reader.ts: takes each request, reads the chunks of it it can claim into the shared buffer. */
import { receiveMessageOnPort, workerData, type MessagePort } from 'node:worker_threads';

import { readRowsInto, stagingFor } from './row-read.js';
import { claimChunk, CTRL, type RowRequest } from './row-reader.js';

const { ctrl: sab, port } = workerData as { ctrl: SharedArrayBuffer; port: MessagePort };
const ctrl = new Int32Array(sab);
let out: Float32Array<ArrayBufferLike> = new Float32Array(0);
let staging: Uint8Array | undefined;
let handled = 0;

Atomics.store(ctrl, CTRL.ready, 1);
for (;;) {
  Atomics.wait(ctrl, CTRL.request, handled);
  // A request's message is posted before its number is stored; take messages until it is handled.
  while (handled < Atomics.load(ctrl, CTRL.request)) {
    const m = receiveMessageOnPort(port)?.message as RowRequest | undefined;
    if (m === undefined) {
      Atomics.wait(ctrl, CTRL.request, Atomics.load(ctrl, CTRL.request), 1);
      continue;
    }
    if (m.stop) process.exit(0);
    if (m.out) out = new Float32Array(m.out);
    const chunks = Math.ceil(m.count / m.chunkRows);
    // Chunks the training thread has not claimed yet (it claims the rest when it needs the batch first).
    for (let c = claimChunk(ctrl, m.seq, chunks); c >= 0; c = claimChunk(ctrl, m.seq, chunks)) {
      const from = c * m.chunkRows;
      const n = Math.min(m.chunkRows, m.count - from);
      try {
        if (m.g.dtype !== 'float32') staging = stagingFor(m.g.dtype, n * m.g.rowValues, staging);
        readRowsInto(m.fd, m.g, m.rows.subarray(from, from + n), n, out, from * m.g.rowValues, staging ?? null);
      } catch {
        Atomics.store(ctrl, CTRL.failed, 1);
      }
      Atomics.add(ctrl, CTRL.done, 1);
      Atomics.notify(ctrl, CTRL.done);
    }
    handled = m.seq;
  }
}
