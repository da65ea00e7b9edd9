/**
 * `.npz` files that `numpy.load` opens with nothing else: a zip of `.npy` arrays plus a `meta.json`
 * member (UTF-8 JSON). numpy returns a non-`.npy` member as raw bytes:
 *
 *     z = np.load("track.npz"); meta = json.loads(z["meta.json"]); pos = z["positions"]
 *
 * Written stored (uncompressed) so arrays can be memory-mapped by readers; read both stored and deflated,
 * C- or Fortran-ordered (`np.save(a[:, idx])` writes Fortran order; it is reordered to C order on read).
 * Reading trusts nothing: every member is inflated only up to its declared size and LIMITS.memberBytes (a
 * zip bomb is refused, not unpacked), the members together to LIMITS.npzBytes, and an array's declared shape
 * must match its member's bytes.
 */
import * as fs from 'node:fs';
import { createRequire } from 'node:module';
import * as zlib from 'node:zlib';
import { inflateRawSync } from 'node:zlib';
import { UserError, wrapFileError } from '../errors.ts';
import { writeFileAtomic } from './atomic.ts';
import { LIMITS } from './limits.ts';
import { readFileBounded } from './text.ts';

export type DType = 'f4' | 'f8' | 'i1' | 'i2' | 'i4' | 'i8' | 'u1' | 'u2' | 'u4' | 'b1';
export type NumericArray =
  | Float32Array | Float64Array | Int8Array | Int16Array | Int32Array | BigInt64Array
  | Uint8Array | Uint16Array | Uint32Array;

export interface NdArray {
  dtype: DType;
  shape: number[];
  data: NumericArray;
  /** CRC-32 of `data`'s bytes as they were read from a file (set by decodeNpz; absent when not known). */
  crc32?: number;
}

export interface NpzContent {
  arrays: Record<string, NdArray>;
  meta: Record<string, unknown>;
}

export const DESCR: Record<DType, string> = {
  f4: '<f4', f8: '<f8', i1: '|i1', i2: '<i2', i4: '<i4', i8: '<i8', u1: '|u1', u2: '<u2', u4: '<u4', b1: '|b1',
};
export const CTOR: Record<DType, { new (buf: ArrayBuffer, off: number, len: number): NumericArray; BYTES_PER_ELEMENT: number }> = {
  f4: Float32Array, f8: Float64Array, i1: Int8Array, i2: Int16Array, i4: Int32Array, i8: BigInt64Array,
  u1: Uint8Array, u2: Uint16Array, u4: Uint32Array, b1: Uint8Array,
} as never;

/** Wrap a typed array with a shape; the dtype follows the array type unless given (e.g. 'b1' for Uint8Array). */
export function nd(data: NumericArray, shape: number[], dtype?: DType): NdArray {
  const dt = dtype ?? dtypeOf(data);
  const n = shape.reduce((a, b) => a * b, 1);
  if (n !== data.length) throw new Error(`array of ${data.length} elements does not fit shape [${shape}]`);
  return { dtype: dt, shape, data };
}

export function dtypeOf(a: NumericArray): DType {
  if (a instanceof Float32Array) return 'f4';
  if (a instanceof Float64Array) return 'f8';
  if (a instanceof Int8Array) return 'i1';
  if (a instanceof Int16Array) return 'i2';
  if (a instanceof Int32Array) return 'i4';
  if (a instanceof BigInt64Array) return 'i8';
  if (a instanceof Uint8Array) return 'u1';
  if (a instanceof Uint16Array) return 'u2';
  return 'u4';
}

// ---- npy --------------------------------------------------------------------------------------------

