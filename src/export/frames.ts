/**
 * From stored episodes to per-frame tables: which features a dataset declares (the same for every
 * episode), the frame columns of each episode, and LeRobot-style statistics.
 *
 * Per-frame features (all float32 unless said):
 *   observation.state          [n]    robot joint positions (rad or m), names = the motion's joint names, then
 *                                     (when every episode has a separate hand motion) the hand's joints, sampled
 *                                     at the nearest hand frame in time
 *   action                     [n]    the next frame's joint positions (position targets); the last frame repeats
 *   observation.root_pos       [3]    root link position, metres, world frame, Z up
 *   observation.root_quat      [4]    root link orientation, quaternion (w, x, y, z)
 *   observation.human_keypoints [J*3] the human pose track (metres, Z up), flattened joint-major: j.x, j.y, j.z;
 *                                     missing joints are 0 with confidence 0 (only when every episode has a
 *                                     track with the same joints)
 *   observation.human_keypoints_confidence [J]
 *   observation.reference_state [nb]  the kinematic retarget the physics stage corrected (its reference_q), names =
 *                                     the motion's joint names (only when every episode has one)
 *   quality.flags              [K]    per-frame quality masks (1 = flagged), names = mask names (only when
 *                                     some episode has masks; an episode without a mask gets 0 for it)
 *   timestamp                  [1]    exactly frame_index / fps (motions whose frames are not evenly spaced
 *                                     are first resampled onto that grid: resampleMotion)
 *   frame_index, episode_index, index, task_index  int64 [1]
 */
import { UserError } from '../errors.ts';
import type { Episode, IndexEntry, Provenance } from '../store/episode.ts';
import type { RobotMotion } from '../robot/motion.ts';
import { quantileSorted } from '../math/stats.ts';

export interface FeatureSpec {
  dtype: 'float32' | 'int64';
  shape: number[];
  names: string[] | null;
}

export interface Layout {
  /** robot_type: the body robot's name, `+<hand>` with a separate hand model. */
  robot: string;
  fps: number;
  /** observation.state / action names: body joints, then hand joints (if any). */
  jointNames: string[];
  bodyJoints: number;
  /** The hand's joint names as the hand motion has them, or null. */
  handJoints: string[] | null;
  /** 'left' / 'right' when the hand motion says which hand it is. */
  handSide: string | null;
  /** When the robot itself is a hand (its motion's mapping.kind is 'hand'): 'left'/'right'/'' (unknown side). */
  robotHandSide: string | null;
  /** Features left out and why (e.g. keypoints when episodes disagree on the track's joints). */
  notes: string[];
  keypointJoints: string[] | null;
  maskNames: string[];
  features: Record<string, FeatureSpec>;
}

/** What the layout needs to know of an episode (kept for every episode while only a few are loaded). */
export interface EpisodeProbe {
  jointNames: string[];
  fps: number;
  frames: number;
  mapping: { kind?: unknown; side?: unknown };
  trackJoints: string[] | null;
  maskNames: string[];
  hand: { robot: string; joints: string[]; side: unknown } | null;
  /** The motion carries its kinematic reference (physics stage) as extras.reference_q. */
  reference: boolean;
}

export interface SelectedEpisode {
  id: string;
  entry: IndexEntry;
  /** Store directory it comes from. */
  store: string;
  provenance: Provenance;
  urdfSha256: string;
  probe: EpisodeProbe;
}

export function probeEpisode(ep: Episode): EpisodeProbe {
  const m = ep.motion!;
  const h = ep.handMotion;
  return {
    jointNames: m.jointNames,
    fps: m.fps,
    frames: m.timestamps.length,
    mapping: (m.mapping ?? {}) as EpisodeProbe['mapping'],
    trackJoints: ep.track ? ep.track.jointNames : null,
    maskNames: Object.keys(ep.masks ?? {}),
    hand: h ? { robot: h.robot.name, joints: h.jointNames, side: (h.mapping as { side?: unknown } | undefined)?.side } : null,
    reference: m.extras?.reference_q?.data.length === m.timestamps.length * m.jointNames.length,
  };
}

