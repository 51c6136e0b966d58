/**
 * NumPy .npy reader (pure: bytes in, typed array out). The format, per numpy's
 * `numpy.lib.format`: the magic "\x93NUMPY", a major and minor version byte, the
 * header length (uint16 LE in version 1, uint32 LE in versions 2 and 3), then a
 * Python dict literal, e.g. {'descr': '<f4', 'fortran_order': False, 'shape': (60000, 28, 28), }
 * (ASCII in versions 1 and 2, UTF-8 in version 3), padded with spaces and a newline, then the data.
 */
import { BstuneError } from '../errors.js';

export type NpyDtype = 'uint8' | 'int32' | 'int64' | 'float32' | 'float64';

export interface NpyHeader {
  version: 1 | 2 | 3;
  /** The header's descr, e.g. '<f4'. */
  descr: string;
  dtype: NpyDtype;
  shape: number[];
  fortranOrder: boolean;
  /** Byte offset of the data. */
  dataOffset: number;
}

export interface NpyArray extends NpyHeader {
  /** A view on the file's bytes where alignment allows (no copy); int64 as BigInt64Array. */
  data: Uint8Array | Int32Array | BigInt64Array | Float32Array | Float64Array;
}

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // \x93NUMPY

const DTYPES: Record<string, { dtype: NpyDtype; bytes: number }> = {
  '|u1': { dtype: 'uint8', bytes: 1 },
  '<u1': { dtype: 'uint8', bytes: 1 },
  '>u1': { dtype: 'uint8', bytes: 1 },
  '<i4': { dtype: 'int32', bytes: 4 },
  '<i8': { dtype: 'int64', bytes: 8 },
  '<f4': { dtype: 'float32', bytes: 4 },
  '<f8': { dtype: 'float64', bytes: 8 },
};

const fmt = (n: number) => n.toLocaleString('en-US');

function bad(message: string, file: string): BstuneError {
  return new BstuneError('BSTUNE_DATA_INVALID', message, file);
}

/** Parses the header dict: string, bool and tuple-of-int values only (all that numpy writes there). */
function parseDict(text: string, file: string): Map<string, string | boolean | number[]> {
  const out = new Map<string, string | boolean | number[]>();
  let i = 0;
  const ws = () => {
    while (i < text.length && /\s/.test(text[i]!)) i++;
  };
  const fail = (what: string): never => {
    throw bad(`bad .npy header: ${what} at character ${i} of ${JSON.stringify(text.trim().slice(0, 120))}`, file);
  };
  const str = (): string => {
    const q = text[i];
    if (q !== "'" && q !== '"') fail('expected a quoted string');
    const end = text.indexOf(q!, i + 1);
    if (end < 0) fail('unterminated string');
    const s = text.slice(i + 1, end);
    i = end + 1;
    return s;
  };
  ws();
  if (text[i] !== '{') fail("expected '{'");
  i++;
  for (;;) {
    ws();
    if (text[i] === '}') break;
    const key = str();
    ws();
    if (text[i] !== ':') fail("expected ':'");
    i++;
    ws();
    let value: string | boolean | number[];
    if (text[i] === "'" || text[i] === '"') value = str();
    else if (text.startsWith('True', i)) (value = true), (i += 4);
    else if (text.startsWith('False', i)) (value = false), (i += 5);
    else if (text[i] === '(') {
      const end = text.indexOf(')', i);
      if (end < 0) fail("unterminated '('");
      const inner = text.slice(i + 1, end).split(',').map((s) => s.trim()).filter((s) => s !== '');
      value = inner.map((s) => (/^\d+L?$/.test(s) ? Number(s.replace(/L$/, '')) : fail(`shape entry ${JSON.stringify(s)} is not a whole number`)));
      i = end + 1;
    } else if (text[i] === '[') {
      return fail('a structured dtype (a list of fields) is not supported; save one plain array per file');
    } else return fail('unexpected value');
    out.set(key, value);
    ws();
    if (text[i] === ',') i++;
    else if (text[i] !== '}') fail("expected ',' or '}'");
  }
  return out;
}

