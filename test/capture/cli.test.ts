import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { loadTrack } from '../../src/pose/track.ts';
import { runCli } from '../helpers/cli.ts';
import { pythonWith } from '../helpers/python.ts';
import { describeShared, shared } from '../helpers/shared.ts';
import { ffmpeg, tmpDir } from './clips.ts';

const HAND = 'videos/dex_retargeting_human_hand_video.mp4';
const SQUATS = 'videos/tfjs_pose_squats.mp4';

describeShared('reel2real capture (CLI)', [HAND, SQUATS], () => {
  let dir = '';
  beforeAll(() => {
    dir = tmpDir();
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('writes a pose track that loads back, with presence, video properties and a JSON summary', () => {
    const out = path.join(dir, 'squats.npz');
    const r = runCli(['capture', shared(SQUATS), '--out', out, '--max-frames', '12', '--json']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const s = JSON.parse(r.stdout.trim());
    expect(s.frames).toBe(12);
    expect(s.backend).toMatch(/^(tensorflow-gpu|tensorflow|onnxruntime|wasm|cpu)$/);
    expect(s.rates.body).toBe(1);
    expect(s.video).toMatchObject({ width: 720, height: 1280, rotation: 0, codec: 'h264', fps: 5 });
    const t = loadTrack(out);
    expect(t.timestamps.length).toBe(12);
    expect(t.jointNames.slice(0, 3)).toEqual(['pelvis', 'spine', 'chest']);
    expect(t.jointNames).toContain('right_hand_index_finger_tip');
    expect(t.jointNames).toContain('blazepose_left_heel');
    expect(t.extras!.presence_body.shape).toEqual([12]);
    expect(t.extras!.presence_left_hand.shape).toEqual([12]);
    expect(t.extras!.image_body.shape).toEqual([12, 33, 3]);
    expect(t.meta!.video).toMatchObject({ width: 720, height: 1280, duration: 13 });
    expect(t.source).toMatchObject({ format: 'capture', file: 'tfjs_pose_squats.mp4' });
    expect(t.source.sha256).toMatch(/^[0-9a-f]{64}$/);
  }, 300_000);

  it('prints a readable summary on a non-terminal, hands only', () => {
    const out = path.join(dir, 'hand.npz');
    const r = runCli(['capture', shared(HAND), '--hands', '--out', out, '--max-frames', '8']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/8 frames of 1280x720 h264, [\d.]+ fps achieved \([\d.]+ s, (onnxruntime|wasm|cpu|tensorflow)/);
    expect(r.stdout).toMatch(/right hand 100\.0%/);
    const t = loadTrack(out);
    expect(t.jointNames.every((n) => n.includes('_hand_'))).toBe(true);
  }, 300_000);

  it('runs two worker threads from the compiled CLI (dist/capture/worker.js)', () => {
    const out = path.join(dir, 'hand-2w.npz');
    const r = runCli(['capture', shared(HAND), '--hands', '--out', out, '--end', '4', '--workers', '2', '--json']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const s = JSON.parse(r.stdout.trim());
    expect(s.workers).toBe(2);
    expect(s.frames).toBe(120);
    expect(s.rates.right_hand).toBe(1);
  }, 300_000);

  it('numpy reads the track alone', async (ctx) => {
    const py = pythonWith(['numpy']);
    if (!py) return ctx.skip('no python with numpy');
    const out = path.join(dir, 'squats.npz');
    if (!fs.existsSync(out)) return ctx.skip('the first test did not write squats.npz (see its failure)');
    const { spawnSync } = await import('node:child_process');
    const r = spawnSync(py, ['-c', `import numpy as np, json; z = np.load(${JSON.stringify(out)}); m = json.loads(z["meta.json"]); p = z["positions"]; print(p.shape[0], p.shape[2], m["video"]["rotation"], z["presence_body"].dtype)`], { encoding: 'utf8' });
    expect(r.stdout.trim()).toBe('12 3 0 float32');
  });

  it('bad input: one line naming the file, exit 1, no output file', () => {
    const cases: [string, RegExp][] = [];
    const empty = path.join(dir, 'empty.mov');
    fs.writeFileSync(empty, '');
    cases.push([empty, /empty file/]);
    const text = path.join(dir, 'readme.mp4');
    fs.writeFileSync(text, '# not a video\n');
    cases.push([text, /not a readable video/]);
    const cut = path.join(dir, 'cut.mp4');
    const bytes = fs.readFileSync(shared(SQUATS));
    fs.writeFileSync(cut, bytes.subarray(0, bytes.length >> 1));
    cases.push([cut, /not a readable video/]);
    const audio = path.join(dir, 'tone.m4a');
    ffmpeg(['-f', 'lavfi', '-i', 'sine=duration=1', audio]);
    cases.push([audio, /no video stream/]);
    cases.push([path.join(dir, 'missing.mp4'), /no such file/]);
    for (const [file, msg] of cases) {
      const out = path.join(dir, 'bad.npz');
      const r = runCli(['capture', file, '--out', out]);
      expect(r.code).toBe(1);
      const lines = r.stderr.trim().split('\n');
      expect(lines.length).toBe(1);
      expect(lines[0].startsWith(`reel2real: ${file}: `)).toBe(true);
      expect(lines[0]).toMatch(msg);
      expect(fs.existsSync(out)).toBe(false);
    }
  }, 120_000);

  it('a corrupted stream still gives a complete, valid track and notes the decoder errors', () => {
    const bad = path.join(dir, 'corrupt.mp4');
    const bytes = Buffer.from(fs.readFileSync(shared(SQUATS)));
    for (let k = Math.floor(bytes.length * 0.4); k < bytes.length * 0.45; k += 7) bytes[k] ^= 0x5a;
    fs.writeFileSync(bad, bytes);
    const out = path.join(dir, 'corrupt.npz');
    const r = runCli(['capture', bad, '--body', '--out', out, '--json']);
    expect(r.code).toBe(0);
    const t = loadTrack(out);
    expect(t.timestamps.length).toBeGreaterThan(30);
    expect((t.meta!.capture as Record<string, unknown>).decoder_warnings).toBeTruthy();
  }, 300_000);
});
