import { describe, expect, it } from 'vitest';
import { footContacts, feetOfMotion, skateSummary, stanceThresholds, type Foot } from '../../src/robot/stance.ts';

// One foot link: a 20 x 10 cm sole (corners, link frame), posed per frame by a pitch about the y axis
// through `pivot` (link x) and a translation.
const sole = Float64Array.from([0.1, 0.05, 0, 0.1, -0.05, 0, -0.1, 0.05, 0, -0.1, -0.05, 0]);
const foot: Foot = { name: 'left', link: 0, points: sole };
function pose(x: number, z: number, pitch = 0, pivot = 0): Float64Array {
  // World = Rz(0) Ry(pitch) about (pivot, 0, 0), then translate (x, 0, z).
  const c = Math.cos(pitch), s = Math.sin(pitch);
  const P = new Float64Array(12);
  P.set([c, 0, s, 0, 1, 0, -s, 0, c]);
  // p_world = R (p - pivot) + pivot + (x, 0, z)
  P[9] = -c * pivot + pivot + x; P[10] = 0; P[11] = s * pivot + z;
  return P;
}
const th = stanceThresholds(0.6);
const run = (frames: Float64Array[], fps = 100) =>
  footContacts([foot], frames.length, Array.from({ length: frames.length }, (_, t) => t / fps), (t) => frames[t], th);

describe('stance and skating (src/robot/stance.ts)', () => {
  it('a foot sliding on the floor is in stance and skating at its speed; a planted one is not', () => {
    const slide = run(Array.from({ length: 20 }, (_, t) => pose(0.02 * t, -0.004)));
    const s = skateSummary(slide);
    expect(s.stance_frames.left).toBe(20);
    expect(s.skate_frames).toBe(20);
    expect(s.skate_max_m_s).toBeCloseTo(2, 6);
    expect(s.worst?.height_m).toBeCloseTo(-0.004, 9);
    const planted = skateSummary(run(Array.from({ length: 20 }, () => pose(0.3, 0.001))));
    expect(planted.stance_frames.left).toBe(20);
    expect(planted.skate_frames).toBe(0);
    expect(planted.skate_max_m_s).toBe(0);
  });

  it('a foot rolling over its heel does not skate (its contact points stay put)', () => {
    // Heel (x = -0.1) on the floor, the foot pitching toes-down from 20 degrees to flat.
    const frames = Array.from({ length: 21 }, (_, t) => pose(0, 0, -0.35 * (1 - t / 20), -0.1));
    const c = run(frames);
    const s = skateSummary(c);
    expect(s.stance_frames.left).toBe(21);
    expect(s.skate_frames).toBe(0);
    // Only the toe's small horizontal drift as it comes within the contact band in the last frames.
    expect(s.skate_max_m_s).toBeLessThan(0.01);
  });

  it('hysteresis: touch-down below the enter height when slow (or on the floor whatever the speed), lift-off only above the exit height', () => {
    // Fast and 1 cm up: not a touch-down; fast and on the floor: a touch-down.
    const fastLow = run(Array.from({ length: 5 }, (_, t) => pose(0.02 * t, 0.01)));
    expect(Array.from(fastLow.stance)).toEqual([0, 0, 0, 0, 0]);
    // Slow at 1 cm: touch-down; then 2 cm keeps stance (below exit, 2.4 cm); 3 cm ends it; 2 cm does not re-enter, 1 cm does.
    const zs = [0.05, 0.01, 0.01, 0.02, 0.03, 0.02, 0.01];
    const c = run(zs.map((z) => pose(0, z)));
    expect(Array.from(c.stance)).toEqual([0, 1, 1, 1, 0, 0, 1]);
    // A stance foot that starts sliding stays in stance (skating), it is not "lifted" by its speed.
    const slip = run([pose(0, 0), pose(0, 0), pose(0.001, 0), pose(0.021, 0)]);
    expect(Array.from(slip.stance)).toEqual([1, 1, 1, 1]);
    expect(Array.from(slip.skating)).toEqual([0, 0, 0, 1]);
  });

  it('thresholds scale with the leg length', () => {
    const a = stanceThresholds(0.6), b = stanceThresholds(0.9);
    expect(b.enterHeight / a.enterHeight).toBeCloseTo(1.5, 9);
    expect(b.skateSpeed / a.skateSpeed).toBeCloseTo(1.5, 9);
    expect(a.touchHeight).toBeLessThan(a.enterHeight);
    expect(a.enterHeight).toBeLessThan(a.exitHeight);
  });

  it('feetOfMotion reads the feet a retargeted motion carries, null when it carries none', () => {
    const links = ['pelvis', 'left_ankle_roll_link'];
    const got = feetOfMotion({ soles: { left: { link: 'left_ankle_roll_link', points: [[0.1, 0, -0.03], [-0.05, 0, -0.03]] } }, leg_length_m: 0.6 }, (n) => links.indexOf(n));
    expect(got?.legLength).toBe(0.6);
    expect(got?.feet[0].link).toBe(1);
    expect(Array.from(got!.feet[0].points)).toEqual([0.1, 0, -0.03, -0.05, 0, -0.03]);
    expect(feetOfMotion({ feet: { left: 'x' } }, (n) => links.indexOf(n))).toBeNull();
    expect(feetOfMotion({ soles: { left: { link: 'nope', points: [[0, 0, 0]] } }, leg_length_m: 0.6 }, (n) => links.indexOf(n))).toBeNull();
  });
});

describe('lift-off is not skating', () => {
  it('a stance foot rising above the enter height while moving forward lifts off, it does not skate', () => {
    const c = run([pose(0, 0), pose(0, 0), pose(0.01, 0.015), pose(0.03, 0.02), pose(0.06, 0.03)]);
    expect(Array.from(c.stance)).toEqual([1, 1, 1, 1, 0]);
    expect(Array.from(c.skating)).toEqual([0, 0, 0, 0, 0]);
  });
});
