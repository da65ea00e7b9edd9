/**
 * Robot discovery from the kinematic tree alone, on the real robots, and again on copies whose link and
 * joint names are all scrambled (so names cannot have helped).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { expect, it } from 'vitest';
import { describeShared, shared } from '../helpers/shared.ts';
import { loadUrdf } from '../../src/robot/urdf.ts';
import { Kinematics } from '../../src/robot/kinematics.ts';
import { discoverBody, type BodyMap } from '../../src/retarget/discover.ts';
import { buildProxies } from '../../src/retarget/proxies.ts';

const G1 = 'robots/unitree_g1/g1_29dof_rev_1_0.urdf';
const G1H = 'robots/unitree_g1/g1_29dof_with_hand_rev_1_0.urdf';
const H1 = 'robots/unitree_h1/urdf/h1.urdf';
const T1 = 'robots/booster_t1/T1_serial.urdf';

/** The parts a map names, as a flat record (for comparing maps). */
function parts(m: BodyMap): Record<string, string> {
  const out: Record<string, string> = { pelvis: m.pelvis, torso: m.torso, head: m.head?.link ?? '' };
  for (const s of ['left', 'right'] as const) {
    out[`${s}_hip`] = m.legs[s].root.link; out[`${s}_knee`] = m.legs[s].mid.link; out[`${s}_ankle`] = m.legs[s].end.link;
    out[`${s}_shoulder`] = m.arms[s].root.link; out[`${s}_elbow`] = m.arms[s].mid.link; out[`${s}_hand`] = m.arms[s].end.link;
    out[`${s}_foot`] = m.feet[s].link;
  }
  return out;
}

/** Write a copy of a URDF with every link and joint renamed to a random token; mesh paths made absolute. */
function scrambled(file: string, dir: string): { file: string; rename: Map<string, string> } {
  const text = fs.readFileSync(file, 'utf8');
  const rename = new Map<string, string>();
  // Opaque, digit-only tokens (random letters could spell "hip" by chance).
  let counter = 0;
  const token = () => `x${(1000 + counter++ * 7919) % 100000}`;
  for (const m of text.matchAll(/<(link|joint)\s+name="([^"]+)"/g)) if (!rename.has(m[2])) rename.set(m[2], token());
  let out = text.replace(/<(link|joint)(\s+)name="([^"]+)"/g, (_, tag, sp, n) => `<${tag}${sp}name="${rename.get(n)}"`);
  out = out.replace(/<(parent|child)(\s+)link="([^"]+)"/g, (_, tag, sp, n) => `<${tag}${sp}link="${rename.get(n)}"`);
  out = out.replace(/<mimic(\s+)joint="([^"]+)"/g, (_, sp, n) => `<mimic${sp}joint="${rename.get(n)}"`);
  out = out.replace(/filename="([^"]+)"/g, (_, f) => `filename="${path.resolve(path.dirname(file), f)}"`);
  const dst = path.join(dir, `robot_${path.basename(file, '.urdf').length}_${Date.now()}.urdf`);
  fs.writeFileSync(dst, out);
  return { file: dst, rename };
}

