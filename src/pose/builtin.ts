/**
 * A built-in human motion, generated procedurally (written for this project; no data file behind it), so
 * the demo and tests have a realistic household-like clip on any clone.
 *
 * `pick-and-place` (7.5 s): a 1.70 m person stands, takes two steps forward, bends to pick up a box from
 * a low table with both hands (hands open, close on the box), stands up carrying it, turns slightly
 * right to set it down on a higher surface, releases it and returns to standing. Full canonical body and
 * both hands' 21 landmarks.
 *
 * Built as a skeleton with fixed segment lengths: the trunk, neck and head from the pelvis by rotations,
 * legs and arms by two-bone analytic IK toward foot and hand targets (so bone lengths are exactly
 * constant and stance feet are exactly planted), fingers as chains of fixed-length phalanges curled by
 * a grip value. Every target is a minimum-jerk (quintic) interpolation between keyframes, so the motion is
 * smooth (continuous acceleration) with no noise.
 */
import { UserError } from '../errors.ts';
import { canonicalSkeleton, HAND_LANDMARKS, type Side } from './skeleton.ts';
import type { PoseTrack } from './track.ts';

export const BUILTIN_MOTIONS = ['pick-and-place'] as const;
export type BuiltinMotionName = (typeof BUILTIN_MOTIONS)[number];

/** Segment lengths (metres) of the built-in person: 1.70 m standing height. */
export const BUILTIN_BODY = {
  height: 1.7,
  pelvisToSpine: 0.12,
  spineToChest: 0.17,
  chestToNeck: 0.19,
  neckToHead: 0.14,
  shoulderUp: 0.14,
  shoulderOut: 0.18,
  hipDown: 0.07,
  hipOut: 0.09,
  thigh: 0.42,
  shank: 0.41,
  upperArm: 0.3,
  forearm: 0.25,
  ankleHeight: 0.08,
  toeHeight: 0.02,
  footForward: 0.137,
  footOut: 0.1,
} as const;

type V = [number, number, number];
const add = (a: V, b: V, k = 1): V => [a[0] + k * b[0], a[1] + k * b[1], a[2] + k * b[2]];
const sub = (a: V, b: V): V => [a[0] - b[0], a[1] - b[1], a[2] - b[2]];
const scl = (a: V, k: number): V => [a[0] * k, a[1] * k, a[2] * k];
const dot = (a: V, b: V) => a[0] * b[0] + a[1] * b[1] + a[2] * b[2];
const norm = (a: V) => Math.hypot(a[0], a[1], a[2]);
const unit = (a: V): V => scl(a, 1 / norm(a));
const cross = (a: V, b: V): V => [a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]];
const lerpV = (a: V, b: V, w: number): V => [a[0] + (b[0] - a[0]) * w, a[1] + (b[1] - a[1]) * w, a[2] + (b[2] - a[2]) * w];

/** Quintic minimum-jerk step 0→1 (zero velocity and acceleration at both ends). */
function mj(s: number): number {
  const x = Math.min(1, Math.max(0, s));
  return x * x * x * (10 - 15 * x + 6 * x * x);
}

/** Keyframed scalar: minimum-jerk between consecutive keys, constant outside. */
function keys(k: [number, number][]): (t: number) => number {
  return (t) => {
    if (t <= k[0][0]) return k[0][1];
    for (let i = 0; i + 1 < k.length; i++) {
      const [t0, v0] = k[i];
      const [t1, v1] = k[i + 1];
      if (t <= t1) return v0 + (v1 - v0) * mj((t - t0) / (t1 - t0));
    }
    return k[k.length - 1][1];
  };
}

function keysV(k: [number, V][]): (t: number) => V {
  const f = [0, 1, 2].map((a) => keys(k.map(([t, v]) => [t, v[a]])));
  return (t) => [f[0](t), f[1](t), f[2](t)];
}

/** Direction leaning forward by `pitch` (about the left axis) after turning by `yaw` about Z. */
function leanDir(pitch: number, yaw: number): V {
  return [Math.sin(pitch) * Math.cos(yaw), Math.sin(pitch) * Math.sin(yaw), Math.cos(pitch)];
}

/** Rotate a body-frame vector (x forward, y left, z up) by pitch (forward lean) then yaw. */
function bodyVec(v: V, pitch: number, yaw: number): V {
  // Ry(pitch): forward lean maps +z toward +x.
  const c = Math.cos(pitch), s = Math.sin(pitch);
  const x = c * v[0] + s * v[2];
  const z = -s * v[0] + c * v[2];
  const cy = Math.cos(yaw), sy = Math.sin(yaw);
  return [cy * x - sy * v[1], sy * x + cy * v[1], z];
}

