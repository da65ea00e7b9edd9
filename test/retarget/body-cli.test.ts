/**
 * Retargeting interface and robustness: a person facing backwards or sideways at the start gives the same
 * robot motion; the `retarget` CLI writes motion .npz and GMR-style .npz that numpy reads; configs
 * override discovery and are checked; G1 with Dex3 hands solves body and fingers together.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { describeShared, shared, PROJECT_ROOT } from '../helpers/shared.ts';
import { runCli } from '../helpers/cli.ts';
import { pythonWith, runPython } from '../helpers/python.ts';
import { importPose } from '../../src/pose/import.ts';
import { saveTrack, type PoseTrack } from '../../src/pose/track.ts';
import { loadUrdf } from '../../src/robot/urdf.ts';
import { loadMotion } from '../../src/robot/motion.ts';
import { retarget, decimateTrack, parseRobotConfig, loadRobotConfig, type RetargetReport } from '../../src/retarget/index.ts';
import { retargetFile } from '../../src/retarget/run.ts';

const WALK = 'motions/cmu_small_gods_game/cmu_104_02_neutral_male_walk.bvh';
const HAMMER = 'motions/cmu_small_gods_game/cmu_62_07_hammering_a_nail.bvh';
const HAND = 'keypoints/dex_retargeting_human_joint_right.npy';
const G1 = 'robots/unitree_g1/g1_29dof_rev_1_0.urdf';
const G1H = 'robots/unitree_g1/g1_29dof_with_hand_rev_1_0.urdf';
const H1 = 'robots/unitree_h1/urdf/h1.urdf';
const ALLEGRO = 'hands/allegro_right/allegro_hand_right.urdf';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'r2r-retarget-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** The same clip turned by `angle` about the vertical and moved: the person faces another way from frame 0. */
function turned(track: PoseTrack, angle: number, shift: [number, number]): PoseTrack {
  const c = Math.cos(angle), s = Math.sin(angle);
  const p = new Float32Array(track.positions.length);
  for (let i = 0; i < p.length; i += 3) {
    const x = track.positions[i], y = track.positions[i + 1];
    p[i] = c * x - s * y + shift[0];
    p[i + 1] = s * x + c * y + shift[1];
    p[i + 2] = track.positions[i + 2];
  }
  return { ...track, positions: p };
}

function q(m: { quality?: Record<string, unknown> }): RetargetReport {
  return m.quality as unknown as RetargetReport;
}

