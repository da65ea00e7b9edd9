import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { captureVideo } from '../../src/capture/index.ts';
import { BLAZEPOSE_LANDMARKS } from '../../src/pose/blazepose.ts';
import { describeShared, shared } from '../helpers/shared.ts';
import { ffmpeg, ffprobeTimes, rotatedClip, tmpDir, vfrClip } from './clips.ts';

const SQUATS = 'videos/tfjs_pose_squats.mp4';
const SQUATS_3D = 'keypoints/tfjs_pose_squats_3d.full.json';
const SPORTS = 'videos/sports2d_demo.mp4';
const HAND = 'videos/dex_retargeting_human_hand_video.mp4';
/** tfjs-models' blazepose_test.ts compares world landmarks per coordinate with this tolerance (tfjs runtime). */
const TFJS_WORLD_TOLERANCE = 0.19;

/** BlazePose world landmarks of frame t back in the model's frame (x right, y down, z away), hip-centred. */
function modelFrame(track: Awaited<ReturnType<typeof captureVideo>>, t: number): number[][] {
  const J = track.jointNames.length;
  const j0 = track.jointNames.indexOf('blazepose_nose');
  const pts = BLAZEPOSE_LANDMARKS.map((_, k) => {
    const o = 3 * (t * J + j0 + k);
    return [track.positions[o + 1], -track.positions[o + 2], -track.positions[o]];
  });
  const hip = [0, 1, 2].map((a) => (pts[23][a] + pts[24][a]) / 2);
  return pts.map((p) => p.map((v, a) => v - hip[a]));
}