/**
 * Two-bone IK: the middle joint for a chain root `a` reaching toward `target` with bone lengths l1, l2,
 * bending toward `pole`. Returns [middle, end]; the end is the target unless it is out of reach.
 */
function twoBone(a: V, target: V, l1: number, l2: number, pole: V): [V, V] {
  const d = sub(target, a);
  const dist = norm(d);
  // The keyframes are designed inside reach (at most 98% extension); anything else is a bug here.
  if (dist > 0.98 * (l1 + l2) || dist < Math.abs(l1 - l2) + 0.02) throw new Error(`built-in motion: IK target out of reach (${dist.toFixed(3)} m for bones ${l1} + ${l2})`);
  const u = unit(d);
  const cosA = (l1 * l1 + dist * dist - l2 * l2) / (2 * l1 * dist);
  const sinA = Math.sqrt(Math.max(0, 1 - cosA * cosA));
  const v = unit(sub(pole, scl(u, dot(pole, u))));
  const mid = add(add(a, u, l1 * cosA), v, l1 * sinA);
  return [mid, add(a, d)];
}

// ---- hand model -------------------------------------------------------------------------------------

/** Per finger: MCP position in the hand frame (forward along the palm, toward the thumb, toward the palm side), phalanx lengths, spread. */
const FINGERS = [
  { name: 'index_finger', mcp: [0.088, 0.024, 0] as V, len: [0.042, 0.025, 0.021], spread: 0.08 },
  { name: 'middle_finger', mcp: [0.09, 0.004, 0] as V, len: [0.046, 0.029, 0.022], spread: 0 },
  { name: 'ring_finger', mcp: [0.085, -0.015, 0] as V, len: [0.043, 0.027, 0.021], spread: -0.06 },
  { name: 'pinky', mcp: [0.078, -0.032, 0] as V, len: [0.034, 0.02, 0.019], spread: -0.14 },
];
const THUMB = { cmc: [0.025, 0.022, 0.012] as V, len: [0.042, 0.032, 0.028] };

/**
 * The 21 hand landmarks for a hand frame at `wrist` with fingers along `f`, palm facing `n`, grip g in
 * [0,1] (0 open, 1 fist). Written into `out` (21×3) in MediaPipe order.
 */
function handLandmarks(side: Side, wrist: V, f: V, n: V, g: number, out: Float32Array, o: number): void {
  const s = side === 'right' ? cross(f, n) : cross(n, f); // toward the thumb
  const at = (p: V): V => add(add(add(wrist, f, p[0]), s, p[1]), n, p[2]);
  const put = (i: number, p: V) => { out[o + 3 * i] = p[0]; out[o + 3 * i + 1] = p[1]; out[o + 3 * i + 2] = p[2]; };
  put(0, wrist);
  // Thumb: from the CMC along an abducted direction, curling toward the palm with grip.
  const cmc = at(THUMB.cmc);
  put(1, cmc);
  const b0 = unit(add(add(scl(f, 0.55), s, 0.8 - 0.3 * g), n, 0.25 + 0.3 * g));
  const c0 = unit(sub(add(n, f, -0.2), scl(b0, dot(add(n, f, -0.2), b0))));
  let p = cmc;
  let ang = 0.15 + 0.35 * g;
  const thumbCurl = [0, 0.35 + 0.5 * g, 0.2 + 0.6 * g];
  for (let k = 0; k < 3; k++) {
    ang += thumbCurl[k];
    const dir = add(scl(b0, Math.cos(ang)), c0, Math.sin(ang));
    p = add(p, dir, THUMB.len[k]);
    put(2 + k, p);
  }
  // Fingers: MCP flexion up to 80°, PIP 95°, DIP 60° at a full grip.
  const curl = [1.4 * g + 0.12, 1.65 * g + 0.1, 1.05 * g + 0.05];
  FINGERS.forEach((fg, fi) => {
    const mcp = at(fg.mcp);
    put(5 + 4 * fi, mcp);
    const b = unit(add(f, s, fg.spread * (1 - 0.6 * g)));
    let q = mcp;
    let a = 0;
    for (let k = 0; k < 3; k++) {
      a += curl[k];
      q = add(q, add(scl(b, Math.cos(a)), n, Math.sin(a)), fg.len[k]);
      put(6 + 4 * fi + k, q);
    }
  });
}

// ---- the clip ---------------------------------------------------------------------------------------