describeShared('retarget: robustness, CLI, configs, body + fingers', [WALK, HAMMER, HAND, G1, G1H, H1, ALLEGRO], () => {
  const walk = decimateTrack(importPose(shared(WALK)), { fps: 60, duration: 2.5 });
  const g1 = loadUrdf(shared(G1));
  // The walk retargeted with default options: the reference of the first two tests, solved once.
  let walkG1: ReturnType<typeof retarget> | undefined;
  const walkOnG1 = () => (walkG1 ??= retarget(walk, g1));

  it('a person facing backwards or sideways at the start gives the same joint motion', () => {
    const ref = walkOnG1();
    const n = ref.jointNames.length;
    for (const angle of [Math.PI, Math.PI / 2, -2.2]) {
      const m = retarget(turned(walk, angle, [3, -2]), g1);
      expect(q(m).joint_limit_violations).toBe(0);
      expect(q(m).velocity_limit_violations).toBe(0);
      expect(q(m).keypoint_error_mean_m).toBeLessThan(q(ref).keypoint_error_mean_m * 1.2 + 0.003);
      expect(q(m).stance_skate_mean_cm_s).toBeLessThan(2);
      // Joint angles do not depend on where the person faces.
      let sum = 0;
      for (let i = 0; i < m.q.length; i++) sum += Math.abs(m.q[i] - ref.q[i]);
      expect(sum / m.q.length).toBeLessThan(0.02);
      // The root turned with the person: heading of frame 0 differs by the angle.
      const yaw = (k: Float32Array) => Math.atan2(2 * (k[0] * k[3] + k[1] * k[2]), 1 - 2 * (k[2] * k[2] + k[3] * k[3]));
      let d = yaw(m.rootQuat.subarray(0, 4)) - yaw(ref.rootQuat.subarray(0, 4)) - angle;
      d = Math.atan2(Math.sin(d), Math.cos(d));
      expect(Math.abs(d)).toBeLessThan(0.05);
      expect(n).toBe(29);
    }
  });

  it('smoothing after the solve lowers jerk and keeps limits, velocity limits and feet', () => {
    const raw = q(retarget(walk, g1, { postSmoothing: 0 }));
    const smooth = q(walkOnG1());
    expect(smooth.joint_limit_violations).toBe(0);
    expect(smooth.velocity_limit_violations).toBe(0);
    expect(smooth.self_collision_max_depth_m).toBeLessThanOrEqual(0.01);
    expect(smooth.mean_jerk_rad_s3).toBeLessThan(raw.mean_jerk_rad_s3);
    // Legs and root are untouched: the feet are exactly as solved.
    expect(smooth.stance_skate_mean_cm_s).toBe(raw.stance_skate_mean_cm_s);
    expect(smooth.keypoint_error_mean_m).toBeLessThan(raw.keypoint_error_mean_m + 0.003);
  });

  it('a video-like degraded clip (1.5 cm jitter, 10 % of joints dropped) keeps the limits and feet', () => {
    const clean = decimateTrack(importPose(shared(WALK)), { fps: 30, duration: 4 });
    let seed = 7;
    const rnd = () => { seed = (seed * 1103515245 + 12345) % 2147483648; return seed / 2147483648; };
    const gauss = () => Math.sqrt(-2 * Math.log(rnd() + 1e-12)) * Math.cos(2 * Math.PI * rnd());
    const J = clean.jointNames.length, T = clean.timestamps.length;
    const pos = Float32Array.from(clean.positions), conf = Float32Array.from(clean.confidence);
    for (let t = 0; t < T; t++) for (let j = 0; j < 19; j++) {
      const k = t * J + j;
      if (rnd() < 0.1) { pos[3 * k] = pos[3 * k + 1] = pos[3 * k + 2] = NaN; conf[k] = 0; continue; }
      for (let c = 0; c < 3; c++) pos[3 * k + c] += 0.015 * gauss();
    }
    // Tagged as estimated from video: the input is smoothed more (0.05 s instead of 0.012 s).
    const noisy: PoseTrack = { ...clean, positions: pos, confidence: conf, source: { format: 'capture' } };
    const a = q(retarget(clean, g1)), b = q(retarget(noisy, g1));
    expect(b.joint_limit_violations).toBe(0);
    expect(b.velocity_limit_violations).toBe(0);
    expect(b.self_collision_max_depth_m).toBeLessThanOrEqual(0.01);
    // Skating on the robot's feet (src/robot/stance.ts): rare, and not much more than on the clean clip.
    expect(b.skate_frames / b.frames, `skate frames ${b.skate_frames} (clean ${a.skate_frames}) of ${b.frames}`).toBeLessThan(0.1);
    expect(b.stance_float_mean_cm).toBeLessThan(1);
    // (+0.02 m: the noisy clip's shorter stance runs leave more swing feet under the landing cone; 0.018 measured.)
    expect(b.keypoint_error_mean_m).toBeLessThan(a.keypoint_error_mean_m + 0.02);
    expect(b.mean_jerk_rad_s3).toBeLessThan(2 * a.mean_jerk_rad_s3);
    // The same noisy clip smoothed only as lightly as mocap is jerkier.
    const light = q(retarget(noisy, g1, { smoothing: 0.012 }));
    expect(light.mean_jerk_rad_s3).toBeGreaterThan(2 * b.mean_jerk_rad_s3);
  });

  it('CLI: retarget a pose track .npz onto the G1, --json prints the quality report; the motion reads back', () => {
    const out = path.join(tmp, 'walk.g1.npz');
    const trackFile = path.join(tmp, 'walk.track.npz');
    saveTrack(trackFile, importPose(shared(WALK)));
    const r = runCli(['retarget', trackFile, '--robot', shared(G1), '--out', out, '--duration', '1.5', '--fps', '30', '--json']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const j = JSON.parse(r.stdout);
    expect(j.kind).toBe('body');
    expect(j.quality.frames).toBe(46);
    expect(j.quality.joint_limit_violations).toBe(0);
    expect(j.quality.velocity_limit_violations).toBe(0);
    expect(j.quality.frames_per_second).toBeGreaterThan(0);
    expect(j.mapping.keypoints.left_knee.link).toBe('left_knee_link');
    const m = loadMotion(out);
    expect(m.jointNames.length).toBe(29);
    expect(m.q.length).toBe(46 * 29);
    expect(m.robot.urdf_sha256).toBe(g1.sha256);
    expect((m.quality as Record<string, unknown>).stance_skate_mean_cm_s).toBe(j.quality.stance_skate_mean_cm_s);
    // Stance flags ride along per frame; walking alternates feet.
    const st = m.extras!.stance;
    expect(st.shape).toEqual([46, 2]);
    const left = Array.from({ length: 46 }, (_, t) => Number(st.data[2 * t]));
    expect(left.some((v) => v === 1) && left.some((v) => v === 0)).toBe(true);
  });

  it('a track without a body is refused with the joints it lacks', () => {
    const hand = importPose(shared(HAND));
    expect(() => retarget(hand, g1, { duration: 0.5 })).toThrow(/lacks body joints needed for retargeting: left_hip/);
    expect(() => retargetFile(hand, g1, {})).toThrow(/only hand landmarks/);
  });

  it('CLI: --format gmr writes GMR-style fields (root_rot x,y,z,w) that numpy reads alone', (ctx) => {
    const out = path.join(tmp, 'walk.gmr.npz');
    const r = runCli(['retarget', shared(WALK), '--robot', shared(G1), '--out', out, '--duration', '1.5', '--fps', '30', '--format', 'gmr']);
    expect(r.code).toBe(0);
    // Human-readable output names the robot and the numbers.
    expect(r.stdout).toMatch(/g1_29dof_rev_1_0 \(body\): 46 frames at 30 fps, \d+ frames\/s solved/);
    expect(r.stdout).toMatch(/limit violations 0, velocity violations 0/);
    // The same run as the previous test's (there from the saved track, here from the BVH), in the reel2real layout.
    const ref = path.join(tmp, 'walk.g1.npz');
    const py = pythonWith(['numpy']);
    if (!py) return ctx.skip('no Python with numpy: GMR file not read back by numpy');
    const res = JSON.parse(runPython(py, `
import json, sys, numpy as np
g = np.load(sys.argv[1]); m = np.load(sys.argv[2])
meta = json.loads(g["meta.json"])
w, x, y, z = m["root_quat"].T
print(json.dumps({
  "keys": sorted(k for k in g.files),
  "fps": float(g["fps"]), "dof": list(g["dof_pos"].shape), "bodies": list(g["local_body_pos"].shape),
  "order": meta["quaternion_order"], "nlinks": len(meta["link_body_list"]), "first": meta["link_body_list"][0],
  "rot_matches": bool(np.allclose(g["root_rot"], np.stack([x, y, z, w], 1))),
  "dof_matches": bool(np.array_equal(g["dof_pos"], m["q"])),
  "pos_matches": bool(np.array_equal(g["root_pos"], m["root_pos"])),
}))`, [out, ref]));
    expect(res.keys).toEqual(expect.arrayContaining(['fps', 'root_pos', 'root_rot', 'dof_pos', 'local_body_pos', 'meta.json']));
    expect(res.fps).toBe(30);
    expect(res.dof).toEqual([46, 29]);
    expect(res.bodies[0]).toBe(46);
    expect(res.bodies[1]).toBe(res.nlinks);
    expect(res.first).toBe('pelvis');
    expect(res.order).toBe('xyzw');
    expect(res.rot_matches).toBe(true);
    expect(res.dof_matches).toBe(true);
    expect(res.pos_matches).toBe(true);
  });

  it('CLI: a hand-only track onto a hand URDF goes to the hand retargeter', () => {
    const out = path.join(tmp, 'hand.allegro.npz');
    const r = runCli(['retarget', shared(HAND), '--robot', shared(ALLEGRO), '--out', out, '--duration', '5']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/allegro.* \(hand\): 151 frames at 30 fps/);
    const m = loadMotion(out);
    expect(m.jointNames.length).toBe(16);
    expect((m.quality as Record<string, number>).joint_limit_violations).toBe(0);
  });

  it('CLI: bad input is one line naming the file, no output written', () => {
    const out = path.join(tmp, 'never.npz');
    const missing = runCli(['retarget', path.join(tmp, 'nope.bvh'), '--robot', shared(G1), '--out', out]);
    expect(missing.code).toBe(1);
    expect(missing.stderr.trim().split('\n')).toHaveLength(1);
    expect(missing.stderr).toMatch(/^reel2real: .*nope\.bvh: no such file/);
    const badCfg = path.join(tmp, 'bad.yaml');
    fs.writeFileSync(badCfg, 'mapping:\n  left_kne: left_knee_link\n');
    const cfg = runCli(['retarget', shared(WALK), '--robot', shared(G1), '--out', out, '--config', badCfg, '--duration', '0.5']);
    expect(cfg.code).toBe(1);
    expect(cfg.stderr).toMatch(/bad\.yaml: unknown mapping key "left_kne"/);
    // --no-self-collision is accepted and turns the proxies off.
    const noCol = runCli(['retarget', shared(WALK), '--robot', shared(H1), '--out', path.join(tmp, 'nc.npz'), '--duration', '0.3', '--no-self-collision', '--json']);
    expect(noCol.code).toBe(0);
    expect(JSON.parse(noCol.stdout).mapping.self_collision).toBe(false);
    const handRobot = runCli(['retarget', shared(WALK), '--robot', shared(ALLEGRO), '--out', out, '--duration', '0.5']);
    expect(handRobot.code).toBe(1);
    expect(handRobot.stderr).toMatch(/is a hand, but the track has no hand landmarks/);
    expect(fs.existsSync(out)).toBe(false);
  });

  it('a config overrides discovery, scales and weights; a missing link is named', () => {
    const cfg = parseRobotConfig('mapping:\n  left_hand: left_wrist_pitch_link\n  right_hand: right_wrist_pitch_link\nlimb_scale: { arms: 0.9 }\nweights: { wrist: 3 }\noffsets: { left_wrist: [0.04, 0, 0] }\n', 'g1.yaml');
    const m = retarget(walk, g1, { config: cfg, duration: 0.5 });
    const mp = m.mapping as { keypoints: Record<string, { link: string }>; found_by: Record<string, string>; robot_lengths_m: Record<string, number> };
    expect(mp.keypoints.left_wrist.link).toBe('left_wrist_pitch_link');
    expect((mp.keypoints.left_wrist as unknown as { local: number[] }).local).toEqual([0.04, 0, 0]);
    expect((mp.keypoints.right_wrist as unknown as { local: number[] }).local).toEqual([0, 0, 0]);
    expect(mp.found_by.left_hand).toBe('config');
    expect(mp.found_by.left_knee).toBe('tree');
    const plain = retarget(walk, g1, { duration: 0.5 });
    const pl = plain.mapping as typeof mp;
    expect(mp.robot_lengths_m.upperarm).toBeCloseTo(pl.robot_lengths_m.upperarm * 0.9, 6);
    expect(() => retarget(walk, g1, { config: parseRobotConfig('mapping:\n  torso: no_such_link\n', 'x.yaml'), duration: 0.5 })).toThrow(/no_such_link/);
    expect(() => parseRobotConfig('weights: { wrist: high }\n', 'w.yaml')).toThrow(/weights\.wrist must be a number/);
    expect(() => parseRobotConfig('offsets: { left_wrist: [1, 2] }\n', 'o.yaml')).toThrow(/offsets\.left_wrist must be \[x, y, z\]/);
    // The shipped example names every key and is valid for the G1 (its links exist there).
    const example = loadRobotConfig(path.join(PROJECT_ROOT, 'configs/robots/example.yaml'));
    expect(Object.keys(example.stance ?? {})).toHaveLength(6);
    const withExample = retarget(walk, g1, { config: example, duration: 0.3 });
    expect(q(withExample).joint_limit_violations).toBe(0);
  });

  it('G1 with Dex3 hands: wrist from the body solve, finger joints from the hand landmarks, in one motion', () => {
    // A track with body and a right hand: the hammering body at 30 fps, the recorded right-hand landmarks
    // placed at the body's right wrist (the finger solve is palm-relative).
    const body = decimateTrack(importPose(shared(HAMMER)), { fps: 30 });
    const hand = importPose(shared(HAND));
    const T = Math.min(body.timestamps.length, hand.timestamps.length, 150);
    const bJ = body.jointNames.length, hJ = hand.jointNames.length, J = bJ + hJ;
    const rw = body.jointNames.indexOf('right_wrist'), hw = hand.jointNames.indexOf('right_hand_wrist');
    const positions = new Float32Array(T * J * 3), confidence = new Float32Array(T * J);
    for (let t = 0; t < T; t++) {
      positions.set(body.positions.subarray(3 * bJ * t, 3 * bJ * (t + 1)), 3 * J * t);
      confidence.set(body.confidence.subarray(bJ * t, bJ * (t + 1)), J * t);
      for (let j = 0; j < hJ; j++) {
        for (let k = 0; k < 3; k++) positions[3 * (J * t + bJ + j) + k] = hand.positions[3 * (hJ * t + j) + k] - hand.positions[3 * (hJ * t + hw) + k] + body.positions[3 * (bJ * t + rw) + k];
        confidence[J * t + bJ + j] = hand.confidence[hJ * t + j];
      }
    }
    const track: PoseTrack = {
      positions, confidence, timestamps: body.timestamps.slice(0, T), fps: 30, source: { format: 'test' },
      jointNames: [...body.jointNames, ...hand.jointNames],
      parents: [...body.parents, ...hand.parents.map((p) => (p < 0 ? rw : p + bJ))],
    };
    const robot = loadUrdf(shared(G1H));
    const r = retargetFile(track, robot, {});
    expect(r.kind).toBe('body');
    const m = r.motion, n = m.jointNames.length;
    expect(n).toBe(43);
    expect(q(m).joint_limit_violations).toBe(0);
    expect(q(m).velocity_limit_violations).toBe(0);
    expect(q(m).self_collision_max_depth_m).toBeLessThanOrEqual(0.01);
    expect(q(m).keypoint_error_mean_m).toBeLessThan(0.05);
    const range = (name: string) => {
      const i = m.jointNames.indexOf(name);
      let lo = Infinity, hi = -Infinity;
      for (let t = 0; t < T; t++) { lo = Math.min(lo, m.q[t * n + i]); hi = Math.max(hi, m.q[t * n + i]); }
      return hi - lo;
    };
    // Right fingers follow the landmarks; the left hand has none and stays still.
    for (const f of ['right_hand_index_1_joint', 'right_hand_middle_1_joint', 'right_hand_thumb_2_joint']) expect(range(f)).toBeGreaterThan(0.2);
    for (const f of ['left_hand_index_1_joint', 'left_hand_middle_1_joint', 'left_hand_thumb_2_joint']) expect(range(f)).toBe(0);
    // Index flexion follows the human's: the robot's index base joint against the human MCP flexion.
    const i1 = m.jointNames.indexOf('right_hand_index_0_joint');
    const lm = (t: number, name: string) => { const j = hand.jointNames.indexOf(`right_hand_${name}`); return [0, 1, 2].map((k) => hand.positions[3 * (hJ * t + j) + k]); };
    const curl: number[] = [], rob: number[] = [];
    for (let t = 0; t < T; t++) {
      const a = lm(t, 'wrist'), b = lm(t, 'index_finger_mcp'), c = lm(t, 'index_finger_pip');
      const u = a.map((v, k) => b[k] - v), v = b.map((x, k) => c[k] - x);
      curl.push(Math.acos((u[0] * v[0] + u[1] * v[1] + u[2] * v[2]) / (Math.hypot(...u) * Math.hypot(...v))));
      rob.push(m.q[t * n + i1]);
    }
    const mean = (x: number[]) => x.reduce((s, y) => s + y, 0) / x.length;
    const mc = mean(curl), mr = mean(rob);
    let sxy = 0, sxx = 0, syy = 0;
    for (let t = 0; t < T; t++) { sxy += (curl[t] - mc) * (rob[t] - mr); sxx += (curl[t] - mc) ** 2; syy += (rob[t] - mr) ** 2; }
    expect(Math.abs(sxy / Math.sqrt(sxx * syy))).toBeGreaterThan(0.7);
  });
});
