/**
 * Stance and foot skating of a robot motion: the one definition used by the retarget report, `validate`
 * and the viewer, measured on the robot's own foot links (never on the human source).
 *
 * A foot is a link and points on its sole (link-local; the lowest points of its collision geometry). Per
 * frame, from the links' world poses:
 *  - height: the lowest sole point above the ground (z = 0; negative below it);
 *  - speed: the horizontal speed of the sole points in contact (those within `band` of the lowest), each
 *    followed from the previous frame to this one in its own link frame (a foot rolling over its heel or
 *    toe does not move its contact points; a foot sliding does);
 *  - stance, with hysteresis: a foot touches down when its lowest point is within `touchHeight` of the
 *    ground whatever its speed, or within `enterHeight` and slower than `enterSpeed`; it stays in stance
 *    until its lowest point rises above `exitHeight`. Speed never ends a stance: a stance foot that moves
 *    is skating;
 *  - skating: a stance frame whose lowest point is within `enterHeight` of the ground and whose speed
 *    exceeds `skateSpeed` (higher up, between enter and exit height, a stance foot is lifting off).
 * The thresholds scale with the robot's leg length (`stanceThresholds`), so one setting fits a small and a
 * tall robot.
 */

export interface Foot {
  /** Foot name for reports (e.g. 'left'). */
  name: string;
  /** Link index (Kinematics numbering). */
  link: number;
  /** Sole points in the link frame, xyz triplets. */
  points: Float64Array;
}

export interface StanceThresholds {
  /** m: within this of the ground a foot is touching down whatever its speed. */
  touchHeight: number;
  /** m, m/s: within this height and below this speed a foot touches down. */
  enterHeight: number;
  enterSpeed: number;
  /** m: a stance foot lifts off when its lowest point rises above this. */
  exitHeight: number;
  /** m: sole points within this of the lowest one are the contact points whose speed is measured. */
  band: number;
  /** m/s: a stance foot faster than this skates. */
  skateSpeed: number;
}

/**
 * Thresholds from the robot's leg length (hip to ankle, metres): touch 0.2%, enter 2% (and 0.5 leg/s),
 * exit 4%, contact band 1%, skating above 0.25 leg/s. For a 0.6 m leg: 1.2 mm, 12 mm at 0.3 m/s, 24 mm,
 * 6 mm, 0.15 m/s.
 */
export function stanceThresholds(legLength: number): StanceThresholds {
  const l = legLength > 0 && Number.isFinite(legLength) ? legLength : 0.6;
  return { touchHeight: 0.002 * l, enterHeight: 0.02 * l, enterSpeed: 0.5 * l, exitHeight: 0.04 * l, band: 0.01 * l, skateSpeed: 0.25 * l };
}

export interface FootContacts {
  T: number;
  feet: string[];
  /** [T, nFeet] 1 in stance. */
  stance: Uint8Array;
  /** [T, nFeet] lowest sole point height (m). */
  height: Float64Array;
  /** [T, nFeet] horizontal speed of the contact points (m/s; frame 0 takes frame 1's). */
  speed: Float64Array;
  /** [T, nFeet] 1 where the foot is in stance, within enterHeight of the ground and faster than skateSpeed. */
  skating: Uint8Array;
  thresholds: StanceThresholds;
}

/** Summary figures of a FootContacts (speeds over stance frames; `skate_frames`: frames where any stance foot skates). */
export interface SkateSummary {
  stance_frames: Record<string, number>;
  skate_mean_m_s: number;
  skate_max_m_s: number;
  skate_frames: number;
  /** Worst skating: frame, foot, speed (m/s) and height (m), or null without skating. */
  worst: { frame: number; foot: string; speed_m_s: number; height_m: number } | null;
  /** Lowest sole point over the clip (m; negative = below the ground). */
  min_height_m: number;
  thresholds: StanceThresholds;
}

/**
 * Stance, speed and skating of each foot. `pose(t)` gives the world poses of all links at frame t (12 per
 * link, Kinematics.pose layout: 3x3 rotation row-major then translation) and `timestamps` the frame times.
 */