export interface BuiltinOptions {
  /** Frame rate (default 30). The motion is generated at this rate directly. */
  fps?: number;
}

export function builtinMotion(name: BuiltinMotionName = 'pick-and-place', opts: BuiltinOptions = {}): PoseTrack {
  if (!(BUILTIN_MOTIONS as readonly string[]).includes(name)) throw new UserError(`unknown built-in motion '${name}' (have ${BUILTIN_MOTIONS.join(', ')})`);
  const fps = opts.fps ?? 30;
  if (!(fps > 0) || !Number.isFinite(fps)) throw new UserError(`fps must be a positive number, got ${fps}`);
  const B = BUILTIN_BODY;
  const duration = 7.5;
  const T = Math.floor(duration * fps + 1e-9) + 1;
  const { names, parents } = canonicalSkeleton();
  const J = names.length;
  const idx = new Map(names.map((n, i) => [n, i]));
  const positions = new Float32Array(T * J * 3);
  const timestamps = new Float64Array(T);

  // Standing: knees bent ~15° so the stance leg can also reach a foot half a step away.
  const legReach = 0.965 * (B.thigh + B.shank);
  const pelvisZ = B.ankleHeight + Math.sqrt(legReach ** 2 - (B.footOut - B.hipOut) ** 2) + B.hipDown;

  // Keyframes (seconds).
  const stepLen = 0.3;
  const pelvisX = keys([[0, 0], [1.0, 0], [2.2, stepLen], [2.5, stepLen], [3.4, stepLen - 0.06], [3.8, stepLen - 0.06], [4.7, stepLen]]);
  const sway = keys([[1.0, 0], [1.25, 0.025], [1.6, 0], [1.85, -0.025], [2.2, 0]]);
  const drop = keys([[0, 0], [1.0, 0], [1.3, -0.012], [1.6, -0.006], [1.9, -0.012], [2.2, 0], [2.5, 0], [3.4, -0.12], [3.8, -0.12], [4.7, 0], [4.9, 0], [5.9, -0.03], [6.3, -0.03], [7.0, 0]]);
  const pitch = keys([[0, 0.02], [2.5, 0.02], [3.4, 0.6], [3.8, 0.6], [4.7, 0.08], [4.9, 0.08], [5.9, 0.35], [6.3, 0.35], [7.0, 0.02]]);
  const yaw = keys([[0, 0], [4.9, 0], [5.9, -0.15], [6.3, -0.15], [7.0, 0]]);
  const look = keys([[0, 0], [2.5, 0], [3.2, 0.35], [3.8, 0.35], [4.7, 0.1], [5.9, 0.3], [6.3, 0.3], [7.0, 0]]);
  // Feet: right steps first, then left; swing height 7 cm.
  const footX = {
    right: keys([[0, 0], [1.0, 0], [1.6, stepLen]]),
    left: keys([[0, 0], [1.6, 0], [2.2, stepLen]]),
  };
  const swing = { right: [1.0, 1.6], left: [1.6, 2.2] };
  // Hands: weight of the task targets against the relaxed arm pose; task targets per hand; grip.
  const task = keys([[0, 0], [2.5, 0], [3.3, 1], [6.3, 1], [7.1, 0]]);
  const box = 0.14; // half the box width, wrist to box centre
  const place: V = [0.66, -0.17, 0.94];
  const handTask = (side: Side) => {
    const sy = side === 'left' ? 1 : -1;
    return keysV([
      [2.5, [0.56, sy * 0.21, 0.9]],
      [3.25, [0.62, sy * (box + 0.05), 0.84]],
      [3.5, [0.62, sy * box, 0.8]],
      [3.8, [0.62, sy * box, 0.8]],
      [4.7, [0.62, sy * box, 1.02]],
      [4.9, [0.62, sy * box, 1.02]],
      [5.8, [place[0], place[1] + sy * box, place[2] + 0.03]],
      [6.0, [place[0], place[1] + sy * box, place[2]]],
      [6.1, [place[0], place[1] + sy * box, place[2]]],
      [6.35, [place[0] - 0.06, place[1] + sy * (box + 0.06), place[2] + 0.04]],
    ]);
  };
  const targets = { left: handTask('left'), right: handTask('right') };
  const grip = keys([[0, 0.25], [2.5, 0.25], [3.15, 0.05], [3.4, 0.05], [3.7, 0.7], [6.0, 0.7], [6.3, 0.08], [7.2, 0.25]]);

  const set = (t: number, name: string, p: V) => {
    const o = 3 * (t * J + idx.get(name)!);
    positions[o] = p[0]; positions[o + 1] = p[1]; positions[o + 2] = p[2];
  };

  for (let t = 0; t < T; t++) {
    const time = t / fps;
    timestamps[t] = time;
    const th = pitch(time);
    const psi = yaw(time);
    const pelvis: V = [pelvisX(time), sway(time), pelvisZ + drop(time)];
    set(t, 'pelvis', pelvis);
    // Trunk: the bend is shared out along the spine; the pelvis tilts with a third of it.
    const pPitch = 0.35 * th;
    const spine = add(pelvis, leanDir(pPitch, 0.5 * psi), B.pelvisToSpine);
    const chest = add(spine, leanDir(0.7 * th, 0.8 * psi), B.spineToChest);
    const neck = add(chest, leanDir(th, psi), B.chestToNeck);
    const head = add(neck, leanDir(Math.max(0, th - 0.25) + look(time), psi), B.neckToHead);
    set(t, 'spine', spine); set(t, 'chest', chest); set(t, 'neck', neck); set(t, 'head', head);

    for (const side of ['left', 'right'] as const) {
      const sy = side === 'left' ? 1 : -1;
      // Leg: hip from the pelvis frame, ankle on the foot plan, knee toward the front.
      const hip = add(pelvis, bodyVec([0, sy * B.hipOut, -B.hipDown], pPitch, 0.5 * psi));
      const [s0, s1] = swing[side];
      const ph = (time - s0) / (s1 - s0);
      const lift = ph > 0 && ph < 1 ? 0.07 * Math.sin(Math.PI * mj(ph)) : 0;
      const ankleTarget: V = [footX[side](time), sy * B.footOut, B.ankleHeight + lift];
      const [knee, ankle] = twoBone(hip, ankleTarget, B.thigh, B.shank, add(bodyVec([1, 0, 0], 0, psi * 0.5), [0, 0, 0.2]));
      const toe = add(ankle, [B.footForward, 0, B.toeHeight - B.ankleHeight]);
      set(t, `${side}_hip`, hip); set(t, `${side}_knee`, knee); set(t, `${side}_ankle`, ankle); set(t, `${side}_toe`, toe);

      // Arm: shoulder from the chest frame; wrist blends from hanging relaxed to the task target.
      const shoulder = add(chest, bodyVec([-0.02, sy * B.shoulderOut, B.shoulderUp], th, psi));
      const rest = add(shoulder, bodyVec([0.05, sy * 0.02, -0.532], 0.25 * th, psi));
      const w = task(time);
      const target = lerpV(rest, targets[side](time), w);
      const pole = bodyVec([-0.6 + 0.5 * w, sy * (0.12 + 0.7 * w), -1], 0, psi);
      const [elbow, wrist] = twoBone(shoulder, target, B.upperArm, B.forearm, pole);
      set(t, `${side}_shoulder`, shoulder); set(t, `${side}_elbow`, elbow); set(t, `${side}_wrist`, wrist);

      // Hand frame: fingers continue the forearm, bent slightly toward the palm; palm faces the midline.
      const fore = unit(sub(wrist, elbow));
      const medial = bodyVec([0, -sy, 0], 0, psi);
      let n = unit(sub(medial, scl(fore, dot(medial, fore))));
      const flex = 0.15 + 0.1 * w;
      const f = unit(add(scl(fore, Math.cos(flex)), n, Math.sin(flex)));
      n = unit(sub(medial, scl(f, dot(medial, f))));
      handLandmarks(side, wrist, f, n, grip(time), positions, 3 * (t * J + idx.get(`${side}_hand_wrist`)!));
    }
  }
  const confidence = new Float32Array(T * J).fill(1);
  return {
    positions, confidence, timestamps, jointNames: names, parents, fps,
    source: { format: 'synthetic', name, generator: 'reel2real builtin v1' },
    meta: {
      description: 'Procedural pick-and-place: stand, two steps forward, bend and pick up a box from a low table with both hands, carry it, set it down to the right on a higher surface, return to standing.',
      body: B,
      events: [
        { t: 1.0, label: 'step right foot' }, { t: 1.6, label: 'step left foot' }, { t: 2.5, label: 'reach down' },
        { t: 3.45, label: 'grasp' }, { t: 3.8, label: 'lift' }, { t: 4.9, label: 'move to place' },
        { t: 6.05, label: 'release' }, { t: 6.3, label: 'retract' }, { t: 7.1, label: 'standing' },
      ],
      objects: { box_pick: [0.62, 0, 0.8], box_place: place, box_width: 2 * box },
    },
  };
}
