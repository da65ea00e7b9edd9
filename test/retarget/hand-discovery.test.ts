/**
 * Finger discovery from the kinematic tree: the real hands (thumb, finger order, tips), the Dex3 hands
 * inside a G1 (dof subset, body pose irrelevant), and a hand generated here at test time with random link
 * and joint names, an arbitrary mounting rotation, flexion axes of either sign, distractor branches and no
 * fingertip links.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { corr, fingerFlex, humanCurl } from './hand-helpers.ts';
import { describeShared, shared, sharedPath } from '../helpers/shared.ts';
import { importPose } from '../../src/pose/import.ts';
import type { PoseTrack } from '../../src/pose/track.ts';
import { loadUrdf } from '../../src/robot/urdf.ts';
import { Kinematics } from '../../src/robot/kinematics.ts';
import { UserError } from '../../src/errors.ts';
import {
  createHandRetargeter, discoverHand, handLandmarks, isHandRobot, measureHumanHand, retargetHand,
} from '../../src/retarget/hand/index.ts';

const KEYPOINTS = 'keypoints/dex_retargeting_human_joint_right.json';
const G1 = 'robots/unitree_g1/g1_29dof_with_hand_rev_1_0.urdf';

describeShared('finger discovery on the real hands', [
  'hands/allegro_right/allegro_hand_right.urdf', 'hands/inspire_right/inspire_hand_right.urdf',
  'hands/leap_right/leap_hand_right.urdf', 'hands/shadow_right/shadow_hand_right.urdf',
], () => {
  const cases = [
    {
      file: 'hands/allegro_right/allegro_hand_right.urdf', palm: 'base_link',
      fingers: {
        thumb: ['joint_12.0', 'joint_13.0', 'joint_14.0', 'joint_15.0'], index: ['joint_0.0', 'joint_1.0', 'joint_2.0', 'joint_3.0'],
        middle: ['joint_4.0', 'joint_5.0', 'joint_6.0', 'joint_7.0'], ring: ['joint_8.0', 'joint_9.0', 'joint_10.0', 'joint_11.0'],
      },
      tips: { thumb: 'link_15.0_tip', index: 'link_3.0_tip', middle: 'link_7.0_tip', ring: 'link_11.0_tip' },
    },
    {
      file: 'hands/inspire_right/inspire_hand_right.urdf', palm: 'hand_base_link',
      fingers: {
        thumb: ['thumb_proximal_yaw_joint', 'thumb_proximal_pitch_joint', 'thumb_intermediate_joint', 'thumb_distal_joint'],
        index: ['index_proximal_joint', 'index_intermediate_joint'], middle: ['middle_proximal_joint', 'middle_intermediate_joint'],
        ring: ['ring_proximal_joint', 'ring_intermediate_joint'], pinky: ['pinky_proximal_joint', 'pinky_intermediate_joint'],
      },
      tips: { thumb: 'thumb_tip', index: 'index_tip', middle: 'middle_tip', ring: 'ring_tip', pinky: 'pinky_tip' },
    },
    {
      file: 'hands/leap_right/leap_hand_right.urdf', palm: 'palm_lower',
      fingers: { thumb: ['12', '13', '14', '15'], index: ['1', '0', '2', '3'], middle: ['5', '4', '6', '7'], ring: ['9', '8', '10', '11'] },
      tips: { thumb: 'thumb_tip_head', index: 'index_tip_head', middle: 'middle_tip_head', ring: 'ring_tip_head' },
    },
    {
      file: 'hands/shadow_right/shadow_hand_right.urdf', palm: 'palm',
      fingers: {
        thumb: ['THJ5', 'THJ4', 'THJ3', 'THJ2', 'THJ1'], index: ['FFJ4', 'FFJ3', 'FFJ2', 'FFJ1'], middle: ['MFJ4', 'MFJ3', 'MFJ2', 'MFJ1'],
        ring: ['RFJ4', 'RFJ3', 'RFJ2', 'RFJ1'], pinky: ['LFJ5', 'LFJ4', 'LFJ3', 'LFJ2', 'LFJ1'],
      },
      tips: { thumb: 'thtip', index: 'fftip', middle: 'mftip', ring: 'rftip', pinky: 'lftip' },
    },
  ];
  for (const c of cases) {
    it(`${path.basename(c.file)}: palm, thumb, finger order and fingertips`, () => {
      const kin = new Kinematics(loadUrdf(shared(c.file), { checkMeshes: false }));
      const model = discoverHand(kin);
      expect(model.palmLink).toBe(c.palm);
      expect(model.side).toBe('right');
      expect(Object.fromEntries(model.fingers.map((f) => [f.name, f.joints]))).toEqual(c.fingers);
      expect(Object.fromEntries(model.fingers.map((f) => [f.name, f.tipLink]))).toEqual(c.tips);
      // The thumb wins its score by a clear margin over every other chain.
      const scores = Object.values(model.thumbScores).sort((a, b) => b - a);
      expect(scores[0] - scores[1]).toBeGreaterThan(0.4);
      // Frame is orthonormal and right-handed for a right hand: thumbSide = forward × normal.
      const { forward: f, normal: n, thumbSide: t } = model.frame;
      const cross = [f[1] * n[2] - f[2] * n[1], f[2] * n[0] - f[0] * n[2], f[0] * n[1] - f[1] * n[0]];
      for (let k = 0; k < 3; k++) expect(cross[k]).toBeCloseTo(t[k], 6);
      expect(isHandRobot(kin)).toBe(true);
    });
  }
});

// ---- a hand nobody has seen ------------------------------------------------------------------------

interface Generated { urdf: string; palm: string; fingers: Record<string, string[]>; tips: Record<string, [number, number, number]>; layout: number[] }

type M3 = number[];
const mul = (a: M3, b: M3): M3 => [0, 1, 2].flatMap((i) => [0, 1, 2].map((j) => a[3 * i] * b[j] + a[3 * i + 1] * b[3 + j] + a[3 * i + 2] * b[6 + j]));
const apply = (m: M3, v: number[]) => [0, 1, 2].map((i) => m[3 * i] * v[0] + m[3 * i + 1] * v[1] + m[3 * i + 2] * v[2]);
function rpyToM([r, p, y]: number[]): M3 {
  const cr = Math.cos(r), sr = Math.sin(r), cp = Math.cos(p), sp = Math.sin(p), cy = Math.cos(y), sy = Math.sin(y);
  return [cy * cp, cy * sp * sr - sy * cr, cy * sp * cr + sy * sr, sy * cp, sy * sp * sr + cy * cr, sy * sp * cr - cy * sr, -sp, cp * sr, cp * cr];
}
function mToRpy(m: M3): number[] {
  const p = Math.asin(Math.max(-1, Math.min(1, -m[6])));
  return [Math.atan2(m[7], m[8]), p, Math.atan2(m[3], m[0])];
}

/**
 * A right hand laid out in a hand frame (forward +z, palm normal +x, thumb side +y) that sits in the palm
 * link's frame under a random rotation `layout` (so the palm link's axes mean nothing), mounted on the
 * root with another random rotation. Names are random; no fingertip links; half the distal links carry a cylinder, the rest
 * no geometry; flexion axes point either way (limits follow); a fixed sensor link and a single-joint
 * camera branch hang off the palm as distractors.
 */
