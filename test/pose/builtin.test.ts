import { describe, expect, it } from 'vitest';
import { builtinMotion, BUILTIN_BODY } from '../../src/pose/builtin.ts';
import { poseInfo } from '../../src/pose/info.ts';
import { canonicalSkeleton } from '../../src/pose/skeleton.ts';
import { validateTrack } from '../../src/pose/track.ts';
import { boneCv, dist, pos } from './util.ts';

describe('built-in motion: pick-and-place', () => {
  const t = builtinMotion();
  const T = t.timestamps.length;
  const J = t.jointNames.length;
  const at = (s: number) => Math.round(s * 30);

  it('is a valid 30 fps, 7.5 s track with the full canonical skeleton (body and both hands)', () => {
    validateTrack(t);
    expect(t.fps).toBe(30);
    expect(T).toBe(226);
    expect(t.jointNames).toEqual(canonicalSkeleton().names);
    for (let k = 0; k < t.positions.length; k++) expect(Number.isFinite(t.positions[k])).toBe(true);
    expect(t.confidence.every((c) => c === 1)).toBe(true);
    expect(J).toBe(19 + 42);
  });

  it('keeps every bone length constant (CV < 1e-5) with human proportions (1.65-1.75 m)', () => {
    for (let j = 0; j < J; j++) {
      if (t.parents[j] < 0) continue;
      const b = boneCv(t, t.jointNames[j]);
      if (t.jointNames[j].endsWith('_hand_wrist')) expect(b.mean).toBe(0); // the hand's wrist is the body's wrist
      else expect(b.cv, t.jointNames[j]).toBeLessThan(1e-5);
    }
    expect(boneCv(t, 'left_knee').mean).toBeCloseTo(BUILTIN_BODY.thigh, 5);
    expect(boneCv(t, 'right_elbow').mean).toBeCloseTo(BUILTIN_BODY.upperArm, 5);
    const h = poseInfo(t);
    expect(h.standing_height_m).toBeGreaterThan(1.65);
    expect(h.standing_height_m).toBeLessThan(1.75);
    expect(Math.abs(h.height_estimates.geometric! - h.height_estimates.legs!)).toBeLessThan(0.03);
  });

  it('keeps stance feet planted on the ground: ankles at 8 cm, toes at 2 cm, not sliding', () => {
    const swing = { right: [1.0, 1.6], left: [1.6, 2.2] } as const;
    for (const side of ['left', 'right'] as const) {
      let stanceStart: number[] | null = null;
      for (let f = 0; f < T; f++) {
        const s = f / 30;
        const inSwing = s > swing[side][0] && s < swing[side][1];
        if (inSwing) { stanceStart = null; continue; }
        const ankle = pos(t, `${side}_ankle`, f), toe = pos(t, `${side}_toe`, f);
        expect(ankle[2]).toBeCloseTo(0.08, 5);
        expect(toe[2]).toBeCloseTo(0.02, 5);
        if (!stanceStart) stanceStart = ankle;
        else expect(dist(ankle, stanceStart)).toBeLessThan(1e-5);
      }
      // During the swing the foot leaves the ground.
      expect(pos(t, `${side}_ankle`, at((swing[side][0] + swing[side][1]) / 2))[2]).toBeGreaterThan(0.12);
    }
    // Two steps forward: both feet end 30 cm ahead.
    expect(pos(t, 'left_ankle', T - 1)[0] - pos(t, 'left_ankle', 0)[0]).toBeCloseTo(0.3, 5);
  });

  it('reaches down with both hands, closes them on the object, and opens them again', () => {
    const grasp = at(3.9), open = at(3.2), release = at(6.5);
    const curl = (f: number, side: string) => dist(pos(t, `${side}_hand_middle_finger_tip`, f), pos(t, `${side}_hand_wrist`, f));
    for (const side of ['left', 'right']) {
      expect(curl(open, side) - curl(grasp, side)).toBeGreaterThan(0.04);
      expect(curl(release, side) - curl(grasp, side)).toBeGreaterThan(0.04);
      // Hands at the pick location, lower than when standing, in front of the body.
      expect(pos(t, `${side}_wrist`, grasp)[0]).toBeGreaterThan(pos(t, 'pelvis', grasp)[0] + 0.3);
      expect(pos(t, `${side}_wrist`, grasp)[2]).toBeLessThan(pos(t, `${side}_wrist`, at(5))[2] - 0.1);
      // The hand's wrist landmark is the body's wrist.
      expect(pos(t, `${side}_hand_wrist`, grasp)).toEqual(pos(t, `${side}_wrist`, grasp));
    }
    // Palms face each other across the box: the hands are about a box width apart.
    const w = dist(pos(t, 'left_wrist', grasp), pos(t, 'right_wrist', grasp));
    expect(w).toBeGreaterThan(0.22);
    expect(w).toBeLessThan(0.34);
  });

  it('is smooth: no joint accelerates faster than 25 m/s² (second differences, no jitter)', () => {
    let worst = 0;
    for (let j = 0; j < J; j++) {
      for (let f = 1; f < T - 1; f++) {
        const a = pos(t, t.jointNames[j], f - 1), b = pos(t, t.jointNames[j], f), c = pos(t, t.jointNames[j], f + 1);
        worst = Math.max(worst, Math.hypot(a[0] - 2 * b[0] + c[0], a[1] - 2 * b[1] + c[1], a[2] - 2 * b[2] + c[2]) * 900);
      }
    }
    expect(worst).toBeLessThan(25);
  });

  it('is generated directly at another rate', () => {
    const t60 = builtinMotion('pick-and-place', { fps: 60 });
    expect(t60.timestamps.length).toBe(451);
    expect(dist(pos(t60, 'right_wrist', 2 * at(4)), pos(t, 'right_wrist', at(4)))).toBeLessThan(1e-6);
  });
});
