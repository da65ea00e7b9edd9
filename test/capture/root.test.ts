import { describe, expect, it } from 'vitest';
import { assemble, HAND_PLACEMENT, rootTranslation } from '../../src/capture/assemble.ts';
import { BODY_N, H_HANDEDNESS, H_IMAGE, H_SCORE, H_WORLD, HAND_N, R_BODY_IMAGE, R_BODY_SCORE, R_BODY_VIS, R_BODY_WORLD, ROW, clearRow, handBase } from '../../src/capture/layout.ts';

describe('root translation from image + world landmarks', () => {
  it('recovers the camera-relative position of a body seen through a pinhole', () => {
    const W = 1280, H = 720, f = 900;
    const truth = [[0.3, -0.2, 3.5], [-1.1, 0.4, 6.0]];
    const rows = new Float32Array(truth.length * ROW);
    truth.forEach((t, i) => {
      const row = rows.subarray(i * ROW, (i + 1) * ROW);
      clearRow(row);
      row[R_BODY_SCORE] = 1;
      for (let k = 0; k < BODY_N; k++) {
        // A body-sized point cloud around the hips (deterministic).
        const P = [0.4 * Math.sin(k * 1.7), 0.9 * Math.cos(k * 0.9), 0.2 * Math.sin(k * 2.3)];
        row[R_BODY_WORLD + 3 * k] = P[0];
        row[R_BODY_WORLD + 3 * k + 1] = P[1];
        row[R_BODY_WORLD + 3 * k + 2] = P[2];
        const Z = P[2] + t[2];
        row[R_BODY_IMAGE + 3 * k] = (f * (P[0] + t[0]) / Z + W / 2) / W;
        row[R_BODY_IMAGE + 3 * k + 1] = (f * (P[1] + t[1]) / Z + H / 2) / H;
        row[R_BODY_VIS + k] = 0.9;
      }
    });
    const out = rootTranslation(rows, truth.length, W, H, f);
    truth.forEach((t, i) => t.forEach((v, a) => expect(out[3 * i + a]).toBeCloseTo(v, 4)));
  });

  it('gives NaN where there is no body', () => {
    const rows = new Float32Array(ROW);
    clearRow(rows);
    expect(Array.from(rootTranslation(rows, 1, 640, 480, 500)).every(Number.isNaN)).toBe(true);
  });
});