export function encodeNpy(arr: NdArray): Uint8Array {
  const shape = arr.shape.length === 1 ? `(${arr.shape[0]},)` : `(${arr.shape.join(', ')})`;
  let header = `{'descr': '${DESCR[arr.dtype]}', 'fortran_order': False, 'shape': ${shape}, }`;
  const preamble = 10;
  const total = Math.ceil((preamble + header.length + 1) / 64) * 64;
  header = header + ' '.repeat(total - preamble - header.length - 1) + '\n';
  const body = new Uint8Array(arr.data.buffer, arr.data.byteOffset, arr.data.byteLength);
  const out = new Uint8Array(total + body.length);
  out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0], 0);
  out[8] = header.length & 0xff;
  out[9] = header.length >> 8;
  for (let i = 0; i < header.length; i++) out[preamble + i] = header.charCodeAt(i);
  out.set(body, total);
  return out;
}

/**
 * Parse an .npy array. With `crc` (the CRC-32 of all of `buf`, e.g. from the zip directory, already checked)
 * the result carries the CRC-32 of its data bytes alone, derived without reading them again.
 */
export function decodeNpy(buf: Uint8Array, what = 'array', crc?: number): NdArray {
  if (buf.length < 10 || buf[0] !== 0x93 || String.fromCharCode(...buf.subarray(1, 6)) !== 'NUMPY') {
    throw new Error(`${what} is not an .npy array`);
  }
  const major = buf[6];
  let hlen: number;
  let off: number;
  if (major === 1) { hlen = buf[8] | (buf[9] << 8); off = 10; }
  else if (major === 2 || major === 3) {
    if (buf.length < 12) throw new Error(`${what}: truncated .npy header`);
    hlen = (buf[8] | (buf[9] << 8) | (buf[10] << 16)) + buf[11] * 2 ** 24; off = 12;
  } else throw new Error(`${what}: unknown .npy format version ${major}`);
  if (off + hlen > buf.length || hlen > 1 << 20) throw new Error(`${what}: truncated .npy header`);
  const header = Buffer.from(buf.subarray(off, off + hlen)).toString('latin1');
  const descr = /'descr':\s*'([^']+)'/.exec(header)?.[1];
  const fortran = /'fortran_order':\s*(True|False)/.exec(header)?.[1];
  const shapeStr = /'shape':\s*\(([^)]*)\)/.exec(header)?.[1];
  if (!descr || !fortran || shapeStr === undefined) throw new Error(`${what}: unreadable .npy header`);
  const shape = shapeStr.split(',').map((s) => s.trim()).filter((s) => s.length).map((s) => (/^\d+L?$/.test(s) ? Number(s.replace('L', '')) : NaN));
  if (shape.some((d) => !Number.isSafeInteger(d)) || shape.length > 32) throw new Error(`${what}: shape (${shapeStr.slice(0, 60)}) is not a list of non-negative integers`);
  const dt = (Object.keys(DESCR) as DType[]).find((k) => DESCR[k] === descr || DESCR[k].slice(1) === descr.slice(1) && descr[0] === '=');
  if (!dt) throw new Error(`${what}: unsupported dtype ${descr}`);
  const n = shape.reduce((a, b) => a * b, 1);
  const C = CTOR[dt];
  const start = off + hlen;
  if (n * C.BYTES_PER_ELEMENT > LIMITS.arrayBytes) throw new Error(`${what}: shape (${shape.join(', ')}) of ${descr} is ${n * C.BYTES_PER_ELEMENT} bytes, over the ${LIMITS.arrayBytes}-byte limit`);
  if (buf.length - start < n * C.BYTES_PER_ELEMENT) throw new Error(`${what}: truncated data (${shape} of ${descr})`);
  if (fortran === 'True' && shape.length > 1) {
    const data = new C(new ArrayBuffer(n * C.BYTES_PER_ELEMENT), 0, n);
    const src = new C(new Uint8Array(buf.subarray(start, start + n * C.BYTES_PER_ELEMENT)).buffer, 0, n);
    fortranToC(src, data, shape);
    return { dtype: dt, shape, data };
  }
  // Copy so the result is aligned and owns its memory.
  const copy = new Uint8Array(n * C.BYTES_PER_ELEMENT);
  copy.set(buf.subarray(start, start + copy.length));
  const out: NdArray = { dtype: dt, shape, data: new C(copy.buffer, 0, n) };
  if (crc !== undefined && buf.length - start === copy.length) out.crc32 = crc32Suffix(crc, crc32(buf.subarray(0, start)), copy.length);
  return out;
}