function generateHand(seed: number): Generated {
  let s = seed >>> 0;
  const rnd = () => ((s = (s * 1664525 + 1013904223) >>> 0) / 4294967296);
  const used = new Set<string>();
  const name = () => {
    for (;;) {
      const n = Array.from({ length: 6 }, () => 'bcdfghjkmnpqrstvwxz'[Math.floor(rnd() * 19)]).join('') + Math.floor(rnd() * 90 + 10);
      if (!used.has(n)) { used.add(n); return n; }
    }
  };
  const f = (x: number) => x.toFixed(6);
  const links: string[] = [];
  const joints: string[] = [];
  const root = name(), palm = name();
  const mount = [rnd() * 6 - 3, rnd() * 2 - 1, rnd() * 6 - 3];
  const layout = rpyToM([rnd() * 6 - 3, rnd() * 2 - 1, rnd() * 6 - 3]);
  links.push(`<link name="${root}"/>`, `<link name="${palm}"><collision><origin xyz="${apply(layout, [0, 0, 0.045]).map(f).join(' ')}" rpy="${mToRpy(layout).map(f).join(' ')}"/><geometry><box size="0.03 0.08 0.09"/></geometry></collision></link>`);
  joints.push(`<joint name="${name()}" type="fixed"><parent link="${root}"/><child link="${palm}"/><origin xyz="0.1 -0.2 0.3" rpy="${mount.map(f).join(' ')}"/></joint>`);
  const fingers: Record<string, string[]> = {};
  const tips: Record<string, [number, number, number]> = {};
  /** A chain: first joint at `base` with frame rotation rpy; joints list of [axis (local), lower, upper, length to next]. */
  // Even seeds: the fingers hang from a fixed "knuckle plate" and the thumb from a fixed "thumb mount"
  // (sub-links of the palm), not from the palm link itself.
  const mounts = seed % 2 === 0;
  const mountOf = new Map<string, { link: string; offset: number[] }>();
  if (mounts) {
    for (const [what, offset] of [['plate', [0, 0, 0.06]], ['thumb', [0.015, 0.02, 0.01]]] as [string, number[]][]) {
      const link = name();
      links.push(`<link name="${link}"/>`);
      joints.push(`<joint name="${name()}" type="fixed"><parent link="${palm}"/><child link="${link}"/><origin xyz="${apply(layout, offset).map(f).join(' ')}"/></joint>`);
      mountOf.set(what, { link, offset });
    }
  }
  const chain = (role: string, base: number[], rpy: number[], js: { axis: number[]; lo: number; hi: number; len: number }[], geomLast: boolean) => {
    const mount = mountOf.get(role === 'thumb' ? 'thumb' : 'plate');
    let parent = mount?.link ?? palm;
    const rel = mount ? base.map((v, k) => v - mount.offset[k]) : base;
    const names: string[] = [];
    js.forEach((j, k) => {
      const child = name(), jn = name();
      names.push(jn);
      const isLast = k === js.length - 1;
      const geom = isLast && geomLast
        ? `<collision><origin xyz="0 0 ${f(j.len / 2)}"/><geometry><cylinder radius="0.008" length="${f(j.len)}"/></geometry></collision>`
        : '';
      links.push(`<link name="${child}">${geom}</link>`);
      const origin = k === 0
        ? `xyz="${apply(layout, rel).map(f).join(' ')}" rpy="${mToRpy(mul(layout, rpyToM(rpy))).map(f).join(' ')}"`
        : `xyz="0 0 ${f(js[k - 1].len)}"`;
      joints.push(`<joint name="${jn}" type="revolute"><parent link="${parent}"/><child link="${child}"/><origin ${origin}/><axis xyz="${j.axis.map(f).join(' ')}"/><limit lower="${f(j.lo)}" upper="${f(j.hi)}" effort="1" velocity="${f(6 + rnd() * 4)}"/></joint>`);
      parent = child;
    });
    fingers[role] = names;
    // True tip in the hand frame at the zero pose: base + R(rpy) * (0,0,total length).
    const L = js.reduce((a, j) => a + j.len, 0);
    const [r, p, y] = rpy;
    const dir = [Math.cos(y) * Math.sin(p) * Math.cos(r) + Math.sin(y) * Math.sin(r), Math.sin(y) * Math.sin(p) * Math.cos(r) - Math.cos(y) * Math.sin(r), Math.cos(p) * Math.cos(r)];
    tips[role] = apply(layout, [base[0] + L * dir[0], base[1] + L * dir[1], base[2] + L * dir[2]]) as [number, number, number];
  };
  // Flexion about local y after a random twist γ about the finger's own z: axis = Rz(-γ) (0, ±1, 0).
  const flexJoint = (gamma: number, sign: number, len: number) => ({
    axis: [sign * Math.sin(gamma), sign * Math.cos(gamma), 0], lo: sign > 0 ? -0.1 : -1.6, hi: sign > 0 ? 1.6 : 0.1, len,
  });
  const roles = ['index', 'middle', 'ring'];
  roles.forEach((role, i) => {
    const gamma = rnd() * 2 - 1, sign = rnd() < 0.5 ? 1 : -1;
    const y = 0.026 - 0.026 * i;
    chain(role, [0, y, 0.09 + 0.004 * (i === 1 ? 1 : 0)], [0, 0, gamma], [
      { axis: [Math.cos(gamma), -Math.sin(gamma), 0], lo: -0.3, hi: 0.3, len: 0.0 + 0.012 },
      flexJoint(gamma, sign, 0.042), flexJoint(gamma, sign, 0.028), flexJoint(gamma, sign, 0.024),
    ], i !== 1);
  });
  // Thumb: set back and toward the palm side, pointing up-and-out at 37° from forward.
  const th = -0.6435, sign = rnd() < 0.5 ? 1 : -1;
  chain('thumb', [0.022, 0.03, 0.02], [th, 0, 0], [
    { axis: [1, 0, 0], lo: -0.2, hi: 1.2, len: 0.012 },
    { axis: [0, sign, 0], lo: sign > 0 ? -0.2 : -1.3, hi: sign > 0 ? 1.3 : 0.2, len: 0.038 },
    { axis: [0, sign, 0], lo: sign > 0 ? -0.1 : -1.2, hi: sign > 0 ? 1.2 : 0.1, len: 0.03 },
    { axis: [0, sign, 0], lo: sign > 0 ? -0.1 : -1.2, hi: sign > 0 ? 1.2 : 0.1, len: 0.026 },
  ], true);
  // Distractors: a fixed sensor link and a one-joint camera tilt.
  const sensor = name(), cam = name();
  links.push(`<link name="${sensor}"/>`, `<link name="${cam}"/>`);
  joints.push(`<joint name="${name()}" type="fixed"><parent link="${palm}"/><child link="${sensor}"/><origin xyz="${apply(layout, [-0.02, 0, 0.05]).map(f).join(' ')}"/></joint>`);
  joints.push(`<joint name="${name()}" type="revolute"><parent link="${palm}"/><child link="${cam}"/><origin xyz="${apply(layout, [-0.02, 0, 0.02]).map(f).join(' ')}"/><axis xyz="0 1 0"/><limit lower="-1" upper="1" effort="1" velocity="1"/></joint>`);
  // Shuffle declaration order so URDF order carries no hint.
  const shuffle = <T,>(a: T[]) => { for (let i = a.length - 1; i > 0; i--) { const j = Math.floor(rnd() * (i + 1)); [a[i], a[j]] = [a[j], a[i]]; } return a; };
  const urdf = `<?xml version="1.0"?>\n<robot name="${name()}">\n${shuffle(links).join('\n')}\n${shuffle(joints).join('\n')}\n</robot>\n`;
  return { urdf, palm, fingers, tips, layout };
}

