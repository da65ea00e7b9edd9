import { describe, expect, it } from 'vitest';
import { rootTranslation } from '../../src/capture/assemble.ts';
import { BODY_N, R_BODY_IMAGE, R_BODY_SCORE, R_BODY_VIS, R_BODY_WORLD, ROW, clearRow } from '../../src/capture/layout.ts';

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