describe('hands placed without a body wrist', () => {
  // A body and a right hand seen through a pinhole; the body's right wrist is outside the picture in frame 0 and there
  // is no body at all in frame 1: the hand must still be in the track, where the camera sees it relative to the hip.
  const W = 1280, H = 720, f = 900;
  const tb = [0.1, 0.2, 3.0]; // hip centre, camera frame (x right, y down, z forward)
  const th = [[0.35, -0.25, 1.2], [0.3, -0.2, 1.1]]; // the hand's world origin, per frame
  const P = (k: number) => [0.4 * Math.sin(k * 1.7), 0.9 * Math.cos(k * 0.9), 0.2 * Math.sin(k * 2.3)];
  const Q = (k: number) => [0.05 * Math.sin(k * 1.3) + 0.01, 0.08 * Math.cos(k * 0.7), 0.02 * Math.sin(k * 2.9)];
  const proj = (p: number[]) => [(f * p[0] / p[2] + W / 2) / W, (f * p[1] / p[2] + H / 2) / H];
  const toTrack = (v: number[]) => [-v[2], v[0], -v[1]];
  const RIGHT_WRIST = 16, LEFT_HIP = 23;
  const rows = new Float32Array(2 * ROW);
  for (let t = 0; t < 2; t++) {
    const row = rows.subarray(t * ROW, (t + 1) * ROW);
    clearRow(row);
    if (t === 0) {
      row[R_BODY_SCORE] = 1;
      for (let k = 0; k < BODY_N; k++) {
        const p = P(k);
        row.set(p, R_BODY_WORLD + 3 * k);
        const [u, v] = k === RIGHT_WRIST ? [1.5, 0.5] : proj([p[0] + tb[0], p[1] + tb[1], p[2] + tb[2]]);
        row.set([u, v, 0], R_BODY_IMAGE + 3 * k);
        row[R_BODY_VIS + k] = k === RIGHT_WRIST ? 0.1 : 0.9; // out of the picture: low visibility, as the model gives it
      }
    }
    const b = handBase(1);
    row[b + H_SCORE] = 1;
    row[b + H_HANDEDNESS] = 0.9;
    for (let k = 0; k < HAND_N; k++) {
      const q = Q(k);
      row.set(q, b + H_WORLD + 3 * k);
      row.set([...proj([q[0] + th[t][0], q[1] + th[t][1], q[2] + th[t][2]]), 0], b + H_IMAGE + 3 * k);
    }
  }
  const times = new Float64Array([0, 1 / 30]);
  const camera = { width: W, height: H, focalPx: f };

  it('places the hand from its own camera position against the hip (this frame, else the nearest body frame)', () => {
    const a = assemble(rows, times, 2, { body: true, hands: true }, null, camera);
    const J = a.jointNames.length;
    const jw = a.jointNames.indexOf('right_hand_wrist');
    const jh = a.jointNames.indexOf('blazepose_left_hip');
    const at = (t: number, j: number) => [0, 1, 2].map((c) => a.positions[3 * (t * J + j) + c]);
    expect(Array.from(a.extras.placement_right_hand.data as Uint8Array)).toEqual([HAND_PLACEMENT.camera, HAND_PLACEMENT.camera_nearest_body]);
    // Missing parts are marked: the body's right wrist in frame 0, the whole body in frame 1.
    expect(a.confidence[a.jointNames.indexOf('right_wrist')]).toBe(0);
    for (let j = 0; j < a.jointNames.indexOf('left_hand_wrist'); j++) expect(a.confidence[J + j]).toBe(0);
    for (let t = 0; t < 2; t++) {
      expect(a.confidence[t * J + jw]).toBeGreaterThan(0);
      // hand wrist − left hip (of frame 0: the only body) = where the camera sees one relative to the other.
      const want = toTrack([0, 1, 2].map((c) => Q(0)[c] + th[t][c] - P(LEFT_HIP)[c] - tb[c]));
      const got = at(t, jw).map((v, c) => v - at(0, jh)[c]);
      got.forEach((v, c) => expect(v).toBeCloseTo(want[c], 4));
      // The hand's shape is the model's, wrist-relative.
      for (let k = 1; k < HAND_N; k++) {
        const w = toTrack([0, 1, 2].map((c) => Q(k)[c] - Q(0)[c]));
        at(t, jw + k).forEach((v, c) => expect(v - at(t, jw)[c]).toBeCloseTo(w[c], 5));
      }
    }
  });

  it('keeps the hand wrist-centred when there is no body frame at all, and at the body wrist when the body gives it there', () => {
    const noBody = rows.slice(ROW, 2 * ROW);
    const a = assemble(noBody, times.slice(1), 1, { body: true, hands: true }, null, camera);
    expect(Array.from(a.extras.placement_right_hand.data as Uint8Array)).toEqual([HAND_PLACEMENT.wrist_centred]);
    const jw = a.jointNames.indexOf('right_hand_wrist');
    expect(Array.from(a.positions.subarray(3 * jw, 3 * jw + 3))).toEqual([0, 0, 0]);
    // Frame 0 with the body's right wrist projected where the hand's wrist is: placed at the body wrist.
    const withWrist = rows.slice(0, ROW);
    const hw = handBase(1) + H_IMAGE;
    withWrist.set([withWrist[hw], withWrist[hw + 1], 0], R_BODY_IMAGE + 3 * RIGHT_WRIST);
    const b = assemble(withWrist, times.slice(0, 1), 1, { body: true, hands: true }, null, camera);
    expect(Array.from(b.extras.placement_right_hand.data as Uint8Array)).toEqual([HAND_PLACEMENT.body_wrist]);
    const bw = b.jointNames.indexOf('right_wrist');
    const bj = b.jointNames.indexOf('right_hand_wrist');
    expect(Array.from(b.positions.subarray(3 * bj, 3 * bj + 3))).toEqual(Array.from(b.positions.subarray(3 * bw, 3 * bw + 3)));
  });
});