/** Reorder a Fortran-ordered (column-major) array into C order (row-major). */
function fortranToC(src: NumericArray, dst: NumericArray, shape: number[]): void {
  const k = shape.length;
  const n = dst.length;
  if (n === 0) return;
  // Fortran strides: the first index varies fastest.
  const fstride = new Array<number>(k);
  fstride[0] = 1;
  for (let m = 1; m < k; m++) fstride[m] = fstride[m - 1] * shape[m - 1];
  const idx = new Array<number>(k).fill(0);
  let f = 0;
  for (let c = 0; c < n; c++) {
    (dst as Float64Array)[c] = (src as Float64Array)[f];
    // Next C-order index: the last dimension varies fastest.
    for (let m = k - 1; m >= 0; m--) {
      idx[m]++;
      f += fstride[m];
      if (idx[m] < shape[m]) break;
      f -= fstride[m] * shape[m];
      idx[m] = 0;
    }
  }
}

// ---- zip --------------------------------------------------------------------------------------------

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

/**
 * The fastest CRC-32 (IEEE, as zlib's) this machine has for large inputs: @node-rs/crc32 (a prebuilt native
 * module using the CPU's carry-less multiply, about 2.5x Node 20's zlib.crc32 here), else Node's zlib.crc32
 * (Node >= 20.15), else the table below. All give the same value. Loaded on the first input of 1 MB or more:
 * loading the native module costs 8-16 ms, more than zlib takes for anything smaller (a motion file, a config).
 */
const zlibCrc32 = (zlib as unknown as { crc32?: (d: Uint8Array) => number }).crc32;
let nativeCrc32: ((d: Uint8Array) => number) | undefined | null = null;
function fastCrc32(): ((d: Uint8Array) => number) | undefined {
  if (nativeCrc32 !== null) return nativeCrc32;
  nativeCrc32 = zlibCrc32;
  try {
    const rs = createRequire(import.meta.url)('@node-rs/crc32') as { crc32: (d: Uint8Array, initial?: number) => number };
    if (rs.crc32(Buffer.from('123456789')) >>> 0 === 0xcbf43926) nativeCrc32 = (d: Uint8Array) => rs.crc32(d);
  } catch {
    /* no prebuilt binary for this platform: fall back */
  }
  return nativeCrc32;
}

/** CRC-32 (zip/zlib/IEEE) of bytes. */
export function crc32(data: Uint8Array): number {
  const f = data.length < 1 << 20 && zlibCrc32 ? zlibCrc32 : fastCrc32();
  return f ? f(data) >>> 0 : crc32Table(data);
}

/** `crc` (the CRC-32 of some bytes A) advanced over n zero bytes' worth of shift: crc(A) · x^(8n) mod P. */
function crc32Shift(crc: number, n: number): number {
  // x^(2^k) mod P for k = 3, 4, ... multiplied in for every set bit of n (square-and-multiply over bytes).
  let result = crc >>> 0;
  let power = X8; // x^8
  while (n > 0) {
    if (n & 1) result = gf2MulMod(power, result);
    power = gf2MulMod(power, power);
    n = Math.floor(n / 2);
  }
  return result >>> 0;
}

/** Product of two polynomials mod the CRC-32 polynomial, in the reflected bit order CRC-32 uses (bit 31 = x^0). */
function gf2MulMod(a: number, b: number): number {
  let p = 0;
  for (let m = 0x80000000; m !== 0 && a !== 0; m >>>= 1) {
    if (a & m) {
      p ^= b;
      a &= ~m;
    }
    b = b & 1 ? (b >>> 1) ^ 0xedb88320 : b >>> 1;
  }
  return p >>> 0;
}

