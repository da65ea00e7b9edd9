/**
 * Hand retargeting around the core: optional YAML overrides (parsed strictly, applied over discovery),
 * tracks with missing frames, a left hand (mirrored landmarks onto the G1's left Dex3), and the finger
 * solvers the body retargeter calls.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { corr, fingerFlex, humanCurl } from './hand-helpers.ts';
import { describeShared, shared } from '../helpers/shared.ts';
import { importPose } from '../../src/pose/import.ts';
import type { PoseTrack } from '../../src/pose/track.ts';
import { loadUrdf } from '../../src/robot/urdf.ts';
import { Kinematics } from '../../src/robot/kinematics.ts';
import { UserError } from '../../src/errors.ts';
import {
  createHandRetargeter, discoverHand, fingerSolvers, handLandmarks, measureHumanHand, parseHandConfig, retargetHand,
  type HandObjective, type HandRetargeterOptions, type HandState,
} from '../../src/retarget/hand/index.ts';

const KEYPOINTS = 'keypoints/dex_retargeting_human_joint_right.json';
const ALLEGRO = 'hands/allegro_right/allegro_hand_right.urdf';
const INSPIRE = 'hands/inspire_right/inspire_hand_right.urdf';
const G1 = 'robots/unitree_g1/g1_29dof_with_hand_rev_1_0.urdf';

describe('hand config parsing', () => {
  it('accepts every documented field and rejects unknown or ill-typed ones with the file named', () => {
    const c = parseHandConfig(
      'palm_link: p\nside: left\nthumb: t0\nfingers: { index: a, ring: b }\nweights: { pinch: 5, smoothness: 0.01 }\n' +
      'pinch: { enter: 0.02, exit: 0.04, gap: 0.1 }\ncapsule_radius: 0.008\npenetration_margin: 0.001\nvelocity_limits: false\nfilter: { min_cutoff: 2, beta: 10 }\n' +
      'velocity_plan: true\nplan_pinch_weight: 5\nplan_refine: { rounds: 2, pull: 0.01 }\n', 'h.yaml');
    expect(c).toMatchObject({ palm_link: 'p', side: 'left', thumb: 't0', fingers: { index: 'a', ring: 'b' }, weights: { pinch: 5, smoothness: 0.01 }, pinch: { enter: 0.02, exit: 0.04, gap: 0.1 }, velocity_plan: true, plan_pinch_weight: 5, plan_refine: { rounds: 2, pull: 0.01 }, capsule_radius: 0.008, penetration_margin: 0.001, velocity_limits: false, filter: { min_cutoff: 2, beta: 10 } });
    const bad: [string, RegExp][] = [
      ['palm: x\n', /h\.yaml: unknown key "palm"/],
      ['side: up\n', /side must be left or right/],
      ['fingers: { toe: a }\n', /unknown finger "toe"/],
      ['weights: { pinchh: 1 }\n', /unknown weight "pinchh"/],
      ['weights: { pinch: -1 }\n', /weights.pinch must be a non-negative number/],
      ['pinch: { enter: 0.05, exit: 0.03 }\n', /pinch.exit \(0.03\) must be larger than pinch.enter \(0.05\)/],
      ['velocity_limits: 1\n', /velocity_limits must be true or false/],
      ['pinch: { gap: -0.1 }\n', /pinch.gap must be a non-negative number/],
      ['pinch: { width: 1 }\n', /unknown pinch key "width" \(known: enter, exit, gap\)/],
      ['plan_pinch_weight: 0.5\n', /plan_pinch_weight must be a number ≥ 1/],
      ['plan_refine: { rounds: 1.5, pull: 0.01 }\n', /plan_refine.rounds must be a non-negative integer/],
      ['plan_refine: { rounds: 2 }\n', /plan_refine.pull must be a positive number/],
      ['plan_refine: { round: 2, pull: 1 }\n', /unknown plan_refine key "round"/],
      ['filter: { cutoff: 1 }\n', /unknown filter key "cutoff"/],
      ['filter: { min_cutoff: 0 }\n', /filter.min_cutoff must be positive/],
      ['a: [\n', /malformed YAML/],
      ['vectors: { origin: w, task: [a], human: [[0, 8]] }\n', /vectors.scale must be a positive number/],
      ['vectors: { scale: 1, origin: [w, w], task: [a], human: [[0, 8]] }\n', /vectors.origin has 2 links and vectors.task 1/],
      ['vectors: { scale: 1, origin: w, task: [a], human: [[0, 21]] }\n', /vectors.human\[0\] must be a pair of landmark indices 0..20/],
      ['vectors: { scale: 1, origin: w, task: [a, b], human: [[0, 8]] }\n', /one \[j0, j1\] pair per task link \(2\)/],
      ['human_lateral: ring\n', /human_lateral must be pinky or middle/],
      ['free_first_pass: yes please\n', /free_first_pass must be true or false/],
      ['palm_axes: { link: b, forward: [0, 0, 1] }\n', /palm_axes.normal must be a list of 3 numbers/],
    ];
    const v = parseHandConfig('vectors: { scale: 1.6, huber: 0.01, origin: wrist, task: [a, b], human: [[0, 4], [0, 8]] }\nhuman_lateral: middle\npalm_axes: { link: b, forward: [0, 0, 1], normal: [1, 0, 0] }\nfree_first_pass: true\n', 'h.yaml');
    expect(v).toMatchObject({ vectors: { scale: 1.6, huber: 0.01, origin: ['wrist', 'wrist'], task: ['a', 'b'], human: [[0, 4], [0, 8]] }, human_lateral: 'middle', palm_axes: { link: 'b', forward: [0, 0, 1], normal: [1, 0, 0] }, free_first_pass: true });
    for (const [text, re] of bad) {
      expect(() => parseHandConfig(text, 'h.yaml')).toThrow(UserError);
      expect(() => parseHandConfig(text, 'h.yaml')).toThrow(re);
    }
  });
});

describeShared('hand options on real hands', [KEYPOINTS, ALLEGRO, INSPIRE, G1], () => {
  let track: PoseTrack;
  let lm: Float32Array;
  let T: number;
  let dir: string;
  beforeAll(() => {
    track = importPose(shared(KEYPOINTS));
    lm = handLandmarks(track, 'right')!;
    T = track.timestamps.length;
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'r2r-handopt-'));
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('a config file overrides the discovered finger mapping and weights, and is recorded in the motion', () => {
    const kin = new Kinematics(loadUrdf(shared(ALLEGRO)));
    // Swap index and ring by naming their chains.
    const swapped = discoverHand(kin, { fingerMap: { index: 'joint_8.0', ring: 'link_0.0' } });
    expect(swapped.fingers.map((f) => [f.name, f.joints[0]])).toEqual([['thumb', 'joint_12.0'], ['index', 'joint_8.0'], ['middle', 'joint_4.0'], ['ring', 'joint_0.0']]);
    // A wrong thumb on purpose: the chain named wins over the score.
    expect(discoverHand(kin, { thumb: 'link_2.0' }).fingers[0].joints[0]).toBe('joint_0.0');
    expect(() => discoverHand(kin, { thumb: 'no_such_link' })).toThrow(/thumb "no_such_link" is not a link or joint of any finger chain/);

    const file = path.join(dir, 'allegro.yaml');
    fs.writeFileSync(file, 'fingers: { index: joint_8.0, ring: link_0.0 }\nweights: { pinch: 0 }\n');
    const m = retargetHand(track, loadUrdf(shared(ALLEGRO)), { config: file });
    expect((m.mapping as any).config).toBe('allegro.yaml');
    expect((m.mapping as any).fingers.index.joints[0]).toBe('joint_8.0');
    // With index and ring swapped, the robot's joint_0 chain now follows the human ring finger.
    const ring = humanCurl(lm, T, 'ring'), index = humanCurl(lm, T, 'index');
    const nq = kin.nq;
    const flex = (d0: number) => Array.from({ length: T }, (_, t) => m.q[t * nq + d0 + 1] + m.q[t * nq + d0 + 2] + m.q[t * nq + d0 + 3]);
    const j0 = flex(kin.dofIndex('joint_0.0'));
    expect(corr(ring, j0)).toBeGreaterThan(0.7);
    expect(corr(ring, j0)).toBeGreaterThan(corr(index, j0));
    // The config's weights reach the solver: pinch weight 0 leaves the robot's thumb further from the
    // (now joint_8) index tip during human thumb–index pinches than the same mapping with the default weight.
    fs.writeFileSync(file, 'fingers: { index: joint_8.0, ring: link_0.0 }\n');
    const withPinch = retargetHand(track, loadUrdf(shared(ALLEGRO)), { config: file });
    expect((m.quality as any).pinch.robot_distance_mean_m.index).toBeGreaterThan((withPinch.quality as any).pinch.robot_distance_mean_m.index + 0.003);
  });

  it('a cold start anywhere in the clip lands as well as the warm-started solve (no bad first frame)', () => {
    for (const rel of [ALLEGRO, 'hands/shadow_right/shadow_hand_right.urdf']) {
      const kin = new Kinematics(loadUrdf(shared(rel)));
      const warm = createHandRetargeter(kin, { velocityLimits: false });
      warm.calibrate(measureHumanHand(lm, T));
      const q = new Float64Array(warm.model.qRef);
      const warmErr: number[] = [];
      for (let t = 0; t < T; t++) {
        warm.solveFrame(lm.subarray(63 * t, 63 * t + 63), q);
        warmErr.push(warm.stats.tipError.reduce((a, b) => a + b, 0) / warm.stats.tipError.length);
      }
      const cold = createHandRetargeter(kin, { velocityLimits: false });
      cold.calibrate(measureHumanHand(lm, T));
      for (let t = 5; t < T; t += 41) {
        cold.reset();
        const qc = new Float64Array(cold.model.qRef);
        cold.solveFrame(lm.subarray(63 * t, 63 * t + 63), qc);
        const e = cold.stats.tipError.reduce((a, b) => a + b, 0) / cold.stats.tipError.length;
        expect(e, `${path.basename(rel)} frame ${t}: cold ${e.toFixed(4)} vs warm ${warmErr[t].toFixed(4)}`).toBeLessThan(warmErr[t] + 0.005);
      }
    }
  });

  it('objectives compose: a custom term joins the defaults, and left-out terms are still measured', () => {
    const kin = new Kinematics(loadUrdf(shared(ALLEGRO)));
    const yaw = kin.dofIndex('joint_12.0');
    // A user-defined objective: hold the thumb's first joint at 0.8 rad (weight 100 per rad²).
    const hold: HandObjective = {
      name: 'hold-thumb-yaw',
      accumulate(s: HandState) {
        const a = Array.from(s.dofs).indexOf(yaw);
        const e = s.q[yaw] - 0.8;
        if (!s.costOnly) { s.H[a * s.nv + a] += 100; s.g[a] -= 100 * e; }
        return 100 * e * e;
      },
    };
    const run = (objectives?: HandRetargeterOptions['objectives']) => {
      // Without the collision limit (it would also keep the fingers apart).
      const hr = createHandRetargeter(kin, { objectives, collision: false });
      hr.calibrate(measureHumanHand(lm, T));
      const q = new Float64Array(hr.model.qRef);
      let yawDev = 0, deepest = 0;
      for (let t = 0; t < T; t++) {
        hr.solveFrame(lm.subarray(63 * t, 63 * t + 63), q, 1 / 30);
        yawDev = Math.max(yawDev, Math.abs(q[yaw] - 0.8));
        deepest = Math.max(deepest, hr.stats.penetration);
      }
      return { yawDev, deepest, names: hr.objectives.map((o) => o.name) };
    };
    const held = run((d) => [d.wristTip, d.fingerShape, d.pinch, d.penetration, d.smoothness, hold]);
    expect(held.names).toEqual(['wrist-tip', 'finger-shape', 'thumb-pinch', 'finger-penetration', 'smoothness', 'hold-thumb-yaw']);
    const free = run();
    expect(held.yawDev).toBeLessThan(0.02);
    expect(free.yawDev).toBeGreaterThan(0.2);
    // Without the penetration term the fingers go through each other, and the stats still say so.
    const noPen = run((d) => [d.wristTip, d.fingerShape, d.pinch, d.smoothness]);
    expect(noPen.deepest).toBeGreaterThan(0.01);
    expect(free.deepest).toBeLessThan(0.004);
  });

  it('the one-euro filter option halves the jerk on jittery landmarks (3 mm noise added here)', () => {
    const robot = loadUrdf(shared(ALLEGRO));
    let seed = 7;
    const rnd = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 4294967296);
    const gauss = () => Math.sqrt(-2 * Math.log(rnd() + 1e-12)) * Math.cos(2 * Math.PI * rnd());
    const noisy: PoseTrack = { ...track, positions: Float32Array.from(track.positions, (v) => v + 0.003 * gauss()) };
    const raw = retargetHand(noisy, robot).quality as Record<string, any>;
    const filtered = retargetHand(noisy, robot, { filter: { minCutoff: 1.5, beta: 20 } }).quality as Record<string, any>;
    expect(filtered.mean_jerk_rad_s3).toBeLessThan(0.5 * raw.mean_jerk_rad_s3);
    expect(filtered.joint_limit_violations).toBe(0);
    // The lag it adds stays small: fingertip error against the unfiltered landmarks within 5 mm.
    expect(filtered.fingertip_error_mean_m).toBeLessThan(raw.fingertip_error_mean_m + 0.005);
  });

  it('frames without the hand hold the last pose and are counted; output stays finite and within limits', () => {
    const robot = loadUrdf(shared(ALLEGRO));
    const kin = new Kinematics(robot);
    // Drop every 7th frame and a 20-frame gap (confidence 0, NaN positions), derived here from the clip.
    const J = track.jointNames.length;
    const positions = Float32Array.from(track.positions), confidence = Float32Array.from(track.confidence);
    const dropped = new Set<number>();
    for (let t = 0; t < T; t++) if (t % 7 === 3 || (t >= 300 && t < 320)) dropped.add(t);
    for (const t of dropped) for (let j = 0; j < J; j++) {
      confidence[t * J + j] = 0;
      positions.fill(NaN, 3 * (t * J + j), 3 * (t * J + j) + 3);
    }
    const holey: PoseTrack = { ...track, positions, confidence };
    const m = retargetHand(holey, robot);
    const Q = m.quality as Record<string, any>;
    expect(Q.missing_frames).toBe(dropped.size);
    expect(Q.solved_frames).toBe(T - dropped.size);
    expect(Q.joint_limit_violations).toBe(0);
    // After the 20-frame gap the robot catches up at its velocity limits: the output stays executable.
    expect(Q.velocity_limit_violations).toBe(0);
    const nq = kin.nq;
    for (const t of dropped) {
      if (t === 0) continue;
      for (let d = 0; d < nq; d++) expect(m.q[t * nq + d]).toBe(m.q[(t - 1) * nq + d]);
    }
    expect(Array.from(m.q).every(Number.isFinite)).toBe(true);
  });

  it('a clip that starts without the hand: no jump from the reference pose to the first solved frame (per-frame and planned)', () => {
    // The first 40 frames blanked (as a captured clip where the hand enters late). Before, those frames held the
    // reference pose and the first solved frame (solved from scratch: no velocity box) jumped from it: velocity-limit
    // violations on captured clips, and on a planned hand the plan spread that jump into the solved frames.
    const J = track.jointNames.length;
    const positions = Float32Array.from(track.positions), confidence = Float32Array.from(track.confidence);
    for (let t = 0; t < 40; t++) for (let j = 0; j < J; j++) { confidence[t * J + j] = 0; positions.fill(NaN, 3 * (t * J + j), 3 * (t * J + j) + 3); }
    const late: PoseTrack = { ...track, positions, confidence };
    for (const [urdf, name] of [[ALLEGRO, 'allegro'], [INSPIRE, 'inspire (velocity plan)']] as const) {
      const robot = loadUrdf(shared(urdf));
      const kin = new Kinematics(robot);
      const m = retargetHand(late, robot);
      const Q = m.quality as Record<string, any>;
      expect(Q.missing_frames, name).toBe(40);
      expect(Q.velocity_limit_violations, name).toBe(0);
      expect(Q.joint_limit_violations, name).toBe(0);
      // The solved frames track as well as in the full clip (within 2 mm on the report's vector error).
      const full = retargetHand(track, robot).quality as Record<string, any>;
      expect(Q.fingertip_error_mean_m, name).toBeLessThan(full.fingertip_error_mean_m + 0.002);
      // No step between the last blanked frame and the first solved one beyond the velocity limit.
      const nq = kin.nq, dt = track.timestamps[40] - track.timestamps[39];
      for (let d = 0; d < nq; d++) expect(Math.abs(m.q[40 * nq + d] - m.q[39 * nq + d]), `${name} ${kin.dofNames[d]}`).toBeLessThanOrEqual(kin.velocityLimit[d] * dt * (1 + 1e-3) + 1e-6);
    }
  });

  it('a left hand: mirrored landmarks onto the G1 left Dex3 follow the curl as on the right', () => {
    const kin = new Kinematics(loadUrdf(shared(G1)));
    const mirrored = Float32Array.from(lm);
    for (let k = 0; k < mirrored.length; k += 3) mirrored[k + 1] = -mirrored[k + 1];
    const hr = createHandRetargeter(kin, { side: 'left', dofs: kin.dofNames.filter((n) => n.startsWith('left_hand_')) });
    hr.calibrate(measureHumanHand(mirrored, T));
    const q = new Float64Array(kin.nq);
    const out: number[][] = hr.fingers.map(() => []);
    for (let t = 0; t < T; t++) {
      hr.solveFrame(mirrored.subarray(63 * t, 63 * t + 63), q, 1 / 30);
      hr.fingers.forEach((f, i) => out[i].push(f.dofs.reduce((s, d, k) => s + f.flexSign[k] * q[d], 0)));
    }
    for (let i = 1; i < hr.fingers.length; i++) {
      const c = corr(humanCurl(mirrored, T, hr.fingers[i].name), out[i]);
      expect(c, `${hr.fingers[i].name} ${c.toFixed(3)}`).toBeGreaterThan(0.7);
    }
  });

  it('retargetHand mirrors a right human hand onto a left robot hand (G1 left Dex3 via dofs)', () => {
    const robot = loadUrdf(shared(G1));
    const kin = new Kinematics(robot);
    const leftDofs = kin.dofNames.filter((n) => n.startsWith('left_hand_'));
    const m = retargetHand(track, robot, { side: 'left', dofs: leftDofs });
    expect((m.mapping as any).side).toBe('left');
    expect((m.mapping as any).human_side).toBe('right');
    expect((m.quality as any).joint_limit_violations).toBe(0);
    const model = discoverHand(kin, { side: 'left', dofs: leftDofs });
    const nq = kin.nq;
    for (const f of model.fingers.slice(1)) {
      expect(corr(humanCurl(lm, T, f.name), fingerFlex(m.q, nq, T, f)), f.name).toBeGreaterThan(0.7);
    }
    // Body joints stay at the reference pose.
    for (let t = 0; t < T; t++) for (let d = 0; d < nq; d++) if (!model.dofs.includes(d)) expect(m.q[t * nq + d]).toBe(Math.fround(model.qRef[d]));
  });

  it('fingerSolvers: the body retargeter hook solves only finger dofs, keeps its own history between frames', () => {
    const kin = new Kinematics(loadUrdf(shared(G1)));
    // Finger links below each hand link, as the body map lists them.
    const below = (hand: string) => kin.linkNames.filter((n, i) => i !== kin.linkIndex(hand) && kin.isAncestor(kin.linkIndex(hand), i));
    const solvers = fingerSolvers(kin, { left: below('left_wrist_yaw_link'), right: below('right_wrist_yaw_link') }, track);
    // Only the right hand has landmarks in this track.
    expect(solvers.length).toBe(1);
    const rightDofs = kin.dofNames.map((n, d) => [n, d] as const).filter(([n]) => n.startsWith('right_hand_')).map(([, d]) => d);
    expect(solvers[0].dofs.slice().sort((a, b) => a - b)).toEqual(rightDofs);
    const q = new Float64Array(kin.nq);
    const seq: number[][] = [];
    for (let t = 0; t < 60; t++) {
      q.fill(0.123); // the body solver may leave anything in the finger dofs
      for (const d of kin.dofNames.keys()) if (!rightDofs.includes(d)) q[d] = 0;
      solvers[0].solveFrame(t, q);
      seq.push(rightDofs.map((d) => q[d]));
      for (let d = 0; d < kin.nq; d++) if (!rightDofs.includes(d)) expect(q[d]).toBe(0);
    }
    // Same as solving directly with the retargeter (warm start from its own previous frame).
    const hr = createHandRetargeter(kin, { side: 'right', dofs: rightDofs });
    hr.calibrate(measureHumanHand(lm, T));
    const q2 = new Float64Array(kin.nq);
    for (let t = 0; t < 60; t++) {
      hr.solveFrame(lm.subarray(63 * t, 63 * t + 63), q2, track.timestamps[t] - (t ? track.timestamps[t - 1] : 0));
      rightDofs.forEach((d, k) => expect(q2[d]).toBeCloseTo(seq[t][k], 9));
    }
  });
});