describeShared('body discovery from the kinematic tree', [G1, G1H, H1, T1], () => {
  it('finds the G1 parts (29 dof and with Dex3 hands)', () => {
    for (const f of [G1, G1H]) {
      const m = discoverBody(new Kinematics(loadUrdf(shared(f))));
      const p = parts(m);
      expect(p.pelvis).toBe('pelvis');
      expect(p.torso).toBe('torso_link');
      expect(p.left_knee).toBe('left_knee_link');
      expect(p.right_knee).toBe('right_knee_link');
      expect(p.left_elbow).toBe('left_elbow_link');
      expect(p.right_elbow).toBe('right_elbow_link');
      expect(p.left_foot).toBe('left_ankle_roll_link');
      expect(p.right_foot).toBe('right_ankle_roll_link');
      expect(p.left_shoulder).toMatch(/^left_shoulder_/);
      expect(p.left_hip).toMatch(/^left_hip_/);
      // The G1's feet have four contact spheres; the sole lies 3.5 cm below the ankle roll link.
      expect(m.feet.left.sole.length).toBeGreaterThanOrEqual(3);
      expect(m.feet.left.ankleHeight).toBeCloseTo(0.035, 3);
    }
    const withHands = discoverBody(new Kinematics(loadUrdf(shared(G1H))));
    expect(withHands.arms.left.end.link).toBe('left_hand_palm_link');
    expect(withHands.arms.right.end.link).toBe('right_hand_palm_link');
    expect(withHands.fingers.left.length).toBe(7);
    expect(withHands.fingers.right.length).toBe(7);
    expect(discoverBody(new Kinematics(loadUrdf(shared(G1)))).fingers.left).toEqual([]);
  });

  it('finds the H1 parts: no wrist, so the hand point is the far end of the forearm', () => {
    const m = discoverBody(new Kinematics(loadUrdf(shared(H1))));
    const p = parts(m);
    expect(p.pelvis).toBe('pelvis');
    expect(p.torso).toBe('torso_link');
    expect(p.left_knee).toBe('left_knee_link');
    expect(p.left_foot).toBe('left_ankle_link');
    expect(p.left_elbow).toBe('left_elbow_link');
    expect(p.left_hand).toBe('left_elbow_link');
    // The wrist point lies 10-25 cm along the forearm from the elbow.
    const tip = m.arms.left.end.local;
    expect(Math.hypot(...tip)).toBeGreaterThan(0.1);
    expect(Math.hypot(...tip)).toBeLessThan(0.25);
    expect(m.head).toBeUndefined();
  });

  it('finds the T1 parts: root link is the trunk, the pelvis is the waist below it', () => {
    const m = discoverBody(new Kinematics(loadUrdf(shared(T1))));
    const p = parts(m);
    expect(p.torso).toBe('Trunk');
    expect(p.pelvis).toBe('Waist');
    expect(p.left_knee).toBe('Shank_Left');
    expect(p.right_knee).toBe('Shank_Right');
    expect(p.left_foot).toBe('left_foot_link');
    expect(p.head).toBe('H2');
    // Legs go down, arms go sideways: the rest keypoints say so.
    expect(m.rest.left_ankle[2]).toBeLessThan(m.rest.left_knee[2]);
    expect(m.rest.left_knee[2]).toBeLessThan(m.rest.left_hip[2]);
    expect(m.rest.left_wrist[1]).toBeGreaterThan(0.4);
    expect(m.rest.right_wrist[1]).toBeLessThan(-0.4);
  });

  it('finds the same parts when every link and joint name is scrambled', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'r2r-scramble-'));
    try {
      for (const f of [G1, G1H, H1, T1]) {
        const orig = parts(discoverBody(new Kinematics(loadUrdf(shared(f)))));
        const sc = scrambled(shared(f), dir);
        const robot = loadUrdf(sc.file);
        expect(robot.links.some((l) => /knee|hip|pelvis|Shank|Trunk/i.test(l.name))).toBe(false);
        const got = parts(discoverBody(new Kinematics(robot)));
        const expected = Object.fromEntries(Object.entries(orig).map(([k, v]) => [k, v ? sc.rename.get(v) : '']));
        expect(got).toEqual(expected);
      }
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('fits self-collision capsules to the collision geometry (meshes on the G1, primitives on the H1)', () => {
    const g1 = new Kinematics(loadUrdf(shared(G1)));
    const pg = buildProxies(g1);
    const fromMesh = pg.capsules.filter((c) => c.from === 'mesh');
    expect(fromMesh.length).toBeGreaterThan(15);
    // Thigh capsule: a few centimetres thick, not the whole leg.
    const knee = pg.capsules.find((c) => g1.linkNames[c.link] === 'left_knee_link')!;
    expect(knee.radius).toBeGreaterThan(0.03);
    expect(knee.radius).toBeLessThan(0.08);
    // No pair checked is in contact at the zero pose, and arm-vs-leg pairs are among those checked.
    const pairNames = new Set<string>();
    for (let k = 0; k < pg.pairs.length; k += 2) pairNames.add(`${g1.linkNames[pg.capsules[pg.pairs[k]].link]}|${g1.linkNames[pg.capsules[pg.pairs[k + 1]].link]}`);
    expect([...pairNames].some((p) => p.includes('left_knee_link') && p.includes('right_knee_link'))).toBe(true);
    expect([...pairNames].some((p) => p.includes('wrist') && p.includes('hip'))).toBe(true);
    const h1 = new Kinematics(loadUrdf(shared(H1)));
    const ph = buildProxies(h1);
    expect(ph.capsules.every((c) => c.from !== 'mesh')).toBe(true);
    const thigh = ph.capsules.find((c) => h1.linkNames[c.link] === 'left_hip_pitch_link')!;
    expect(thigh.radius).toBeCloseTo(0.05, 6);
    expect(Math.hypot(thigh.a[0] - thigh.b[0], thigh.a[1] - thigh.b[1], thigh.a[2] - thigh.b[2])).toBeCloseTo(0.2, 6);
  });
});
