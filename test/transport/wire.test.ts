/** Wire-format pieces: CRC-32 test vector, encode/decode, checksum and length checks, cursors, endpoints. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { crc32, tableCrc32, decodeEpisode, encodeEpisode, isLocalEndpoint, parseReports, WireError } from '../../src/transport/wire.ts';
import { Cursor } from '../../src/transport/cursor.ts';
import { UserError } from '../../src/errors.ts';
import { syntheticEpisode } from './fixtures/episodes.ts';
import { tmpDir } from './helpers.ts';

describe('wire format', () => {
  it('CRC-32 matches the standard check value and docs/wire-format.md', () => {
    expect(crc32(Buffer.from('123456789'))).toBe(0xcbf43926);
    expect(crc32(new Uint8Array(Float32Array.from([1, 2, 3]).buffer))).toBe(2987300529);
    const rnd = Buffer.from(Array.from({ length: 1000 }, (_, i) => (i * 7919) & 0xff));
    expect(tableCrc32(rnd)).toBe(crc32(rnd));
    expect(tableCrc32(Buffer.from('123456789'))).toBe(0xcbf43926);
    // The native CRC (zlib's or @node-rs/crc32's) on views at odd offsets and lengths, as frames arrive.
    const big = Buffer.from(Array.from({ length: 70_000 }, (_, i) => (i * 2654435761) >>> 24));
    for (const [o, n] of [[0, 0], [1, 10], [3, 999], [17, 50_000], [69_999, 1]]) {
      const v = new Uint8Array(big.buffer, big.byteOffset + o, n);
      expect(crc32(v)).toBe(tableCrc32(v));
    }
    const doc = fs.readFileSync(path.resolve(__dirname, '../../docs/wire-format.md'), 'utf8');
    expect(doc).toContain('0xCBF43926');
    expect(doc).toContain("2987300529");
  });

  it('encodes an episode and decodes it back; a flipped byte or a short frame is refused', () => {
    const { entry, episode } = syntheticEpisode(3, 1, 30);
    const enc = encodeEpisode(episode, entry);
    expect(enc.header.tensors.map((t) => t.name)).toEqual([
      'q', 'root_pos', 'root_quat', 'timestamps', 'human.positions', 'human.confidence', 'human.timestamps', 'mask.valid',
    ]);
    expect(enc.header.tensors[0]).toMatchObject({ dtype: '<f4', shape: [30, 29], bytes: 30 * 29 * 4 });
    expect(enc.header.tensors[3].dtype).toBe('<f8');
    const body = Buffer.from(JSON.stringify({ ...enc.header, seq: 7, delivery: 1 }));
    const d = decodeEpisode(body, enc.reports, enc.frames.map((f) => Buffer.from(f)));
    expect(d.header.seq).toBe(7);
    // The reports travel in their own frame, not in the header.
    expect(d.header).not.toHaveProperty('quality');
    expect(parseReports(d.reports)).toEqual({ provenance: episode.provenance, quality: episode.quality, validation: episode.validation });
    const badReports = Buffer.from(enc.reports);
    badReports[badReports.length >> 1] ^= 1;
    expect(() => decodeEpisode(body, badReports, enc.frames)).toThrow(/reports frame: crc32/);
    expect(() => decodeEpisode(body, undefined, enc.frames)).toThrow(/reports frame/);
    expect(Array.from(d.arrays.root_quat.data as Float32Array)).toEqual(Array.from(episode.motion!.rootQuat));
    // Unaligned frames are copied into aligned arrays, values unchanged.
    const shifted = enc.frames.map((f) => Buffer.concat([Buffer.alloc(1), f]).subarray(1));
    expect(Array.from(decodeEpisode(body, enc.reports, shifted).arrays.timestamps.data as Float64Array)).toEqual(Array.from(episode.motion!.timestamps));
    // A separate hand model rides along under hand.*.
    const withHand = { ...episode, handMotion: { ...episode.motion!, jointNames: ['f0', 'f1'], q: new Float32Array(30 * 2).fill(0.25), robot: { name: 'hand', urdf_sha256: '' } } };
    const encH = encodeEpisode(withHand, entry);
    expect(encH.header.hand).toMatchObject({ robot: 'hand', joint_names: ['f0', 'f1'] });
    const dh = decodeEpisode(Buffer.from(JSON.stringify({ ...encH.header, seq: 0, delivery: 1 })), encH.reports, encH.frames);
    expect(dh.arrays['hand.q'].shape).toEqual([30, 2]);
    expect(dh.arrays['hand.q'].data[3]).toBe(0.25);
    const bad = enc.frames.map((f) => Buffer.from(f));
    bad[4][100] ^= 1;
    expect(() => decodeEpisode(body, enc.reports, bad)).toThrow(/human.positions: crc32/);
    expect(() => decodeEpisode(body, enc.reports, enc.frames.slice(1))).toThrow(WireError);
    const short = enc.frames.map((f) => Buffer.from(f));
    short[1] = short[1].subarray(4);
    expect(() => decodeEpisode(body, enc.reports, short)).toThrow(/root_pos: 356 bytes/);
  });

  it('cursor: watermark plus sparse acks persist, and a cursor that does not match the index is refused', () => {
    const dir = tmpDir();
    const ids = ['a', 'b', 'c', 'd', 'e'];
    const c = new Cursor('trainer:x', dir);
    c.load(ids);
    expect(c.take(5, 's')).toBe(0);
    expect(c.take(5, 's')).toBe(1);
    expect(c.take(5, 's')).toBe(2);
    c.ack(0);
    c.ack(2);
    c.release(1);
    c.save(ids);
    const back = new Cursor('trainer:x', dir);
    back.load(ids);
    expect(back.low).toBe(1);
    expect(back.isAcked(2)).toBe(true);
    expect(back.isAcked(1)).toBe(false);
    expect([back.take(5, 's'), back.take(5, 's'), back.take(5, 's'), back.take(5, 's')]).toEqual([1, 3, 4, -1]);
    expect(() => new Cursor('trainer:x', dir).load(['z', 'b', 'c', 'd', 'e'])).toThrow(UserError);
    expect(() => new Cursor('trainer:x', dir).load(['a', 'b', 'x', 'd', 'e'])).toThrow(/position 2/);
  });

  it('treats only loopback, ipc and inproc endpoints as local', () => {
    for (const e of ['tcp://127.0.0.1:5555', 'tcp://127.3.2.1:*', 'tcp://localhost:1', 'tcp://[::1]:5', 'ipc:///tmp/x', 'inproc://y']) expect(isLocalEndpoint(e)).toBe(true);
    for (const e of ['tcp://0.0.0.0:5555', 'tcp://*:5555', 'tcp://10.0.0.2:1', 'tcp://gpu-host:5555', 'tcp://eth0:5555', 'tcp://127.0.0.1.evil.com:1']) expect(isLocalEndpoint(e)).toBe(false);
  });
});
