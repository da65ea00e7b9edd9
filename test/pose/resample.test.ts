import { describe, expect, it } from 'vitest';
import { resampleTrack } from '../../src/pose/resample.ts';
import { importPose } from '../../src/pose/import.ts';
import { emptyTrack, validateTrack } from '../../src/pose/track.ts';
import { describeShared, shared } from '../helpers/shared.ts';

const WALK = 'motions/cmu_small_gods_game/cmu_104_02_neutral_male_walk.bvh';

/** A 2-joint track at `fps` whose joint 0 moves x = t (linear) and joint 1 x = t². */
function ramp(T: number, fps: number) {
  const t = emptyTrack(T, ['a', 'b'], [-1, 0], fps, { format: 'synthetic' });
  for (let i = 0; i < T; i++) {
    const s = i / fps;
    t.positions.set([s, 0, 1, s * s, 0, 1], 6 * i);
    t.confidence.set([1, 0.5], 2 * i);
  }
  return t;
}

describe('resampleTrack', () => {
  it('upsampling interpolates linearly and keeps source samples exact', () => {
    const src = ramp(11, 10);
    const up = resampleTrack(src, 40);
    expect(up.timestamps.length).toBe(41);
    for (let k = 0; k < 41; k++) {
      expect(up.timestamps[k]).toBe(k / 40);
      expect(up.positions[6 * k]).toBeCloseTo(k / 40, 6);
      expect(up.confidence[2 * k + 1]).toBeCloseTo(0.5, 7);
    }
    for (let i = 0; i < 11; i++) expect(up.positions[6 * (4 * i) + 3]).toBe(src.positions[6 * i + 3]);
    validateTrack(up);
  });

  it('bridges a gap of up to two missing frames but never a longer one', () => {
    const src = ramp(30, 10);
    const miss = (i: number, j: number) => { src.positions.fill(NaN, 3 * (2 * i + j), 3 * (2 * i + j) + 3); src.confidence[2 * i + j] = 0; };
    miss(5, 0); miss(6, 0);            // 2-frame gap in joint a: bridged
    for (let i = 12; i < 18; i++) miss(i, 0); // 6-frame gap: stays missing
    const out = resampleTrack(src, 20);
    const at = (t: number) => Math.round(t * 20);
    expect(out.positions[6 * at(0.55)]).toBeCloseTo(0.55, 6);   // inside the short gap: interpolated
    expect(out.positions[6 * at(0.5)]).toBeCloseTo(0.5, 6);     // missing source frame itself: interpolated from neighbours
    for (const t of [1.2, 1.25, 1.4, 1.65, 1.7]) {
      expect(Number.isNaN(out.positions[6 * at(t)]), `t=${t}`).toBe(true);
      expect(out.confidence[2 * at(t)]).toBe(0);
    }
    expect(out.positions[6 * at(1.1)]).toBeCloseTo(1.1, 6);
    expect(out.positions[6 * at(1.8)]).toBeCloseTo(1.8, 6);
    validateTrack(out);
  });

  it('rejects a bad target rate', () => {
    expect(() => resampleTrack(ramp(3, 10), 0)).toThrow(/positive/);
    expect(() => resampleTrack(ramp(3, 10), NaN)).toThrow(/positive/);
  });
});

describeShared('resampling real mocap 120 → 30 Hz', [WALK], () => {
  it('keeps positions at shared timestamps exact and timestamps exactly k/30', () => {
    const src = importPose(shared(WALK));
    const out = importPose(shared(WALK), { fps: 30 });
    expect(out.fps).toBe(30);
    expect(out.source.resampled_from_fps).toBe(120);
    const J = src.jointNames.length;
    expect(out.timestamps.length).toBe(Math.floor((src.timestamps.length - 1) / 4) + 1);
    for (let k = 0; k < out.timestamps.length; k++) {
      expect(out.timestamps[k]).toBe(k / 30);
      const a = out.positions.subarray(3 * J * k, 3 * J * (k + 1));
      const b = src.positions.subarray(3 * J * 4 * k, 3 * J * (4 * k + 1));
      expect(Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength))).toBe(true);
    }
  });
});