export function footContacts(
  feet: Foot[], T: number, timestamps: ArrayLike<number>, pose: (t: number) => Float64Array, th: StanceThresholds,
): FootContacts {
  const nF = feet.length;
  const stance = new Uint8Array(T * nF), skating = new Uint8Array(T * nF);
  const height = new Float64Array(T * nF), speed = new Float64Array(T * nF);
  // World positions of each foot's points this frame and the previous one.
  const cur = feet.map((f) => new Float64Array(f.points.length));
  const prev = feet.map((f) => new Float64Array(f.points.length));
  for (let t = 0; t < T; t++) {
    const P = pose(t);
    for (let f = 0; f < nF; f++) {
      const pts = feet[f].points, w = cur[f], o = 12 * feet[f].link;
      let low = Infinity;
      for (let i = 0; i < pts.length; i += 3) {
        const x = pts[i], y = pts[i + 1], z = pts[i + 2];
        w[i] = P[o] * x + P[o + 1] * y + P[o + 2] * z + P[o + 9];
        w[i + 1] = P[o + 3] * x + P[o + 4] * y + P[o + 5] * z + P[o + 10];
        w[i + 2] = P[o + 6] * x + P[o + 7] * y + P[o + 8] * z + P[o + 11];
        if (w[i + 2] < low) low = w[i + 2];
      }
      height[t * nF + f] = low;
      if (t > 0) {
        const dt = timestamps[t] - timestamps[t - 1];
        let s = 0, n = 0;
        for (let i = 0; i < pts.length; i += 3) {
          if (w[i + 2] > low + th.band) continue;
          s += Math.hypot(w[i] - prev[f][i], w[i + 1] - prev[f][i + 1]); n++;
        }
        speed[t * nF + f] = n && dt > 0 ? s / n / dt : 0;
      }
      prev[f].set(w);
    }
  }
  if (T > 1) for (let f = 0; f < nF; f++) speed[f] = speed[nF + f];
  for (let f = 0; f < nF; f++) {
    let on = false;
    for (let t = 0; t < T; t++) {
      const i = t * nF + f, h = height[i], v = speed[i];
      if (!on) on = h <= th.touchHeight || (h <= th.enterHeight && v <= th.enterSpeed);
      else on = h <= th.exitHeight;
      stance[i] = on ? 1 : 0;
      skating[i] = on && h <= th.enterHeight && v > th.skateSpeed ? 1 : 0;
    }
  }
  return { T, feet: feet.map((f) => f.name), stance, height, speed, skating, thresholds: th };
}

export function skateSummary(c: FootContacts): SkateSummary {
  const nF = c.feet.length;
  const stanceFrames: Record<string, number> = Object.fromEntries(c.feet.map((n) => [n, 0]));
  let sum = 0, n = 0, max = 0, frames = 0, minH = Infinity;
  let worst: SkateSummary['worst'] = null;
  for (let t = 0; t < c.T; t++) {
    let any = false;
    for (let f = 0; f < nF; f++) {
      const i = t * nF + f;
      minH = Math.min(minH, c.height[i]);
      if (!c.stance[i]) continue;
      stanceFrames[c.feet[f]]++;
      sum += c.speed[i]; n++;
      if (c.speed[i] > max) max = c.speed[i];
      if (c.skating[i]) {
        any = true;
        if (!worst || c.speed[i] > worst.speed_m_s) worst = { frame: t, foot: c.feet[f], speed_m_s: c.speed[i], height_m: c.height[i] };
      }
    }
    if (any) frames++;
  }
  return {
    stance_frames: stanceFrames, skate_mean_m_s: n ? sum / n : 0, skate_max_m_s: max, skate_frames: frames, worst,
    min_height_m: Number.isFinite(minH) ? minH : 0, thresholds: c.thresholds,
  };
}

/** Joint and root trajectories of a motion (RobotMotion has these fields). */
export interface MotionTrajectory {
  q: ArrayLike<number>; rootPos: ArrayLike<number>; rootQuat: ArrayLike<number>; timestamps: ArrayLike<number>;
}

/** Minimal forward-kinematics interface (Kinematics satisfies it). */
export interface PoseSource {
  nq: number;
  pose: Float64Array;
  fk(q: Float64Array, base?: { pos: ArrayLike<number>; quat: ArrayLike<number> }): void;
}

/** footContacts of a motion, by forward kinematics of each frame (q in the kinematics' dof order). */
export function motionFootContacts(kin: PoseSource, m: MotionTrajectory, feet: Foot[], th: StanceThresholds): FootContacts {
  const nq = kin.nq, T = m.timestamps.length;
  const q = new Float64Array(nq);
  const base = { pos: new Float64Array(3), quat: new Float64Array(4) };
  return footContacts(feet, T, m.timestamps, (t) => {
    for (let i = 0; i < nq; i++) q[i] = m.q[t * nq + i];
    for (let k = 0; k < 3; k++) base.pos[k] = m.rootPos[3 * t + k];
    for (let k = 0; k < 4; k++) base.quat[k] = m.rootQuat[4 * t + k];
    kin.fk(q, base);
    return kin.pose;
  }, th);
}

/**
 * The feet a retargeted motion was measured with, from its mapping (`mapping.soles`: per foot the link
 * name and its sole points; `mapping.leg_length_m`), so validate and the viewer use the same feet and
 * thresholds as the retarget report. Null when the motion does not carry them.
 */
export function feetOfMotion(mapping: Record<string, unknown> | undefined, linkIndex: (name: string) => number):
  { feet: Foot[]; legLength: number } | null {
  const soles = mapping?.soles as Record<string, { link: string; points: number[][] }> | undefined;
  const leg = Number(mapping?.leg_length_m);
  if (!soles || typeof soles !== 'object' || !(leg > 0)) return null;
  const feet: Foot[] = [];
  for (const [name, s] of Object.entries(soles)) {
    if (!s || typeof s.link !== 'string' || !Array.isArray(s.points)) return null;
    let link: number;
    try { link = linkIndex(s.link); } catch { return null; }
    if (link < 0) return null;
    feet.push({ name, link, points: Float64Array.from(s.points.flat()) });
  }
  return feet.length ? { feet, legLength: leg } : null;
}
