// The batch filler's uint8 paths (four pixels per read where rows are 4-byte aligned,
// bytewise otherwise) give exactly the float32 of v / 255, in the order asked for.
import { describe, expect, it } from 'vitest';
import { BatchFiller } from '../src/train/batches.js';
import type { Split } from '../src/data/types.js';

function split(images: Uint8Array, rows: number, select?: number[]): Split {
  const labels = Int32Array.from({ length: rows }, (_, i) => (i * 7) % 10);
  return { images, labels, count: select ? select.length : rows, ...(select ? { select: { index: Uint32Array.from(select), rows } } : {}) };
}

function expected(images: Uint8Array, row: number, rowBytes: number): number[] {
  return Array.from(images.subarray(row * rowBytes, (row + 1) * rowBytes), (v) => Math.fround(v / 255));
}

describe('BatchFiller, uint8 pixels', () => {
  const cases = [
    { name: 'aligned rows (four bytes per read)', rowBytes: 12, offset: 0 },
    { name: 'rows of an odd length (bytewise)', rowBytes: 7, offset: 0 },
    { name: 'a view at an unaligned byte offset (bytewise)', rowBytes: 12, offset: 3 },
  ];
  for (const c of cases) {
    it(`${c.name}: every value is v / 255 as float32, rows in the order's sequence, wrapping`, () => {
      const rows = 43;
      const backing = new Uint8Array(c.offset + rows * c.rowBytes);
      // Background: some whole words zero (skipped on the four-byte path), some partly.
      for (let i = 0; i < backing.length; i++) backing[i] = (i >> 2) % 3 === 0 || i % 5 === 0 ? 0 : (i * 37 + 11) & 255;
      const images = backing.subarray(c.offset);
      const select = Array.from({ length: 30 }, (_, i) => (i * 11) % rows);
      const s = split(images, rows, select);
      const filler = new BatchFiller(s, 8);
      const order = Array.from({ length: 30 }, (_, i) => (i * 7) % 30);
      for (const start of [0, 8, 26]) {
        filler.fill(order, start);
        for (let b = 0; b < 8; b++) {
          const row = select[order[(start + b) % 30]!]!;
          expect([...filler.x.subarray(b * c.rowBytes, (b + 1) * c.rowBytes)]).toEqual(expected(images, row, c.rowBytes));
          expect(filler.y[b]).toBe(s.labels[row]);
        }
      }
    });
  }
  it('covers all 256 byte values on the four-byte path', () => {
    const images = Uint8Array.from({ length: 256 }, (_, i) => 255 - i);
    const filler = new BatchFiller(split(images, 64), 64);
    filler.fill(Array.from({ length: 64 }, (_, i) => i), 0);
    expect([...filler.x]).toEqual([...images].map((v) => Math.fround(v / 255)));
  });
});