describeShared('body capture', [SQUATS, SQUATS_3D, SPORTS, HAND], () => {
  let dir = '';
  beforeAll(() => {
    dir = tmpDir();
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('world landmarks on the squats clip stay within tfjs-models\' own test tolerance of the MediaPipe reference', async () => {
    const track = await captureVideo(shared(SQUATS), { body: true, hands: false, backend: 'onnxruntime' });
    expect(track.summary.backend).toBe('onnxruntime');
    const ref = JSON.parse(fs.readFileSync(shared(SQUATS_3D), 'utf8')) as number[][][];
    expect(track.timestamps.length).toBe(ref.length);
    let sum = 0, n = 0, worst = 0;
    for (let t = 0; t < ref.length; t++) {
      const ours = modelFrame(track, t);
      const hipR = [0, 1, 2].map((a) => (ref[t][23][a] + ref[t][24][a]) / 2);
      for (let k = 0; k < 33; k++) {
        const r = ref[t][k].map((v, a) => v - hipR[a]);
        for (let a = 0; a < 3; a++) worst = Math.max(worst, Math.abs(ours[k][a] - r[a]));
        sum += Math.hypot(ours[k][0] - r[0], ours[k][1] - r[1], ours[k][2] - r[2]);
        n++;
      }
    }
    console.log(`BlazePose world landmarks vs reference: mean ${(sum / n * 1000).toFixed(1)} mm per landmark, worst coordinate ${(worst * 1000).toFixed(0)} mm (tolerance ${TFJS_WORLD_TOLERANCE * 1000} mm); ${track.summary.fps.toFixed(1)} fps`);
    expect(n).toBe(65 * 33); // found in every frame, every landmark in the picture
    expect(worst).toBeLessThanOrEqual(TFJS_WORLD_TOLERANCE);
    expect(sum / n).toBeLessThan(0.08);
    // Z up: the head is above the pelvis, which is above the feet, in every frame.
    const J = track.jointNames.length;
    const z = (t: number, name: string) => track.positions[3 * (t * J + track.jointNames.indexOf(name)) + 2];
    // Estimated root: in front of the camera at a room-scale distance, staying put while she squats in place.
    const root = track.extras!.root_camera.data as Float32Array;
    const ys: number[] = [];
    for (let t = 0; t < 65; t++) {
      expect(-root[3 * t]).toBeGreaterThan(1.5);
      expect(-root[3 * t]).toBeLessThan(8);
      ys.push(root[3 * t + 1]);
    }
    expect(Math.max(...ys) - Math.min(...ys)).toBeLessThan(0.3);
    for (let t = 0; t < 65; t++) {
      expect(z(t, 'head')).toBeGreaterThan(z(t, 'pelvis'));
      expect(z(t, 'pelvis')).toBeGreaterThan(z(t, 'left_ankle'));
    }
  }, 300_000);

  it('follows one person while a second one walks through the picture (no jumps, also across worker segments)', async () => {
    // 2–6 s: a man does jumping jacks on a box while a woman walks across in front of him; at ~5.7 s he flips
    // off the box (lost; re-acquisition may then pick her). Two workers split the clip at 4 s: the second one's
    // own first detection picks the woman, so capture re-runs that segment from where the first one ended.
    const track = await captureVideo(shared(SPORTS), { body: true, hands: false, start: 2, end: 6, workers: 2 });
    const T = track.timestamps.length;
    const img = track.extras!.image_body.data as Float32Array;
    const pres = track.extras!.presence_body.data as Float32Array;
    const detected = track.extras!.detector_body.data as Uint8Array;
    let found = 0, maxJump = 0, detections = 0, n = 0;
    let prev: [number, number] | null = null;
    const hipY: number[] = [];
    for (let t = 0; t < T && track.timestamps[t] < 5.6; t++) {
      n++;
      if (detected[t]) detections++;
      if (!(pres[t] > 0)) {
        prev = null;
        continue;
      }
      found++;
      const hx = (img[3 * (t * 33 + 23)] + img[3 * (t * 33 + 24)]) / 2;
      const hy = (img[3 * (t * 33 + 23) + 1] + img[3 * (t * 33 + 24) + 1]) / 2;
      hipY.push(hy);
      if (prev && !detected[t]) maxJump = Math.max(maxJump, Math.hypot(hx - prev[0], hy - prev[1]));
      prev = [hx, hy];
    }
    const capture = track.meta!.capture as Record<string, unknown>;
    console.log(`sports2d 2–5.6 s: body in ${found}/${n} frames, largest tracked hip-centre step ${(maxJump * 100).toFixed(1)}% of the picture; detector ran on ${detections} frames; segments re-run for identity: ${capture.segments_rerun_for_identity ?? 0}`);
    expect(track.summary.workers).toBe(2);
    expect(found / n).toBeGreaterThanOrEqual(0.95);
    expect(maxJump).toBeLessThan(0.05);
    expect(detections).toBeLessThanOrEqual(2);
    // Always the man on the box (hips in the upper half of the picture), never the woman walking below.
    expect(Math.max(...hipY)).toBeLessThan(0.45);
  }, 300_000);

  it('a rotated phone clip is captured upright, like the original', async () => {
    const rot = rotatedClip(shared(SQUATS), dir, 12);
    const a = await captureVideo(rot, { body: true, hands: false, workers: 1 });
    const b = await captureVideo(shared(SQUATS), { body: true, hands: false, maxFrames: 12 });
    const v = a.meta!.video as Record<string, number>;
    expect([v.rotation, v.width, v.height]).toEqual([90, 720, 1280]);
    const ia = a.extras!.image_body.data as Float32Array;
    const ib = b.extras!.image_body.data as Float32Array;
    let d = 0, n = 0;
    for (let k = 0; k < ia.length; k += 3) {
      d += Math.hypot(ia[k] - ib[k], ia[k + 1] - ib[k + 1]);
      n++;
    }
    expect(d / n).toBeLessThan(0.01);
  }, 300_000);

  it('a variable-frame-rate clip keeps ffprobe\'s frame times', async () => {
    const vfr = vfrClip(shared(HAND), dir, 2);
    const track = await captureVideo(vfr, { body: false, hands: true });
    const probe = ffprobeTimes(vfr);
    expect(track.timestamps.length).toBe(probe.length);
    track.timestamps.forEach((t, k) => expect(t).toBeCloseTo(probe[k], 5));
    expect((track.meta!.video as Record<string, unknown>).variable_frame_rate).toBe(true);
  }, 300_000);

  it('a clip with nobody in it gives an empty track that says why', async () => {
    const clip = path.join(dir, 'nobody.mp4');
    ffmpeg(['-f', 'lavfi', '-i', 'testsrc=size=640x360:rate=10:duration=2', '-pix_fmt', 'yuv420p', '-c:v', 'libx264', '-preset', 'ultrafast', clip]);
    const track = await captureVideo(clip, { workers: 1 });
    expect(track.timestamps.length).toBe(20);
    expect(track.positions.every(Number.isNaN)).toBe(true);
    expect(track.confidence.every((c) => c === 0)).toBe(true);
    expect(String(track.meta!.empty_reason)).toMatch(/no person or hand found in any of the 20 frames/);
  }, 300_000);
});