export type FrameColumn = Float32Array | BigInt64Array;

export interface EpisodeFrames {
  length: number;
  columns: Record<string, FrameColumn>;
}

function sameList(a: string[], b: string[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

/** The features every episode of the dataset shares; throws a UserError naming the episode that disagrees. */
export function makeLayout(eps: SelectedEpisode[], robot: string): Layout {
  if (!eps.length) throw new UserError('no episodes to export');
  const first = eps[0].probe;
  const jointNames = first.jointNames;
  const fps = first.fps;
  for (const e of eps) {
    const m = e.probe;
    if (!sameList(m.jointNames, jointNames)) {
      throw new UserError(`episode ${e.id.slice(0, 12)} has other joints (${m.jointNames.length}) than the first (${jointNames.length}); export one robot configuration at a time (--robot)`, e.store);
    }
    if (Math.abs(m.fps - fps) > 1e-9) {
      throw new UserError(`episode ${e.id.slice(0, 12)} is at ${m.fps} fps, the first at ${fps} fps; a dataset has one frame rate`, e.store);
    }
  }
  const notes: string[] = [];
  const tracks = eps.map((e) => e.probe.trackJoints);
  const keypointJoints = tracks.every((t) => t && sameList(t, tracks[0]!)) ? tracks[0]! : null;
  if (!keypointJoints && tracks.some((t) => t)) notes.push('observation.human_keypoints left out: not every episode has a pose track with the same joints');
  const maskNames = [...new Set(eps.flatMap((e) => e.probe.maskNames))].sort();

  const hands = eps.map((e) => e.probe.hand);
  const h0 = hands[0];
  const handsAgree = !!h0 && hands.every((h) => h && h.robot === h0.robot && sameList(h.joints, h0.joints));
  if (!handsAgree && hands.some((h) => h)) notes.push('hand motion left out: not every episode has one of the same hand');
  const handJoints = handsAgree ? h0!.joints : null;
  const side = handsAgree ? h0!.side : undefined;
  const handSide = side === 'left' || side === 'right' ? side : null;
  const fm = first.mapping;
  const robotHandSide = fm.kind === 'hand' ? (fm.side === 'left' || fm.side === 'right' ? fm.side : '') : null;
  const bodySet = new Set(jointNames);
  const stateNames = [...jointNames, ...(handJoints ?? []).map((j) => (bodySet.has(j) ? `hand.${j}` : j))];

  const n = stateNames.length;
  const features: Record<string, FeatureSpec> = {
    'observation.state': { dtype: 'float32', shape: [n], names: [...stateNames] },
    action: { dtype: 'float32', shape: [n], names: [...stateNames] },
    'observation.root_pos': { dtype: 'float32', shape: [3], names: ['x', 'y', 'z'] },
    'observation.root_quat': { dtype: 'float32', shape: [4], names: ['w', 'x', 'y', 'z'] },
  };
  if (keypointJoints) {
    features['observation.human_keypoints'] = {
      dtype: 'float32', shape: [keypointJoints.length * 3], names: keypointJoints.flatMap((j) => [`${j}.x`, `${j}.y`, `${j}.z`]),
    };
    features['observation.human_keypoints_confidence'] = { dtype: 'float32', shape: [keypointJoints.length], names: [...keypointJoints] };
  }
  if (eps.every((e) => e.probe.reference)) features['observation.reference_state'] = { dtype: 'float32', shape: [jointNames.length], names: [...jointNames] };
  if (maskNames.length) features['quality.flags'] = { dtype: 'float32', shape: [maskNames.length], names: maskNames };
  features.timestamp = { dtype: 'float32', shape: [1], names: null };
  for (const k of ['frame_index', 'episode_index', 'index', 'task_index']) features[k] = { dtype: 'int64', shape: [1], names: null };
  return {
    robot: handJoints ? `${robot}+${h0!.robot}` : robot,
    fps, jointNames: stateNames, bodyJoints: jointNames.length, handJoints, handSide, robotHandSide, notes, keypointJoints, maskNames, features,
  };
}

/** For each of `target` timestamps, the index of the nearest of `source` timestamps (both increasing). */
function nearestIndices(target: Float64Array, source: Float64Array): Int32Array {
  const out = new Int32Array(target.length);
  let j = 0;
  for (let i = 0; i < target.length; i++) {
    while (j + 1 < source.length && Math.abs(source[j + 1] - target[i]) <= Math.abs(source[j] - target[i])) j++;
    out[i] = j;
  }
  return out;
}

/** The frame columns of one episode. `index0` is the dataset-wide index of its first frame. */
export function episodeFrames(layout: Layout, ep: Episode, episodeIndex: number, index0: number, taskIndex: number): EpisodeFrames {
  const m = ep.motion!;
  const T = m.timestamps.length;
  const n = layout.jointNames.length;
  const nb = layout.bodyJoints;
  const cols: Record<string, FrameColumn> = {};
  const state = new Float32Array(T * n);
  for (let t = 0; t < T; t++) state.set(m.q.subarray(t * nb, t * nb + nb), t * n);
  if (layout.handJoints) {
    const h = ep.handMotion!;
    const nh = layout.handJoints.length;
    const idx = nearestIndices(m.timestamps, h.timestamps);
    for (let t = 0; t < T; t++) state.set(h.q.subarray(idx[t] * nh, idx[t] * nh + nh), t * n + nb);
  }
  cols['observation.state'] = state;
  const action = new Float32Array(T * n);
  for (let t = 0; t < T; t++) action.set(state.subarray(Math.min(t + 1, T - 1) * n, Math.min(t + 1, T - 1) * n + n), t * n);
  cols.action = action;
  cols['observation.root_pos'] = Float32Array.from(m.rootPos);
  cols['observation.root_quat'] = Float32Array.from(m.rootQuat);
  if (layout.features['observation.reference_state']) cols['observation.reference_state'] = Float32Array.from(m.extras!.reference_q.data as ArrayLike<number>);

  if (layout.keypointJoints) {
    const tr = ep.track!;
    const J = layout.keypointJoints.length;
    const idx = nearestIndices(m.timestamps, tr.timestamps);
    const kp = new Float32Array(T * J * 3);
    const conf = new Float32Array(T * J);
    for (let t = 0; t < T; t++) {
      const s = idx[t];
      for (let j = 0; j < J; j++) {
        const c = tr.confidence[s * J + j];
        const x = tr.positions[(s * J + j) * 3];
        const y = tr.positions[(s * J + j) * 3 + 1];
        const z = tr.positions[(s * J + j) * 3 + 2];
        if (Number.isNaN(x) || Number.isNaN(y) || Number.isNaN(z)) continue; // stays 0, confidence 0
        kp[(t * J + j) * 3] = x;
        kp[(t * J + j) * 3 + 1] = y;
        kp[(t * J + j) * 3 + 2] = z;
        conf[t * J + j] = c;
      }
    }
    cols['observation.human_keypoints'] = kp;
    cols['observation.human_keypoints_confidence'] = conf;
  }

  if (layout.maskNames.length) {
    const K = layout.maskNames.length;
    const flags = new Float32Array(T * K);
    const trackT = ep.track ? ep.track.timestamps.length : -1;
    const viaTrack = ep.track ? nearestIndices(m.timestamps, ep.track.timestamps) : null;
    layout.maskNames.forEach((name, k) => {
      const mask = ep.masks?.[name];
      if (!mask) return;
      for (let t = 0; t < T; t++) {
        // Masks are per motion frame, or per track frame (mapped to the nearest in time).
        const s = mask.length === T ? t : mask.length === trackT && viaTrack ? viaTrack[t] : -1;
        if (s < 0) throw new UserError(`mask "${name}" has ${mask.length} frames, neither the motion's ${T} nor the track's ${trackT}`);
        flags[t * K + k] = mask[s] ? 1 : 0;
      }
    });
    cols['quality.flags'] = flags;
  }

  const ts = new Float32Array(T);
  const frameIndex = new BigInt64Array(T);
  const episodeIdx = new BigInt64Array(T);
  const index = new BigInt64Array(T);
  const taskIdx = new BigInt64Array(T);
  for (let t = 0; t < T; t++) {
    ts[t] = t / layout.fps;
    frameIndex[t] = BigInt(t);
    episodeIdx[t] = BigInt(episodeIndex);
    index[t] = BigInt(index0 + t);
    taskIdx[t] = BigInt(taskIndex);
  }
  cols.timestamp = ts;
  cols.frame_index = frameIndex;
  cols.episode_index = episodeIdx;
  cols.index = index;
  cols.task_index = taskIdx;
  return { length: T, columns: cols };
}

// ---- statistics -------------------------------------------------------------------------------------

export interface FeatureStats {
  min: number[];
  max: number[];
  mean: number[];
  std: number[];
  count: number[];
  q01: number[];
  q10: number[];
  q50: number[];
  q90: number[];
  q99: number[];
}

export const STAT_KEYS = ['min', 'max', 'mean', 'std', 'count', 'q01', 'q10', 'q50', 'q90', 'q99'] as const;
const QUANTILES: [keyof FeatureStats, number][] = [['q01', 0.01], ['q10', 0.1], ['q50', 0.5], ['q90', 0.9], ['q99', 0.99]];


/**
 * Per-dimension statistics over the rows of a column (the frames), computed in float64, as LeRobot's
 * compute_episode_stats: min, max, mean, std (population), count = number of frames; plus exact quantiles.
 */
export function columnStats(parts: FrameColumn[], width: number): FeatureStats {
  const rows = parts.reduce((a, p) => a + p.length / width, 0);
  const s: FeatureStats = { min: [], max: [], mean: [], std: [], count: [rows], q01: [], q10: [], q50: [], q90: [], q99: [] };
  const vals = new Float64Array(rows);
  for (let d = 0; d < width; d++) {
    let r = 0;
    for (const p of parts) for (let i = d; i < p.length; i += width) vals[r++] = Number(p[i]);
    let sum = 0;
    for (let i = 0; i < rows; i++) sum += vals[i];
    const mean = sum / rows;
    let ss = 0;
    for (let i = 0; i < rows; i++) ss += (vals[i] - mean) * (vals[i] - mean);
    const sorted = vals.slice().sort();
    s.min.push(sorted[0]);
    s.max.push(sorted[rows - 1]);
    s.mean.push(mean);
    s.std.push(Math.sqrt(ss / rows));
    for (const [k, q] of QUANTILES) (s[k] as number[]).push(quantileSorted(sorted, q));
  }
  return s;
}

export function featureWidth(f: FeatureSpec): number {
  return f.shape.reduce((a, b) => a * b, 1);
}

/** Statistics of every feature over one episode's frames. */
export function episodeStats(layout: Layout, fr: EpisodeFrames): Record<string, FeatureStats> {
  const out: Record<string, FeatureStats> = {};
  for (const [key, f] of Object.entries(layout.features)) out[key] = columnStats([fr.columns[key]], featureWidth(f));
  return out;
}

/**
 * Dataset statistics from per-episode ones, as LeRobot aggregates them: min/max exact, mean and std exact
 * (count-weighted, parallel variance), quantiles the count-weighted mean of the episodes' quantiles.
 */
export function aggregateStats(perEpisode: Record<string, FeatureStats>[]): Record<string, FeatureStats> {
  const out: Record<string, FeatureStats> = {};
  if (!perEpisode.length) return out;
  for (const key of Object.keys(perEpisode[0])) {
    const list = perEpisode.map((s) => s[key]);
    const width = list[0].mean.length;
    const total = list.reduce((a, s) => a + s.count[0], 0);
    const agg: FeatureStats = { min: [], max: [], mean: [], std: [], count: [total], q01: [], q10: [], q50: [], q90: [], q99: [] };
    for (let d = 0; d < width; d++) {
      let mn = Infinity;
      let mx = -Infinity;
      let sum = 0;
      for (const s of list) { mn = Math.min(mn, s.min[d]); mx = Math.max(mx, s.max[d]); sum += s.mean[d] * s.count[0]; }
      const mean = sum / total;
      let v = 0;
      for (const s of list) v += s.count[0] * (s.std[d] * s.std[d] + (s.mean[d] - mean) * (s.mean[d] - mean));
      agg.min.push(mn);
      agg.max.push(mx);
      agg.mean.push(mean);
      agg.std.push(Math.sqrt(v / total));
      for (const [k] of QUANTILES) (agg[k] as number[]).push(list.reduce((a, s) => a + (s[k] as number[])[d] * s.count[0], 0) / total);
    }
    out[key] = agg;
  }
  return out;
}

// ---- uniform frame times ----------------------------------------------------------------------------

/** LeRobot's tolerance for timestamps off the frame grid (tolerance_s). */
export const TIME_TOLERANCE_S = 1e-4;

/** Whether frame i is at timestamps[0] + i/fps for every i, within LeRobot's tolerance. */
export function isUniform(ts: Float64Array, fps: number): boolean {
  for (let i = 0; i < ts.length; i++) if (Math.abs(ts[i] - ts[0] - i / fps) > TIME_TOLERANCE_S) return false;
  return true;
}

/**
 * The motion on the uniform grid t0 + k/fps over its time span: joints and root position interpolated
 * linearly, root orientation by normalised quaternion interpolation (shortest arc). For motions whose frames
 * are not evenly spaced (variable-frame-rate video, dropped frames): a dataset's frames are 1/fps apart.
 */
export function resampleMotion(m: RobotMotion): RobotMotion {
  const ts = m.timestamps;
  const T = ts.length;
  const t0 = ts[0];
  const K = Math.floor((ts[T - 1] - t0) * m.fps + 1e-6) + 1;
  const n = m.jointNames.length;
  const q = new Float32Array(K * n);
  const rootPos = new Float32Array(K * 3);
  const rootQuat = new Float32Array(K * 4);
  const timestamps = new Float64Array(K);
  let j = 0;
  for (let k = 0; k < K; k++) {
    const t = t0 + k / m.fps;
    timestamps[k] = t;
    while (j + 1 < T - 1 && ts[j + 1] <= t) j++;
    const a = j;
    const b = Math.min(j + 1, T - 1);
    const w = b === a ? 0 : Math.min(1, Math.max(0, (t - ts[a]) / (ts[b] - ts[a])));
    for (let d = 0; d < n; d++) q[k * n + d] = m.q[a * n + d] + (m.q[b * n + d] - m.q[a * n + d]) * w;
    for (let d = 0; d < 3; d++) rootPos[k * 3 + d] = m.rootPos[a * 3 + d] + (m.rootPos[b * 3 + d] - m.rootPos[a * 3 + d]) * w;
    let dot = 0;
    for (let d = 0; d < 4; d++) dot += m.rootQuat[a * 4 + d] * m.rootQuat[b * 4 + d];
    const sgn = dot < 0 ? -1 : 1;
    let norm = 0;
    for (let d = 0; d < 4; d++) {
      const v = m.rootQuat[a * 4 + d] * (1 - w) + sgn * m.rootQuat[b * 4 + d] * w;
      rootQuat[k * 4 + d] = v;
      norm += v * v;
    }
    norm = Math.sqrt(norm) || 1;
    for (let d = 0; d < 4; d++) rootQuat[k * 4 + d] /= norm;
  }
  // The physics stage's reference arrays are on the old frames: left out (the episode then exports without them).
  const { reference_q: _rq, reference_root_pos: _rp, reference_root_quat: _rr, ...extras } = m.extras ?? {};
  return { ...m, q, rootPos, rootQuat, timestamps, extras: Object.keys(extras).length ? extras : undefined, meta: { ...(m.meta ?? {}), resampled_from_frames: T } };
}
