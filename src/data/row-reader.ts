/**
 * A reader thread that reads the next batch's rows of a .npy file while the training thread
 * computes the current step. A positional read costs ~3 µs here (a system call from Node on
 * this VM), so a batch of 512 shuffled rows costs ~1.5 ms: a third of a 4.7 ms MLP step if
 * the training thread made them itself.
 * The batch is cut into chunks of rows that either thread claims (one atomic word holds the
 * request's number and the next free chunk): when the training thread needs the batch and the
 * reader thread is behind (descheduled on a busy machine), it reads the chunks still unclaimed
 * itself instead of waiting, and waits only for chunks in flight. Same reading code on both
 * threads (row-read.ts), so the values are the same; a chunk the reader thread fails to read
 * is read again by the training thread, which reports the error with the file and row.
 * One per process, started at the first batch read from a file; BSTUNE_NPY_PREFETCH=0 turns it off.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { MessageChannel, Worker, type MessagePort } from 'node:worker_threads';

import { readRowsInto, stagingFor, type RowGeometry } from './row-read.js';
import { npyPrefetch } from '../env.js';

/** Int32 slots of the control block shared with the thread. */
export const CTRL = { ready: 0, request: 1, claim: 2, done: 3, failed: 4 } as const;
/** The claim word: request number (high bits) and next unclaimed chunk (low CHUNK_BITS). */
export const CHUNK_BITS = 8;
const MAX_CHUNKS = 1 << (CHUNK_BITS - 1);
const SEQ_MASK = (1 << (31 - CHUNK_BITS)) - 1;
/** Rows per chunk: ~0.1 ms of reads, so a descheduled reader holds up little. */
const CHUNK_ROWS = 32;

export const claimWord = (seq: number, chunk: number): number => ((seq & SEQ_MASK) << CHUNK_BITS) | chunk;

/** Claims the next chunk of request `seq` (its index), or -1 when none is left or another request is current. */
export function claimChunk(ctrl: Int32Array, seq: number, chunks: number): number {
  for (;;) {
    const w = Atomics.load(ctrl, CTRL.claim);
    if (w >>> CHUNK_BITS !== (seq & SEQ_MASK)) return -1;
    const k = w & ((1 << CHUNK_BITS) - 1);
    if (k >= chunks) return -1;
    if (Atomics.compareExchange(ctrl, CTRL.claim, w, w + 1) === w) return k;
  }
}

export interface RowRequest {
  seq: number;
  fd: number;
  g: RowGeometry;
  rows: Uint32Array;
  count: number;
  chunkRows: number;
  /** A new, larger output buffer, when the batch outgrew the last one. */
  out?: SharedArrayBuffer;
  stop?: true;
}

/** Longest wait for a chunk in flight before the thread counts as stuck. */
const STUCK_MS = 30_000;

function workerPath(): string {
  const here = fileURLToPath(new URL('./row-reader-worker.js', import.meta.url));
  if (existsSync(here)) return here;
  return fileURLToPath(new URL('../../dist/data/row-reader-worker.js', import.meta.url));
}

export class RowReader {
  private readonly ctrl = new Int32Array(new SharedArrayBuffer(32));
  private out: Float32Array<ArrayBufferLike> = new Float32Array(0);
  private readonly port: MessagePort;
  private readonly worker: Worker;
  private seq = 0;
  private pending: { seq: number; fd: number; g: RowGeometry; rows: Uint32Array; count: number; chunkRows: number; chunks: number } | null = null;
  private broken = false;
  private staging: Uint8Array | undefined;
  /** Batches taken from a request, chunks read by the reader thread / by the training thread, ms waited (tests, tracing). */
  readonly stats = { served: 0, missed: 0, chunksByReader: 0, chunksHere: 0, waitMs: 0 };

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

  /** Offers rows[0 .. count) of the file to the reader thread (when it is up). */
  request(fd: number, g: RowGeometry, rows: Uint32Array, count: number): void {
    if (!this.ready()) return;
    this.finish();
    const values = count * g.rowValues;
    let out: SharedArrayBuffer | undefined;
    if (this.out.length < values) {
      out = new SharedArrayBuffer(values * 4);
      this.out = new Float32Array(out);
    }
    const chunkRows = Math.max(CHUNK_ROWS, Math.ceil(count / MAX_CHUNKS));
    const chunks = Math.ceil(count / chunkRows);
    const seq = ++this.seq;
    const req: RowRequest = { seq, fd, g: { dataOffset: g.dataOffset, rowValues: g.rowValues, dtype: g.dtype, rows: g.rows }, rows: rows.slice(0, count), count, chunkRows, ...(out ? { out } : {}) };
    // Published before the message: the thread claims only chunks of the request the word names.
    Atomics.store(this.ctrl, CTRL.done, 0);
    Atomics.store(this.ctrl, CTRL.failed, 0);
    Atomics.store(this.ctrl, CTRL.claim, claimWord(seq, 0));
    this.port.postMessage(req);
    this.pending = { seq, fd, g, rows: req.rows, count, chunkRows, chunks };
    Atomics.store(this.ctrl, CTRL.request, seq);
    Atomics.notify(this.ctrl, CTRL.request);
  }