/** Reads and checks the header; `byteLength` is the file's size, to tell a truncated file from a good one. */
export function parseNpyHeader(buf: Uint8Array, file: string): NpyHeader {
  if (buf.length < 10 || MAGIC.some((b, i) => buf[i] !== b)) {
    throw bad('not a .npy file: it does not start with the magic "\\x93NUMPY" (save it with numpy.save)', file);
  }
  const major = buf[6]!;
  if (major !== 1 && major !== 2 && major !== 3) throw bad(`.npy format version ${major}.${buf[7]} is not supported (1, 2 and 3 are)`, file);
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const lenBytes = major === 1 ? 2 : 4;
  if (buf.length < 8 + lenBytes) throw bad('truncated .npy header', file);
  const headerLen = major === 1 ? view.getUint16(8, true) : view.getUint32(8, true);
  const dataOffset = 8 + lenBytes + headerLen;
  if (buf.length < dataOffset) throw bad(`truncated .npy header: it says ${fmt(headerLen)} bytes but the file has ${fmt(buf.length)} in all`, file);
  const raw = buf.subarray(8 + lenBytes, dataOffset);
  let text: string;
  try {
    text = new TextDecoder(major === 3 ? 'utf-8' : 'latin1', { fatal: true }).decode(raw);
  } catch {
    throw bad('bad .npy header: not valid text', file);
  }
  const dict = parseDict(text, file);
  const descr = dict.get('descr');
  const fortran = dict.get('fortran_order');
  const shape = dict.get('shape');
  if (typeof descr !== 'string') throw bad("bad .npy header: no 'descr' string", file);
  if (typeof fortran !== 'boolean') throw bad("bad .npy header: no 'fortran_order' True/False", file);
  if (!Array.isArray(shape)) throw bad("bad .npy header: no 'shape' tuple", file);
  const known = DTYPES[descr];
  if (!known) {
    const why = /^>/.test(descr) ? ' (big-endian: save it with arr.astype(arr.dtype.newbyteorder("<")))' : '';
    throw bad(`unsupported .npy dtype '${descr}'${why}; use uint8, int32, int64, float32 or float64`, file);
  }
  if (fortran && shape.length > 1) {
    throw bad('.npy array is in Fortran (column-major) order; save it with numpy.save(f, numpy.ascontiguousarray(arr))', file);
  }
  return { version: major, descr, dtype: known.dtype, shape, fortranOrder: fortran, dataOffset };
}

export const bytesPerElement = (d: NpyDtype): number => ({ uint8: 1, int32: 4, int64: 8, float32: 4, float64: 8 })[d];

/** The element count, once the file's size (in bytes) is exactly the header's offset plus the shape's data. */
export function checkDataSize(h: NpyHeader, fileBytes: number, file: string): number {
  const elements = h.shape.reduce((a, b) => a * b, 1);
  const expected = elements * bytesPerElement(h.dtype);
  const got = fileBytes - h.dataOffset;
  if (got !== expected) {
    const what = got < expected ? 'truncated' : 'has trailing bytes';
    throw bad(`.npy data ${what}: shape (${h.shape.join(', ')}) of ${h.dtype} needs ${fmt(expected)} bytes but the file holds ${fmt(got)}`, file);
  }
  return elements;
}

/** Bytes from the file's start up to its data, from the first 12 bytes (null when they are not a .npy start). */
export function npyDataOffset(head: Uint8Array): number | null {
  if (head.length < 12 || MAGIC.some((b, i) => head[i] !== b)) return null;
  const view = new DataView(head.buffer, head.byteOffset, head.byteLength);
  return head[6] === 1 ? 10 + view.getUint16(8, true) : 12 + view.getUint32(8, true);
}

/** Parses a whole .npy file held in memory; the data is a view on `buf` unless its offset is misaligned. */
export function parseNpy(buf: Uint8Array, file: string): NpyArray {
  const h = parseNpyHeader(buf, file);
  const elements = checkDataSize(h, buf.length, file);
  const bpe = bytesPerElement(h.dtype);
  const start = buf.byteOffset + h.dataOffset;
  // Typed-array views need their element alignment; numpy pads headers to 64 bytes, so this is the usual case.
  const src = start % bpe === 0 ? buf.buffer : buf.slice(h.dataOffset).buffer;
  const off = start % bpe === 0 ? start : 0;
  const data = h.dtype === 'uint8' ? new Uint8Array(src, off, elements)
    : h.dtype === 'int32' ? new Int32Array(src, off, elements)
    : h.dtype === 'int64' ? new BigInt64Array(src, off, elements)
    : h.dtype === 'float32' ? new Float32Array(src, off, elements)
    : new Float64Array(src, off, elements);
  return { ...h, data };
}

/** Writes a version-1 .npy file (for tests and examples): the inverse of parseNpy for the supported dtypes. */
export function encodeNpy(data: Uint8Array | Int32Array | BigInt64Array | Float32Array | Float64Array, shape: number[], opts: { fortranOrder?: boolean; descr?: string } = {}): Buffer {
  const descr = opts.descr ?? (data instanceof Uint8Array ? '|u1' : data instanceof Int32Array ? '<i4' : data instanceof BigInt64Array ? '<i8' : data instanceof Float32Array ? '<f4' : '<f8');
  const shapeText = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
  let header = `{'descr': '${descr}', 'fortran_order': ${opts.fortranOrder ? 'True' : 'False'}, 'shape': ${shapeText}, }`;
  const total = 10 + header.length + 1;
  header += ' '.repeat((64 - (total % 64)) % 64) + '\n';
  const head = Buffer.alloc(10);
  Buffer.from(MAGIC).copy(head, 0);
  head[6] = 1;
  head[7] = 0;
  head.writeUInt16LE(header.length, 8);
  return Buffer.concat([head, Buffer.from(header, 'latin1'), Buffer.from(data.buffer, data.byteOffset, data.byteLength)]);
}
