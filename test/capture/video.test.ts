import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { UserError } from '../../src/errors.ts';
import { decodeFrames, probeVideo, probeVideoAsync, type DecodeStats } from '../../src/capture/video.ts';
import { describeShared, shared } from '../helpers/shared.ts';
import { ffmpeg, ffprobeTimes, rotatedClip, tmpDir, vfrClip } from './clips.ts';

const HAND = 'videos/dex_retargeting_human_hand_video.mp4';
const SQUATS = 'videos/tfjs_pose_squats.mp4';

async function collect(file: string, opts: Parameters<typeof decodeFrames>[2] = {}, stats: DecodeStats = {}) {
  const info = probeVideo(file);
  const times: number[] = [];
  const bufs = new Set<Uint8Array>();
  let first: Uint8Array | null = null;
  for await (const f of decodeFrames(file, info, opts, stats)) {
    if (!first) first = f.data.slice();
    times.push(f.time);
    bufs.add(f.data);
  }
  return { info, times, buffers: bufs.size, first };
}

describeShared('video decoding', [HAND, SQUATS], () => {
  let dir = '';
  beforeAll(() => {
    dir = tmpDir();
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('probes size, rate, length, codec and rotation', () => {
    const i = probeVideo(shared(HAND));
    expect([i.width, i.height, i.codec, i.rotation, i.fps, i.frameCount]).toEqual([1280, 720, 'h264', 0, 30, 621]);
    expect(i.duration).toBeCloseTo(20.7, 2);
    const s = probeVideo(shared(SQUATS));
    expect([s.width, s.height, s.fps, s.frameCount]).toEqual([720, 1280, 5, 65]);
  });

  it('streams every frame through one reused buffer with the real timestamps', async () => {
    const { times, buffers } = await collect(shared(HAND));
    expect(times.length).toBe(621);
    expect(buffers).toBe(1); // constant memory: the frame buffer is reused
    const probe = ffprobeTimes(shared(HAND));
    expect(times).toEqual(probe.map((t) => expect.closeTo(t, 5)));
  });

  it('cuts segments exactly: [2,4) + [4,6) = [2,6) with no frame lost or repeated', async () => {
    const a = await collect(shared(HAND), { start: 2, end: 4 });
    const b = await collect(shared(HAND), { start: 4, end: 6 });
    const all = await collect(shared(HAND), { start: 2, end: 6 });
    expect(all.times.length).toBe(120);
    expect([...a.times, ...b.times]).toEqual(all.times);
    expect(a.times[0]).toBeCloseTo(2, 6);
  });

  it('keeps the timestamps of a variable-frame-rate file', async () => {
    const vfr = vfrClip(shared(HAND), dir);
    const { times, info } = await collect(vfr);
    const probe = ffprobeTimes(vfr);
    expect(times.length).toBe(probe.length);
    times.forEach((t, k) => expect(t).toBeCloseTo(probe[k], 5));
    const gaps = new Set(times.slice(1).map((t, k) => Math.round((t - times[k]) * 1000)));
    expect(gaps.size).toBeGreaterThan(1); // really irregular
    expect(info.fps).not.toBeCloseTo(info.nominalFps, 1);
  });

  it('applies rotation metadata: a phone clip stored sideways decodes upright', async () => {
    const rot = rotatedClip(shared(SQUATS), dir);
    const r = await collect(rot, { maxFrames: 1 });
    expect(r.info.rotation).toBe(90);
    expect([r.info.codedWidth, r.info.codedHeight, r.info.width, r.info.height]).toEqual([1280, 720, 720, 1280]);
    const o = await collect(shared(SQUATS), { maxFrames: 1 });
    let diff = 0;
    for (let k = 0; k < o.first!.length; k++) diff += Math.abs(o.first![k] - r.first![k]);
    expect(diff / o.first!.length).toBeLessThan(3); // same picture, same orientation (a wrong turn gives ≈ 45)
  });

  it('decodes H.265 in MKV, VP9 in WebM and H.264 in MOV', async () => {
    const clips: [string, string[], string][] = [
      ['h265.mkv', ['-c:v', 'libx265', '-preset', 'ultrafast', '-x265-params', 'log-level=error'], 'hevc'],
      ['vp9.webm', ['-c:v', 'libvpx-vp9', '-deadline', 'realtime', '-cpu-used', '8'], 'vp9'],
      ['h264.mov', ['-c', 'copy'], 'h264'],
    ];
    for (const [name, codec, expected] of clips) {
      const f = path.join(dir, name);
      ffmpeg(['-i', shared(SQUATS), '-t', '2', ...codec, f]);
      const { info, times } = await collect(f);
      expect(info.codec).toBe(expected);
      expect([info.width, info.height]).toEqual([720, 1280]);
      expect(times).toEqual([0, 0.2, 0.4, 0.6, 0.8, 1, 1.2, 1.4, 1.6, 1.8].map((t) => expect.closeTo(t, 5)));
    }
  });

  it('scales to a maximum side, keeping the aspect', async () => {
    const info = probeVideo(shared(HAND));
    for await (const f of decodeFrames(shared(HAND), info, { maxSide: 640, maxFrames: 1 })) {
      expect([f.width, f.height, f.data.length]).toEqual([640, 360, 640 * 360 * 3]);
    }
  });

  it('rejects missing, empty, non-video and unreadable files with a UserError naming the file', async () => {
    const empty = path.join(dir, 'empty.mp4');
    fs.writeFileSync(empty, '');
    const text = path.join(dir, 'notes.mp4');
    fs.writeFileSync(text, 'this is not a video\n');
    const noMoov = path.join(dir, 'cut.mp4');
    const bytes = fs.readFileSync(shared(SQUATS));
    fs.writeFileSync(noMoov, bytes.subarray(0, bytes.length >> 1)); // index (moov) is at the end: lost
    for (const [f, msg] of [[path.join(dir, 'nope.mp4'), /no such file/], [empty, /empty/], [text, /not a readable video/], [noMoov, /not a readable video/], [dir, /directory/]] as const) {
      let err: unknown;
      try {
        await collect(f);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(UserError);
      expect((err as Error).message).toMatch(msg);
      expect((err as Error).message.startsWith(f)).toBe(true);
      expect((err as Error).message).not.toMatch(/\n/);
    }
  });

  it('probeVideoAsync (ffprobe without blocking, used by capture) gives probeVideo\'s result and errors', async () => {
    const rot = rotatedClip(shared(HAND), dir);
    for (const f of [shared(HAND), shared(SQUATS), vfrClip(shared(HAND), dir), rot]) expect(await probeVideoAsync(f)).toEqual(probeVideo(f));
    expect((await probeVideoAsync(rot)).rotation).not.toBe(0);
    const text = path.join(dir, 'notes2.mp4');
    fs.writeFileSync(text, 'this is not a video\n');
    for (const f of [text, path.join(dir, 'nope.mp4'), dir]) {
      let sync: unknown, async_: unknown;
      try { probeVideo(f); } catch (e) { sync = e; }
      try { await probeVideoAsync(f); } catch (e) { async_ = e; }
      expect(sync).toBeInstanceOf(UserError);
      expect(async_).toBeInstanceOf(UserError);
      expect((async_ as Error).message).toBe((sync as Error).message);
    }
  });

  it('a truncated file gives the frames before the cut and says it was truncated', async () => {
    const fast = path.join(dir, 'fast.mp4');
    ffmpeg(['-i', shared(SQUATS), '-c', 'copy', '-movflags', '+faststart', fast]);
    const bytes = fs.readFileSync(fast);
    const cut = path.join(dir, 'truncated.mp4');
    fs.writeFileSync(cut, bytes.subarray(0, bytes.length >> 1));
    const stats: DecodeStats = {};
    const { times } = await collect(cut, {}, stats);
    expect(times.length).toBeGreaterThan(10);
    expect(times.length).toBeLessThan(65);
    expect(stats.truncated).toBe(true);
  });
});