const X8 = (() => {
  let x = 0x40000000; // x^1
  for (let i = 0; i < 3; i++) x = gf2MulMod(x, x); // x^2, x^4, x^8
  return x;
})();

/**
 * CRC-32 of B given the CRC-32 of A‖B, the CRC-32 of A and B's length: crc(A‖B) = crc(A)·x^(8|B|) ⊕ crc(B),
 * so the checksum of an array's data follows from its .npy member's checksum and that of its short header.
 */
export function crc32Suffix(whole: number, prefix: number, suffixLength: number): number {
  return (whole ^ crc32Shift(prefix, suffixLength)) >>> 0;
}

export function crc32Table(data: Uint8Array): number {
  let c = 0xffffffff;
  for (let i = 0; i < data.length; i++) c = CRC_TABLE[(c ^ data[i]) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/** A stored (uncompressed) zip of the given members. Plain Uint8Array/DataView (no Buffer): the contributor page encodes tracks in the browser with it. */
export function zipStore(members: { name: string; data: Uint8Array }[]): Uint8Array {
  const utf8 = new TextEncoder();
  const names = members.map((m) => utf8.encode(m.name));
  let localSize = 0;
  let centralSize = 0;
  members.forEach((m, k) => {
    localSize += 30 + names[k].length + m.data.length;
    centralSize += 46 + names[k].length;
  });
  if (localSize >= 0xffffffff) throw new Error('npz member too large (zip64 not supported)');
  const out = new Uint8Array(localSize + centralSize + 22);
  const v = new DataView(out.buffer);
  let offset = 0;
  let c = localSize;
  members.forEach((m, k) => {
    const name = names[k];
    const crc = crc32(m.data);
    const l = offset;
    v.setUint32(l, 0x04034b50, true);
    v.setUint16(l + 4, 20, true);
    v.setUint16(l + 6, 0x0800, true); // UTF-8 names
    v.setUint16(l + 8, 0, true); // stored
    v.setUint16(l + 12, 0x21, true); // 1980-01-01: deterministic output
    v.setUint32(l + 14, crc, true);
    v.setUint32(l + 18, m.data.length, true);
    v.setUint32(l + 22, m.data.length, true);
    v.setUint16(l + 26, name.length, true);
    out.set(name, l + 30);
    out.set(m.data, l + 30 + name.length);
    v.setUint32(c, 0x02014b50, true);
    v.setUint16(c + 4, 20, true);
    v.setUint16(c + 6, 20, true);
    v.setUint16(c + 8, 0x0800, true);
    v.setUint16(c + 14, 0x21, true);
    v.setUint32(c + 16, crc, true);
    v.setUint32(c + 20, m.data.length, true);
    v.setUint32(c + 24, m.data.length, true);
    v.setUint16(c + 28, name.length, true);
    v.setUint32(c + 42, offset, true);
    out.set(name, c + 46);
    c += 46 + name.length;
    offset += 30 + name.length + m.data.length;
  });
  v.setUint32(c, 0x06054b50, true);
  v.setUint16(c + 8, members.length, true);
  v.setUint16(c + 10, members.length, true);
  v.setUint32(c + 12, centralSize, true);
  v.setUint32(c + 16, localSize, true);
  return out;
}

/** The members of a zip file (stored or deflated), checking each CRC (and putting them in `crcs` if given). */
export function unzip(buf: Uint8Array, crcs?: Map<string, number>): Map<string, Uint8Array> {
  const b = Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
  let eocd = -1;
  for (let i = b.length - 22; i >= Math.max(0, b.length - 22 - 65535); i--) {
    if (b.readUInt32LE(i) === 0x06054b50) { eocd = i; break; }
  }
  if (eocd < 0) throw new Error('not a zip/npz file (no end of central directory; truncated?)');
  const count = b.readUInt16LE(eocd + 10);
  let p = b.readUInt32LE(eocd + 16);
  const out = new Map<string, Uint8Array>();
  let total = 0;
  for (let k = 0; k < count; k++) {
    if (p + 46 > b.length || b.readUInt32LE(p) !== 0x02014b50) throw new Error('corrupt zip central directory');
    const method = b.readUInt16LE(p + 10);
    const crc = b.readUInt32LE(p + 16);
    const csize = b.readUInt32LE(p + 20);
    const usize = b.readUInt32LE(p + 24);
    const nlen = b.readUInt16LE(p + 28);
    const xlen = b.readUInt16LE(p + 30);
    const clen = b.readUInt16LE(p + 32);
    const lho = b.readUInt32LE(p + 42);
    const name = b.toString('utf8', p + 46, p + 46 + nlen);
    p += 46 + nlen + xlen + clen;
    if (lho + 30 > b.length || b.readUInt32LE(lho) !== 0x04034b50) throw new Error(`corrupt zip entry ${name}`);
    const start = lho + 30 + b.readUInt16LE(lho + 26) + b.readUInt16LE(lho + 28);
    if (start + csize > b.length) throw new Error(`truncated zip entry ${name}`);
    const raw = b.subarray(start, start + csize);
    // The declared size bounds what is unpacked: never more than it, nor than the ceilings.
    if (usize > LIMITS.memberBytes) throw new Error(`zip entry ${name} declares ${usize} bytes, over the ${LIMITS.memberBytes}-byte limit`);
    total += usize;
    if (total > LIMITS.npzBytes) throw new Error(`zip members declare over ${LIMITS.npzBytes} bytes together`);
    let data: Uint8Array;
    if (method === 0) data = raw;
    else if (method === 8) {
      try {
        data = inflateRawSync(raw, { maxOutputLength: Math.max(1, usize) });
      } catch (err) {
        const e = err as NodeJS.ErrnoException;
        if (e.code === 'ERR_BUFFER_TOO_LARGE' || e instanceof RangeError) throw new Error(`zip entry ${name} unpacks to more than its declared ${usize} bytes (a zip bomb?)`);
        throw new Error(`zip entry ${name} does not inflate: ${e.message}`);
      }
    } else throw new Error(`zip entry ${name} uses unsupported compression method ${method}`);
    if (data.length !== usize) throw new Error(`zip entry ${name} is ${data.length} bytes, its directory says ${usize}`);
    if (crc32(data) !== crc) throw new Error(`zip entry ${name} fails its CRC check (corrupt file)`);
    out.set(name, data);
    crcs?.set(name, crc);
  }
  return out;
}

// ---- npz --------------------------------------------------------------------------------------------

export function encodeNpz(content: NpzContent): Uint8Array {
  const members = Object.entries(content.arrays).map(([name, a]) => ({ name: `${name}.npy`, data: encodeNpy(a) }));
  members.push({ name: 'meta.json', data: new TextEncoder().encode(JSON.stringify(content.meta)) });
  return zipStore(members);
}

export function decodeNpz(buf: Uint8Array, file = 'npz'): NpzContent {
  let members: Map<string, Uint8Array>;
  const crcs = new Map<string, number>();
  try {
    members = unzip(buf, crcs);
  } catch (err) {
    throw new UserError((err as Error).message, file);
  }
  const arrays: Record<string, NdArray> = {};
  let meta: Record<string, unknown> = {};
  for (const [name, data] of members) {
    if (name === 'meta.json') {
      try {
        meta = JSON.parse(Buffer.from(data).toString('utf8'));
      } catch {
        throw new UserError('meta.json member is not valid JSON', file);
      }
    } else if (name.endsWith('.npy')) {
      try {
        arrays[name.slice(0, -4)] = decodeNpy(data, name, crcs.get(name));
      } catch (err) {
        throw new UserError((err as Error).message, file);
      }
    }
  }
  return { arrays, meta };
}

export function writeNpz(file: string, content: NpzContent): void {
  writeFileAtomic(file, encodeNpz(content));
}

export function readNpz(file: string): NpzContent {
  const buf = readFileBounded(file);
  if (buf.length === 0) throw new UserError('empty file', file);
  return decodeNpz(buf, file);
}