describe('finger discovery on a generated hand with unfamiliar names and no fingertip links', () => {
  let dir: string;
  beforeAll(() => { dir = fs.mkdtempSync(path.join(os.tmpdir(), 'r2r-hand-')); });
  afterAll(() => { fs.rmSync(dir, { recursive: true, force: true }); });

  for (const seed of [1, 2, 3, 4, 5, 6]) {
    it(`seed ${seed}: thumb, order, tips${seed % 2 === 0 ? ' (fingers on fixed sub-links of the palm)' : ''}`, () => {
      const g = generateHand(seed);
      const file = path.join(dir, `hand${seed}.urdf`);
      fs.writeFileSync(file, g.urdf);
      const robot = loadUrdf(file);
      const kin = new Kinematics(robot);
      const model = discoverHand(kin);
      expect(model.palmLink).toBe(g.palm);
      expect(model.fingers.map((f) => f.name)).toEqual(['thumb', 'index', 'middle', 'ring']);
      for (const f of model.fingers) expect(f.joints, f.name).toEqual(g.fingers[f.name]);
      // Tips: from the cylinder where there is one, else extrapolated; within 1 cm of the true end.
      kin.fk(model.qRef);
      const P = kin.pose, po = 12 * model.palmLinkIndex;
      for (const f of model.fingers) {
        expect(f.tipSource).toBe(f.name === 'middle' ? 'extrapolated' : 'geometry');
        const w = new Float64Array(3);
        kin.pointWorld(f.tipLinkIndex, f.tipLocal, w);
        const x = w[0] - P[po + 9], y = w[1] - P[po + 10], z = w[2] - P[po + 11];
        const local = [P[po] * x + P[po + 3] * y + P[po + 6] * z, P[po + 1] * x + P[po + 4] * y + P[po + 7] * z, P[po + 2] * x + P[po + 5] * y + P[po + 8] * z];
        const err = Math.hypot(local[0] - g.tips[f.name][0], local[1] - g.tips[f.name][1], local[2] - g.tips[f.name][2]);
        expect(err, `${f.name} tip error`).toBeLessThan(0.01);
      }
      // Palm frame = the hidden layout's +z (forward), +x (normal), +y (thumb side).
      const dotp = (a: number[], b: number[]) => a[0] * b[0] + a[1] * b[1] + a[2] * b[2];
      expect(dotp(model.frame.forward, apply(g.layout, [0, 0, 1]))).toBeGreaterThan(0.95);
      expect(dotp(model.frame.normal, apply(g.layout, [1, 0, 0]))).toBeGreaterThan(0.95);
      expect(dotp(model.frame.thumbSide, apply(g.layout, [0, 1, 0]))).toBeGreaterThan(0.95);
      // The camera tilt joint is not part of any finger.
      expect(model.dofs.length).toBe(kin.nq - 1);
    });
  }

  const KP = sharedPath(KEYPOINTS);
  (KP ? it : it.skip)('retargets the keypoints onto the generated hand: limits, no penetration, curl follows', () => {
    const g = generateHand(7);
    const file = path.join(dir, 'hand7.urdf');
    fs.writeFileSync(file, g.urdf);
    const track = importPose(KP!);
    const lm = handLandmarks(track, 'right')!;
    const T = track.timestamps.length;
    const m = retargetHand(track, file);
    const Q = m.quality as Record<string, any>;
    expect(Q.joint_limit_violations).toBe(0);
    expect(Q.velocity_limit_violations).toBe(0);
    expect(Q.penetration_max_depth_m).toBeLessThan(0.002);
    expect(Q.fingertip_direction_error_mean_deg).toBeLessThan(10);
    const kin = new Kinematics(loadUrdf(file));
    const model = discoverHand(kin);
    for (const f of model.fingers.slice(1)) {
      const c = corr(humanCurl(lm, T, f.name), fingerFlex(m.q, kin.nq, T, f));
      expect(c, `${f.name} curl correlation ${c.toFixed(3)}`).toBeGreaterThan(0.7);
    }
  });
});

