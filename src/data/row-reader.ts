/**
 * A reader thread that reads the next batch's rows of a .npy file while the training thread
 * computes the current step. A positional read costs ~3 µs here (a system call from Node on
 * this VM), so a batch of 512 shuffled rows costs ~1.5 ms: a third of a 4.7 ms MLP step if
 * the training thread made them itself. Same reading code as the training thread
 * (row-read.ts), so the values are the same; any failure there makes the training thread
 * read the rows itself (and report the error with the file and row).
 * One per process, started at the first batch read from a file; BSTUNE_NPY_PREFETCH=0 turns it off.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { MessageChannel, Worker, type MessagePort } from 'node:worker_threads';

import type { RowGeometry } from './row-read.js';

/** Int32 slots of the control block shared with the thread. */
export const CTRL = { ready: 0, request: 1, done: 2, failed: 3 } as const;

export interface RowRequest {
  seq: number;
  fd: number;
  g: RowGeometry;
  rows: Uint32Array;
  count: number;
  /** A new, larger output buffer, when the batch outgrew the last one. */
  out?: SharedArrayBuffer;
  stop?: true;
}

/** Longest wait for one batch before the thread counts as stuck (rows are then read here). */
const STUCK_MS = 30_000;

function workerPath(): string {
  const here = fileURLToPath(new URL('./row-reader-worker.js', import.meta.url));
  if (existsSync(here)) return here;
  return fileURLToPath(new URL('../../dist/data/row-reader-worker.js', import.meta.url));
}

export class RowReader {
  private readonly ctrl = new Int32Array(new SharedArrayBuffer(16));
  private out: Float32Array<ArrayBufferLike> = new Float32Array(0);
  private readonly port: MessagePort;
  private readonly worker: Worker;
  private seq = 0;
  private pending: { seq: number; fd: number; g: RowGeometry; rows: Uint32Array; count: number } | null = null;
  private broken = false;
  /** Batches served from the thread / read here instead (tests, DEBUG). */
  readonly stats = { served: 0, missed: 0 };

  constructor() {
    const { port1, port2 } = new MessageChannel();
    this.port = port1;
    this.worker = new Worker(workerPath(), { workerData: { ctrl: this.ctrl.buffer, port: port2 }, transferList: [port2] });
    this.worker.on('error', () => { this.broken = true; });
    this.worker.on('exit', () => { this.broken = true; });
    this.worker.unref();
    port1.unref();
  }

  /** The thread is up and takes requests (it starts in the background; until then batches are read here). */
  ready(): boolean {
    return !this.broken && Atomics.load(this.ctrl, CTRL.ready) === 1;
  }

  /** Starts reading rows[0 .. count) of the file into the thread's buffer (when the thread is up). */
  request(fd: number, g: RowGeometry, rows: Uint32Array, count: number): void {
    if (!this.ready()) return;
    this.settle();
    const values = count * g.rowValues;
    let out: SharedArrayBuffer | undefined;
    if (this.out.length < values) {
      out = new SharedArrayBuffer(values * 4);
      this.out = new Float32Array(out);
    }
    const seq = ++this.seq;
    const req: RowRequest = { seq, fd, g: { dataOffset: g.dataOffset, rowValues: g.rowValues, dtype: g.dtype, rows: g.rows }, rows: rows.slice(0, count), count, ...(out ? { out } : {}) };
    this.port.postMessage(req);
    this.pending = { seq, fd, g, rows: req.rows, count };
    Atomics.store(this.ctrl, CTRL.request, seq);
    Atomics.notify(this.ctrl, CTRL.request);
  }

  /** Copies the rows into dst when they are what the thread read (waiting for it if need be); false otherwise. */
  take(fd: number, g: RowGeometry, rows: Uint32Array, count: number, dst: Float32Array): boolean {
    const p = this.pending;
    if (p === null) return false;
    let match = p.fd === fd && p.g === g && p.count === count;
    for (let k = 0; match && k < count; k++) match = p.rows[k] === rows[k];
    const ok = this.settle();
    if (!match || !ok) {
      this.stats.missed++;
      return false;
    }
    dst.set(this.out.subarray(0, count * g.rowValues));
    this.stats.served++;
    return true;
  }

  /** Waits for the read in flight, if any, and drops it; true when it finished without error. */
  private settle(): boolean {
    const p = this.pending;
    if (p === null) return false;
    this.pending = null;
    for (;;) {
      const done = Atomics.load(this.ctrl, CTRL.done);
      if (done >= p.seq) break;
      if (this.broken || Atomics.wait(this.ctrl, CTRL.done, done, STUCK_MS) === 'timed-out') {
        this.stop();
        return false;
      }
    }
    return Atomics.load(this.ctrl, CTRL.failed) !== p.seq;
  }

  /** Before a file is closed: no read of it may still be running. */
  forget(fd: number): void {
    if (this.pending?.fd === fd) this.settle();
  }

  stop(): void {
    this.broken = true;
    this.pending = null;
    this.port.postMessage({ stop: true } as Partial<RowRequest>);
    Atomics.store(this.ctrl, CTRL.request, ++this.seq);
    Atomics.notify(this.ctrl, CTRL.request);
    void this.worker.terminate();
    this.port.close();
  }
}

let reader: RowReader | null = null;

/** This process's reader thread (started on the first call), or null when turned off. */
export function rowReader(): RowReader | null {
  if (process.env.BSTUNE_NPY_PREFETCH === '0') return null;
  if (reader === null) reader = new RowReader();
  return reader;
}

/** Ends the reader thread (once no file is open); the next batch read starts a new one. */
export function stopRowReader(): void {
  reader?.stop();
  reader = null;
}
