/**
 * Synthetic episodes for store and export tests: a G1-like robot motion (29 joints named as on the
 * Unitree G1) and a body pose track, made from a seed so different seeds give different content.
 */
import { BODY_JOINTS, BODY_PARENTS } from '../../src/pose/skeleton.ts';
import type { PoseTrack } from '../../src/pose/track.ts';
import type { RobotMotion } from '../../src/robot/motion.ts';
import type { Episode } from '../../src/store/episode.ts';

export const G1_JOINTS = [
  'left_hip_pitch_joint', 'left_hip_roll_joint', 'left_hip_yaw_joint', 'left_knee_joint',
  'left_ankle_pitch_joint', 'left_ankle_roll_joint',
  'right_hip_pitch_joint', 'right_hip_roll_joint', 'right_hip_yaw_joint', 'right_knee_joint',
  'right_ankle_pitch_joint', 'right_ankle_roll_joint',
  'waist_yaw_joint', 'waist_roll_joint', 'waist_pitch_joint',
  'left_shoulder_pitch_joint', 'left_shoulder_roll_joint', 'left_shoulder_yaw_joint', 'left_elbow_joint',
  'left_wrist_roll_joint', 'left_wrist_pitch_joint', 'left_wrist_yaw_joint',
  'right_shoulder_pitch_joint', 'right_shoulder_roll_joint', 'right_shoulder_yaw_joint', 'right_elbow_joint',
  'right_wrist_roll_joint', 'right_wrist_pitch_joint', 'right_wrist_yaw_joint',
];

export function syntheticMotion(T: number, seed: number, fps = 30, robot = 'unitree_g1'): RobotMotion {
  const n = G1_JOINTS.length;
  const q = new Float32Array(T * n);
  const rootPos = new Float32Array(T * 3);
  const rootQuat = new Float32Array(T * 4);
  const timestamps = new Float64Array(T);
  for (let t = 0; t < T; t++) {
    timestamps[t] = t / fps;
    for (let j = 0; j < n; j++) q[t * n + j] = 0.5 * Math.sin(0.1 * t + 0.3 * j + seed);
    rootPos[t * 3] = 0.01 * t;
    rootPos[t * 3 + 1] = 0.1 * seed;
    rootPos[t * 3 + 2] = 0.79;
    const yaw = 0.01 * t + seed;
    rootQuat[t * 4] = Math.cos(yaw / 2);
    rootQuat[t * 4 + 3] = Math.sin(yaw / 2);
  }
  return {
    q, rootPos, rootQuat, timestamps, fps, jointNames: [...G1_JOINTS], rootLink: 'pelvis',
    robot: { name: robot, urdf_sha256: 'a'.repeat(64) },
    mapping: { pelvis: 'pelvis' }, source: { format: 'synthetic', seed },
    quality: { rmse_m: 0.02 + 0.001 * seed },
  };
}

export function syntheticTrack(T: number, seed: number, fps = 30): PoseTrack {
  const names = [...BODY_JOINTS];
  const J = names.length;
  const parents = names.map((nm) => {
    const p = BODY_PARENTS[nm];
    return p ? names.indexOf(p) : -1;
  });
  const positions = new Float32Array(T * J * 3);
  const confidence = new Float32Array(T * J).fill(0.9);
  const timestamps = new Float64Array(T);
  for (let t = 0; t < T; t++) {
    timestamps[t] = t / fps;
    for (let j = 0; j < J; j++) {
      positions[(t * J + j) * 3] = 0.01 * t + 0.05 * j;
      positions[(t * J + j) * 3 + 1] = 0.02 * j + seed;
      positions[(t * J + j) * 3 + 2] = 1 - 0.05 * j;
    }
  }
  // One missing joint (NaN, confidence 0) to exercise missing data.
  if (T > 3) {
    const k = 3 * J + 4;
    positions[k * 3] = positions[k * 3 + 1] = positions[k * 3 + 2] = NaN;
    confidence[k] = 0;
  }
  return { positions, confidence, timestamps, jointNames: names, parents, fps, source: { format: 'synthetic', seed } };
}

export function syntheticEpisode(seed: number, T = 40, opts: { task?: string; feasible?: boolean; robot?: string } = {}): Episode {
  const masks: Record<string, Uint8Array> = { occluded: new Uint8Array(T), foot_slide: new Uint8Array(T) };
  for (let t = 0; t < T; t++) {
    masks.occluded[t] = (t + seed) % 7 === 0 ? 1 : 0;
    masks.foot_slide[t] = t % 5 === 0 ? 1 : 0;
  }
  return {
    provenance: {
      contributor: 'c' + String(seed).padStart(63, '0'),
      consent: { id: 'consent-001', version: '1', scopes: ['robot-training'] },
      task: opts.task ?? 'wipe the table',
      sources: [{ file: `clip-${seed}.mp4`, sha256: String(seed % 10).repeat(64), bytes: 1000 + seed }],
      createdAt: new Date(Date.UTC(2026, 0, 1, 0, 0, seed)).toISOString(),
      tool: { name: 'reel2real', version: '0.1.0' },
    },
    track: syntheticTrack(T, seed),
    motion: syntheticMotion(T, seed, 30, opts.robot),
    quality: { verdict: 'good', jitter: 0.1 * seed },
    validation: { feasible: opts.feasible ?? true, verdict: opts.feasible === false ? 'infeasible' : 'feasible', max_penetration_m: 0.001 },
    masks,
  };
}