describeShared('Dex3 hands inside the G1 (dof subset)', [G1, KEYPOINTS], () => {
  let kin: Kinematics;
  let track: PoseTrack;
  beforeAll(() => {
    kin = new Kinematics(loadUrdf(shared(G1)));
    track = importPose(shared(KEYPOINTS));
  });

  it('finds each Dex3 hand: thumb + index + middle, tips at the far end of the last links meshes', () => {
    for (const side of ['left', 'right'] as const) {
      const dofs = kin.dofNames.filter((n) => n.startsWith(`${side}_hand_`));
      const byDofs = discoverHand(kin, { side, dofs });
      const bySide = discoverHand(kin, { side });
      for (const model of [byDofs, bySide]) {
        expect(model.palmLink).toBe(`${side}_hand_palm_link`);
        expect(model.fingers.map((f) => f.name)).toEqual(['thumb', 'index', 'middle']);
        expect(model.fingers[0].joints).toEqual([0, 1, 2].map((i) => `${side}_hand_thumb_${i}_joint`));
        expect(model.fingers[1].joints).toEqual([0, 1].map((i) => `${side}_hand_index_${i}_joint`));
        expect(model.fingers[2].joints).toEqual([0, 1].map((i) => `${side}_hand_middle_${i}_joint`));
        for (const f of model.fingers) expect(f.tipSource).toBe('geometry');
        expect(model.dofs.map((d) => kin.dofNames[d]).sort()).toEqual(dofs.slice().sort());
      }
    }
    // Two hands and no hint: a clear error, not a guess.
    expect(() => discoverHand(kin)).toThrow(UserError);
    expect(isHandRobot(kin)).toBe(false);
  });

  it('solves the right Dex3 fingers from the keypoints; body joints untouched, result independent of the arm pose', () => {
    const lm = handLandmarks(track, 'right')!;
    const T = track.timestamps.length;
    const dofs = kin.dofNames.filter((n) => n.startsWith('right_hand_'));
    const solve = (armPose: boolean) => {
      const hr = createHandRetargeter(kin, { side: 'right', dofs });
      hr.calibrate(measureHumanHand(lm, T));
      const q = new Float64Array(kin.nq);
      if (armPose) {
        for (const [n, v] of Object.entries({ right_shoulder_pitch_joint: -0.8, right_shoulder_roll_joint: -0.4, right_elbow_joint: 0.9, right_wrist_yaw_joint: 0.5, waist_yaw_joint: 0.3 })) q[kin.dofIndex(n)] = v;
      }
      const body = Float64Array.from(q);
      const out = new Float64Array(T * kin.nq);
      for (let t = 0; t < T; t++) {
        expect(hr.solveFrame(lm.subarray(63 * t, 63 * t + 63), q, 1 / 30)).toBe(true);
        out.set(q, t * kin.nq);
        for (let d = 0; d < kin.nq; d++) if (!hr.dofs.includes(d)) expect(q[d]).toBe(body[d]);
      }
      return { out, hr };
    };
    const a = solve(false), b = solve(true);
    let maxDiff = 0;
    for (let k = 0; k < a.out.length; k++) if (a.hr.dofs.includes(k % kin.nq)) maxDiff = Math.max(maxDiff, Math.abs(a.out[k] - b.out[k]));
    expect(maxDiff).toBeLessThan(1e-6);
    // Limits and curl.
    for (let t = 0; t < T; t++) for (const d of a.hr.dofs) {
      const v = a.out[t * kin.nq + d];
      expect(v >= kin.lower[d] - 1e-9 && v <= kin.upper[d] + 1e-9).toBe(true);
    }
    for (const f of a.hr.fingers.slice(1)) {
      const c = corr(humanCurl(lm, T, f.name), fingerFlex(a.out, kin.nq, T, f));
      expect(c, `${f.name} curl correlation ${c.toFixed(3)}`).toBeGreaterThan(0.7);
    }
  });
});
