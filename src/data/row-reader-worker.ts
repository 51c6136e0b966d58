/** The reader thread of row-reader.ts: waits for a request, reads its rows into the shared buffer, signals. */
import { receiveMessageOnPort, workerData, type MessagePort } from 'node:worker_threads';

import { readRowsInto, stagingFor } from './row-read.js';
import { CTRL, type RowRequest } from './row-reader.js';

const { ctrl: sab, port } = workerData as { ctrl: SharedArrayBuffer; port: MessagePort };
const ctrl = new Int32Array(sab);
let out: Float32Array<ArrayBufferLike> = new Float32Array(0);
let staging: Uint8Array | undefined;
let handled = 0;

Atomics.store(ctrl, CTRL.ready, 1);
for (;;) {
  Atomics.wait(ctrl, CTRL.request, handled);
  // The request's message was posted before its number was stored; take messages until it is handled.
  while (handled < Atomics.load(ctrl, CTRL.request)) {
    const m = receiveMessageOnPort(port)?.message as RowRequest | undefined;
    if (m === undefined) {
      Atomics.wait(ctrl, CTRL.request, Atomics.load(ctrl, CTRL.request), 1);
      continue;
    }
    if (m.stop) process.exit(0);
    if (m.out) out = new Float32Array(m.out);
    try {
      if (m.g.dtype !== 'float32') staging = stagingFor(m.g.dtype, m.count * m.g.rowValues, staging);
      readRowsInto(m.fd, m.g, m.rows, m.count, out, 0, staging ?? null);
    } catch {
      Atomics.store(ctrl, CTRL.failed, m.seq);
    }
    handled = m.seq;
    Atomics.store(ctrl, CTRL.done, m.seq);
    Atomics.notify(ctrl, CTRL.done);
  }
}