  /**
   * Fills dst with rows[0 .. count) when they are the rows offered last: chunks the thread
   * read are copied, the rest are read here; false (nothing written) for other rows.
   */
  take(fd: number, g: RowGeometry, rows: Uint32Array, count: number, dst: Float32Array): boolean {
    const p = this.pending;
    if (p === null) return false;
    let match = p.fd === fd && p.g === g && p.count === count;
    for (let k = 0; match && k < count; k++) match = p.rows[k] === rows[k];
    if (!match) {
      this.stats.missed++;
      this.finish();
      return false;
    }
    this.pending = null;
    const mine: number[] = [];
    for (let c = claimChunk(this.ctrl, p.seq, p.chunks); c >= 0; c = claimChunk(this.ctrl, p.seq, p.chunks)) {
      const from = c * p.chunkRows;
      const n = Math.min(p.chunkRows, count - from);
      if (g.dtype !== 'float32') this.staging = stagingFor(g.dtype, n * g.rowValues, this.staging);
      readRowsInto(fd, g, rows.subarray(from, from + n), n, dst, from * g.rowValues, this.staging ?? null);
      mine.push(c);
      Atomics.add(this.ctrl, CTRL.done, 1);
    }
    const theirs = p.chunks - mine.length;
    this.stats.chunksHere += mine.length;
    this.stats.chunksByReader += theirs;
    if (!this.await(p.chunks)) return this.readRest(fd, g, rows, count, dst, p, mine);
    // A chunk the thread could not read: read again here (the error, if it stays, is reported here).
    if (Atomics.load(this.ctrl, CTRL.failed) !== 0) return this.readRest(fd, g, rows, count, dst, p, mine);
    const mineSet = new Set(mine);
    for (let c = 0; c < p.chunks; c++) {
      if (mineSet.has(c)) continue;
      const from = c * p.chunkRows * g.rowValues;
      const to = Math.min(count, (c + 1) * p.chunkRows) * g.rowValues;
      dst.set(this.out.subarray(from, to), from);
    }
    this.stats.served++;
    return true;
  }

  /** The thread's chunks, read here instead (it failed or is stuck). */
  private readRest(fd: number, g: RowGeometry, rows: Uint32Array, count: number, dst: Float32Array, p: { chunkRows: number; chunks: number }, mine: number[]): boolean {
    for (let c = 0; c < p.chunks; c++) {
      if (mine.includes(c)) continue;
      const from = c * p.chunkRows;
      const n = Math.min(p.chunkRows, count - from);
      if (g.dtype !== 'float32') this.staging = stagingFor(g.dtype, n * g.rowValues, this.staging);
      readRowsInto(fd, g, rows.subarray(from, from + n), n, dst, from * g.rowValues, this.staging ?? null);
    }
    this.stats.served++;
    return true;
  }

  /** Waits until `chunks` chunks are done; false when the thread seems stuck (then it is stopped). */
  private await(chunks: number): boolean {
    const t0 = performance.now();
    for (;;) {
      const done = Atomics.load(this.ctrl, CTRL.done);
      if (done >= chunks) break;
      if (this.broken || Atomics.wait(this.ctrl, CTRL.done, done, STUCK_MS) === 'timed-out') {
        this.stop();
        return false;
      }
    }
    this.stats.waitMs += performance.now() - t0;
    return true;
  }

  /** Ends the request offered last, if any: its unclaimed chunks are dropped, chunks in flight waited for. */
  private finish(): void {
    const p = this.pending;
    if (p === null) return;
    this.pending = null;
    while (claimChunk(this.ctrl, p.seq, p.chunks) >= 0) Atomics.add(this.ctrl, CTRL.done, 1);
    this.await(p.chunks);
  }

  /** Before a file is closed: no read of it may still be running. */
  forget(fd: number): void {
    if (this.pending?.fd === fd) this.finish();
  }

  stop(): void {
    if (process.env.BSTUNE_NPY_TRACE) process.stderr.write(`bstune: row reader thread: ${JSON.stringify(this.stats)}\n`);
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
  if (!npyPrefetch()) return null;
  if (reader === null) reader = new RowReader();
  return reader;
}

/** Ends the reader thread (once no file is open); the next batch read starts a new one. */
export function stopRowReader(): void {
  reader?.stop();
  reader = null;
}
