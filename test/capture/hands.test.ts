import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { HAND_PLACEMENT } from '../../src/capture/assemble.ts';
import { captureVideo } from '../../src/capture/index.ts';
import { decodeNpy } from '../../src/io/npz.ts';
import { describeShared, shared } from '../helpers/shared.ts';
import { ffmpeg, tmpDir } from './clips.ts';
import { kabschError } from './kabsch.ts';

const HAND = 'videos/dex_retargeting_human_hand_video.mp4';
const REF = 'keypoints/dex_retargeting_human_joint_right.npy';

describeShared('hand capture', [HAND, REF], () => {
  let dir = '';
  let handsOnly: Awaited<ReturnType<typeof captureVideo>> | undefined;
  beforeAll(() => {
    dir = tmpDir();
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('matches the MediaPipe reference world landmarks on all 621 frames (≤ 2 mm, found ≥ 98%)', async () => {
    const track = await captureVideo(shared(HAND), { body: false, hands: true, backend: 'onnxruntime' });
    handsOnly = track;
    expect(track.summary.backend).toBe('onnxruntime');
    const ref = decodeNpy(fs.readFileSync(shared(REF)));
    expect(ref.shape).toEqual([621, 21, 3]);
    const T = track.timestamps.length;
    expect(T).toBe(621);
    const J = track.jointNames.length;
    const j0 = track.jointNames.indexOf('right_hand_wrist');
    const presence = track.extras!.presence_right_hand.data as Float32Array;
    const raw = track.extras!.hand_local_right.data as Float32Array;
    let found = 0;
    let sum = 0;
    let sumRaw = 0;
    let n = 0;
    let worst = 0;
    for (let t = 0; t < T; t++) {
      if (presence[t] > 0) found++;
      const r = Array.from((ref.data as Float32Array).subarray(t * 63, (t + 1) * 63));
      if (r.some(Number.isNaN)) continue;
      const ours: number[] = [];
      for (let k = 0; k < 21; k++) for (let a = 0; a < 3; a++) ours.push(track.positions[3 * (t * J + j0 + k) + a]);
      if (ours.some(Number.isNaN)) continue;
      const e = kabschError(ours, r);
      sum += e;
      worst = Math.max(worst, e);
      sumRaw += kabschError(Array.from(raw.subarray(t * 63, (t + 1) * 63)), r);
      n++;
    }
    const mean = sum / n;
    console.log(`hand world landmarks vs MediaPipe reference: mean ${(mean * 1000).toFixed(2)} mm (unfiltered ${((sumRaw / n) * 1000).toFixed(2)} mm), worst frame ${(worst * 1000).toFixed(2)} mm, found in ${found}/${T} frames; ${track.summary.fps.toFixed(1)} fps with ${track.summary.workers} workers`);
    expect(found / T).toBeGreaterThanOrEqual(0.98);
    expect(n / T).toBeGreaterThanOrEqual(0.98);
    expect(mean).toBeLessThanOrEqual(0.002);
    // Handedness: the right hand, never labelled left.
    expect((track.extras!.presence_left_hand.data as Float32Array).every((p) => p === 0)).toBe(true);
    // Hands-only capture is wrist-centred.
    for (let t = 0; t < T; t++) if (presence[t] > 0) expect(Math.hypot(...[0, 1, 2].map((a) => track.positions[3 * (t * J + j0) + a]))).toBeLessThan(1e-6);
  }, 600_000);

  it('with body and hands, a close-up hand the body model misplaces is still found (palm detector) and matches the reference', async () => {
    // The body model reports a person in most frames of this close-up, with wrists nowhere near the hand; the hand
    // tracker used to trust the wrists whenever a body was tracked and never ran the palm detector: 481/621 frames.
    const track = await captureVideo(shared(HAND), { body: true, hands: true, backend: 'onnxruntime' });
    const T = track.timestamps.length;
    const presence = track.extras!.presence_right_hand.data as Float32Array;
    const raw = track.extras!.hand_local_right.data as Float32Array;
    const ref = decodeNpy(fs.readFileSync(shared(REF)));
    let found = 0, sum = 0, n = 0;
    for (let t = 0; t < T; t++) {
      if (!(presence[t] > 0)) continue;
      found++;
      const r = Array.from((ref.data as Float32Array).subarray(t * 63, (t + 1) * 63));
      if (r.some(Number.isNaN)) continue;
      sum += kabschError(Array.from(raw.subarray(t * 63, (t + 1) * 63)), r);
      n++;
    }
    console.log(`body+hands on the hand close-up: right hand in ${found}/${T} frames, ${((sum / n) * 1000).toFixed(2)} mm from the reference (unfiltered)`);
    expect(found / T).toBeGreaterThanOrEqual(0.98);
    expect(sum / n).toBeLessThanOrEqual(0.003);

    // The assembled track keeps the hand in the frames where the body gives no wrist for it (the body is missing in
    // 65 frames here, and its wrists are elsewhere in most others): the hand is in `positions` wherever hands-only
    // capture finds it, with the same wrist-relative shape, and placement_right_hand says how it was placed.
    const ho = handsOnly ?? (await captureVideo(shared(HAND), { body: false, hands: true, backend: 'onnxruntime' }));
    const J = track.jointNames.length, Jo = ho.jointNames.length;
    const j0 = track.jointNames.indexOf('right_hand_wrist'), jo = ho.jointNames.indexOf('right_hand_wrist');
    const jBody = track.jointNames.indexOf('right_wrist');
    const bodyPresence = track.extras!.presence_body.data as Float32Array;
    const placement = track.extras!.placement_right_hand.data as Uint8Array;
    const presenceHo = ho.extras!.presence_right_hand.data as Float32Array;
    let inHo = 0, kept = 0, noBody = 0, shapeSum = 0, shapeN = 0;
    const counts = [0, 0, 0, 0, 0];
    for (let t = 0; t < T; t++) {
      counts[placement[t]]++;
      expect(placement[t] > 0).toBe(presence[t] > 0);
      if (!(bodyPresence[t] > 0) && presence[t] > 0) {
        noBody++;
        expect(placement[t]).toBe(HAND_PLACEMENT.camera_nearest_body);
        expect(track.confidence[t * J + jBody]).toBe(0); // the missing body is marked missing, not invented
      }
      if (placement[t] === HAND_PLACEMENT.body_wrist) {
        for (let a = 0; a < 3; a++) expect(track.positions[3 * (t * J + j0) + a]).toBe(track.positions[3 * (t * J + jBody) + a]);
      }
      if (!(presenceHo[t] > 0)) continue;
      inHo++;
      if (!(track.confidence[t * J + j0] > 0)) continue;
      kept++;
      for (let k = 1; k < 21; k++) {
        const d = [0, 1, 2].map((a) => track.positions[3 * (t * J + j0 + k) + a] - track.positions[3 * (t * J + j0) + a] - ho.positions[3 * (t * Jo + jo + k) + a]);
        if (d.some(Number.isNaN)) continue;
        shapeSum += Math.hypot(...d);
        shapeN++;
      }
    }
    console.log(`assembled: right hand in positions in ${kept}/${inHo} frames where hands-only capture finds it (${noBody} frames without a body); wrist-relative points ${((shapeSum / shapeN) * 1000).toFixed(2)} mm from hands-only capture; placement none/body wrist/camera/camera, nearest body/wrist-centred ${counts.join('/')}`);
    expect(noBody).toBeGreaterThan(30); // the case this checks is really in the clip
    expect(kept / inHo).toBeGreaterThanOrEqual(0.98);
    expect(shapeSum / shapeN).toBeLessThanOrEqual(0.001);
  }, 600_000);

  it('a hand panning slowly out of the picture is dropped point by point, never placed outside it', async () => {
    const pan = path.join(dir, 'pan.mp4');
    // The camera pans right at 200 px/s over black padding: the hand (x ≈ 600–910 px) is fully in view until
    // 3 s, gone after 4.6 s.
    ffmpeg(['-i', shared(HAND), '-t', '6', '-vf', "pad=2560:720:0:0,crop=1280:720:'200*t':0,scale=640:360,fps=15", '-c:v', 'libx264', '-preset', 'ultrafast', pan]);
    const track = await captureVideo(pan, { body: false, hands: true, workers: 1 });
    const T = track.timestamps.length;
    const J = track.jointNames.length;
    const img = track.extras!.image_right_hand.data as Float32Array;
    const j0 = track.jointNames.indexOf('right_hand_wrist');
    let early = 0, earlyN = 0, late = 0, partial = 0;
    for (let t = 0; t < T; t++) {
      const time = track.timestamps[t];
      let conf = 0;
      for (let k = 0; k < 21; k++) {
        const c = track.confidence[t * J + j0 + k];
        if (c > 0) {
          conf++;
          const x = img[3 * (t * 21 + k)];
          const y = img[3 * (t * 21 + k) + 1];
          expect(x >= 0 && x <= 1 && y >= 0 && y <= 1).toBe(true); // a kept point is inside the picture
        } else expect(Number.isNaN(track.positions[3 * (t * J + j0 + k)])).toBe(true);
      }
      if (time < 2.5) {
        earlyN++;
        if (conf === 21) early++;
      }
      if (time > 4.9 && conf > 0) late++;
      if (conf > 0 && conf < 21) partial++;
    }
    expect(early / earlyN).toBeGreaterThanOrEqual(0.9);
    expect(late).toBe(0);
    expect(partial).toBeGreaterThan(0); // while leaving, the points outside were dropped, the rest kept
  }, 300_000);

  it('after a hard cut to a picture without hands, no hand is carried over', async () => {
    const cut = path.join(dir, 'cut.mp4');
    ffmpeg([
      '-i', shared(HAND), '-f', 'lavfi', '-i', 'testsrc=size=1280x720:rate=30:duration=2',
      '-filter_complex', '[0:v]trim=0:2,setpts=PTS-STARTPTS,fps=15[a];[1:v]fps=15,format=yuv420p[b];[a][b]concat=n=2:v=1[v]',
      '-map', '[v]', '-c:v', 'libx264', '-preset', 'ultrafast', cut,
    ]);
    const track = await captureVideo(cut, { body: false, hands: true, workers: 1 });
    const pres = track.extras!.presence_right_hand.data as Float32Array;
    const presL = track.extras!.presence_left_hand.data as Float32Array;
    let before = 0, beforeN = 0, after = 0;
    track.timestamps.forEach((time, t) => {
      if (time < 1.99) {
        beforeN++;
        if (pres[t] > 0) before++;
      } else if (pres[t] > 0 || presL[t] > 0) after++;
    });
    expect(before / beforeN).toBeGreaterThanOrEqual(0.9);
    expect(after).toBe(0);
  }, 300_000);
});
