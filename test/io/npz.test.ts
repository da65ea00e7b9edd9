import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { crc32, crc32Suffix, crc32Table, decodeNpz, encodeNpz, nd, readNpz, writeNpz } from '../../src/io/npz.ts';
import { randomBytes } from 'node:crypto';
import { UserError } from '../../src/errors.ts';
import { pythonWith, runPython } from '../helpers/python.ts';

const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'r2r-npz-'));

describe('npz', () => {
  it('derives the CRC-32 of a suffix from the whole and the prefix; arrays read carry the CRC of their bytes', () => {
    for (const [a, b] of [[0, 0], [1, 1], [10, 0], [0, 7], [128, 58_000], [77, 366_001], [3, 1 << 20]]) {
      const A = randomBytes(a);
      const B = randomBytes(b);
      expect(crc32Suffix(crc32(Buffer.concat([A, B])), crc32(A), b)).toBe(crc32(B));
      // A wrong length gives a different answer (the length is part of the algebra).
      if (a > 0) expect(crc32Suffix(crc32(Buffer.concat([A, B])), crc32(A), b + 1)).not.toBe(crc32(B));
    }
    const arrays = {
      f: nd(Float32Array.from({ length: 1500 }, (_, i) => Math.sin(i)), [500, 3]),
      t: nd(Float64Array.from({ length: 500 }, (_, i) => i / 50), [500]),
      m: nd(Uint8Array.from({ length: 17 }, (_, i) => i % 2), [17], 'b1'),
    };
    const back = decodeNpz(encodeNpz({ arrays, meta: {} }));
    for (const [k, a] of Object.entries(back.arrays)) {
      expect(a.crc32, k).toBe(crc32(new Uint8Array(a.data.buffer, a.data.byteOffset, a.data.byteLength)));
    }
  });

  it('the CRC-32 of small (zlib) and large (native module) inputs is the table\'s and zlib\'s value', () => {
    for (const n of [0, 1, 9, 4096, (1 << 20) - 1, 1 << 20, 3 << 20]) {
      const d = randomBytes(n);
      expect(crc32(d), String(n)).toBe(crc32Table(d));
    }
    expect(crc32(Buffer.from('123456789'))).toBe(0xcbf43926);
  });

  it('round-trips arrays of every dtype and the meta.json member', () => {
    const content = {
      arrays: {
        a: nd(Float32Array.from([1.5, NaN, -3, 4, 5, 6]), [2, 3]),
        b: nd(Float64Array.from([Math.PI]), [1]),
        c: nd(Int32Array.from([-7, 8]), [2]),
        d: nd(Uint8Array.from([1, 0, 1]), [3], 'b1'),
        e: nd(BigInt64Array.from([1n, -2n]), [2]),
      },
      meta: { kind: 'test', names: ['x', 'ü'] },
    };
    const back = decodeNpz(encodeNpz(content));
    expect(back.meta).toEqual(content.meta);
    expect(Array.from(back.arrays.a.data as Float32Array)).toEqual([1.5, NaN, -3, 4, 5, 6]);
    expect(back.arrays.a.shape).toEqual([2, 3]);
    expect(back.arrays.b.data[0]).toBe(Math.PI);
    expect(Array.from(back.arrays.c.data as Int32Array)).toEqual([-7, 8]);
    expect(back.arrays.d.dtype).toBe('b1');
    expect(Array.from(back.arrays.e.data as BigInt64Array)).toEqual([1n, -2n]);
  });

  it('rejects a truncated or corrupted file with a UserError naming it', () => {
    const dir = tmp();
    const f = path.join(dir, 'x.npz');
    writeNpz(f, { arrays: { a: nd(new Float32Array(100).fill(2), [100]) }, meta: {} });
    const buf = fs.readFileSync(f);
    fs.writeFileSync(f, buf.subarray(0, buf.length - 30));
    expect(() => readNpz(f)).toThrow(UserError);
    expect(() => readNpz(f)).toThrow(/x\.npz/);
    const bad = Buffer.from(buf);
    bad[200] ^= 0xff; // inside the array data
    fs.writeFileSync(f, bad);
    expect(() => readNpz(f)).toThrow(/CRC/);
    fs.writeFileSync(f, '');
    expect(() => readNpz(f)).toThrow(/empty file/);
  });

  const py = pythonWith(['numpy']);
  it.skipIf(!py)('numpy.load opens it with nothing else, meta.json included', () => {
    const dir = tmp();
    const f = path.join(dir, 'track.npz');
    writeNpz(f, {
      arrays: { positions: nd(Float32Array.from([0, 1, 2, 3, 4, 5]), [1, 2, 3]), timestamps: nd(Float64Array.from([0.25]), [1]) },
      meta: { kind: 'pose-track', fps: 30 },
    });
    const out = runPython(py!, `
import json, sys, numpy as np
z = np.load(sys.argv[1])
meta = json.loads(z["meta.json"])
p = z["positions"]
print(json.dumps({"meta": meta, "shape": list(p.shape), "dtype": str(p.dtype), "sum": float(p.sum()), "t": float(z["timestamps"][0]), "tdtype": str(z["timestamps"].dtype)}))
`, [f]);
    const r = JSON.parse(out);
    expect(r).toEqual({ meta: { kind: 'pose-track', fps: 30 }, shape: [1, 2, 3], dtype: 'float32', sum: 15, t: 0.25, tdtype: 'float64' });
  });
  if (!py) console.warn('[skip] numpy interop: no python3 with numpy found');

  it.skipIf(!py)('reads numpy-written (deflated) npz files', () => {
    const dir = tmp();
    const f = path.join(dir, 'np.npz');
    runPython(py!, `
import sys, numpy as np
np.savez_compressed(sys.argv[1], x=np.arange(12, dtype=np.float64).reshape(3, 4), y=np.array([1, 2], dtype=np.int64))
`, [f]);
    const r = readNpz(f);
    expect(r.arrays.x.shape).toEqual([3, 4]);
    expect((r.arrays.x.data as Float64Array)[11]).toBe(11);
    expect(r.arrays.y.dtype).toBe('i8');
  });
});
