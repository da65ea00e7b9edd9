/**
 * Real pose tracks for the quality tests, built from ../shared/data keypoints at test time (nothing copied):
 * - the BlazePose squats (65 frames, 5 fps): world landmarks mapped onto the canonical body, with the
 *   reference 2D image landmarks (720×1280 px) as `extras.image_landmarks`, as a capture would carry them;
 * - the MediaPipe right-hand world landmarks (621 frames, 30 fps): a hand-centred right-hand track.
 * Degradations (jitter, drops, occlusion, shifts) are applied to copies by the tests.
 */
import * as fs from 'node:fs';
import { canonicalSkeleton, handJointNames, HAND_PARENTS } from '../../src/pose/skeleton.ts';
import { nd } from '../../src/io/npz.ts';
import type { PoseTrack } from '../../src/pose/track.ts';

type V3 = [number, number, number];
const mid = (a: number[], b: number[]): number[] => a.map((v, i) => (v + b[i]) / 2);
const lerp = (a: number[], b: number[], s: number): number[] => a.map((v, i) => v + (b[i] - v) * s);

/** Canonical body joint positions from 33 BlazePose landmarks (any coordinate space). */
function blazeToBody(lm: number[][]): Record<string, number[]> {
  const pelvis = mid(lm[23], lm[24]);
  const neck = mid(lm[11], lm[12]);
  return {
    pelvis, spine: lerp(pelvis, neck, 0.35), chest: lerp(pelvis, neck, 0.75), neck, head: mid(lm[7], lm[8]),
    left_shoulder: lm[11], left_elbow: lm[13], left_wrist: lm[15],
    right_shoulder: lm[12], right_elbow: lm[14], right_wrist: lm[16],
    left_hip: lm[23], left_knee: lm[25], left_ankle: lm[27], left_toe: lm[31],
    right_hip: lm[24], right_knee: lm[26], right_ankle: lm[28], right_toe: lm[32],
  };
}

export function squatsTrack(world3dFile: string, image2dFile: string): PoseTrack {
  const w = JSON.parse(fs.readFileSync(world3dFile, 'utf8')) as number[][][];
  const im = JSON.parse(fs.readFileSync(image2dFile, 'utf8')) as number[][][];
  const { names, parents } = canonicalSkeleton({ hands: false });
  const T = w.length;
  const J = names.length;
  const fps = 5;
  const positions = new Float32Array(T * J * 3);
  const confidence = new Float32Array(T * J).fill(0.9);
  const timestamps = new Float64Array(T);
  const image = new Float32Array(T * J * 2);
  for (let t = 0; t < T; t++) {
    timestamps[t] = t / fps;
    const b = blazeToBody(w[t]);
    const b2 = blazeToBody(im[t]);
    names.forEach((n, j) => {
      const [x, y, z] = b[n] as V3;
      // BlazePose world: x right, y down, z towards the camera → right-handed, Z up.
      positions.set([x, z, -y], (t * J + j) * 3);
      image.set([b2[n][0], b2[n][1]], (t * J + j) * 2);
    });
  }
  return {
    positions, confidence, timestamps, jointNames: names, parents, fps,
    source: { format: 'blazepose-json', file: 'tfjs_pose_squats_3d.full.json' },
    meta: { video: { width: 720, height: 1280, fps: 5 } },
    extras: { image_landmarks: nd(image, [T, J, 2]) },
  };
}

export function handTrack(handJsonFile: string): PoseTrack {
  const h = JSON.parse(fs.readFileSync(handJsonFile, 'utf8')) as { fps: number; frames: (number[][] | null)[] };
  const names = handJointNames('right');
  const parents = [...HAND_PARENTS];
  const T = h.frames.length;
  const J = names.length;
  const positions = new Float32Array(T * J * 3).fill(NaN);
  const confidence = new Float32Array(T * J);
  const timestamps = new Float64Array(T);
  for (let t = 0; t < T; t++) {
    timestamps[t] = t / h.fps;
    const f = h.frames[t];
    if (!f) continue;
    for (let j = 0; j < J; j++) {
      positions.set(f[j], (t * J + j) * 3);
      confidence[t * J + j] = 0.95;
    }
  }
  return { positions, confidence, timestamps, jointNames: names, parents, fps: h.fps, source: { format: 'mediapipe-hand-json' } };
}

/** A deep copy, so degradations never touch the original. */
export function cloneTrack(t: PoseTrack): PoseTrack {
  const extras: PoseTrack['extras'] = {};
  for (const [k, a] of Object.entries(t.extras ?? {})) extras[k] = { ...a, shape: [...a.shape], data: a.data.slice() as typeof a.data };
  return {
    ...t, positions: t.positions.slice(), confidence: t.confidence.slice(), timestamps: t.timestamps.slice(),
    jointNames: [...t.jointNames], parents: [...t.parents], meta: structuredClone(t.meta), extras,
  };
}

/** Deterministic Gaussian noise (mulberry32 + Box–Muller). */
export function gaussian(seed: number): () => number {
  let a = seed >>> 0;
  const u = () => { a = (a + 0x6d2b79f5) >>> 0; let t = a; t = Math.imul(t ^ (t >>> 15), t | 1); t ^= t + Math.imul(t ^ (t >>> 7), t | 61); return ((t ^ (t >>> 14)) >>> 0) / 4294967296; };
  return () => Math.sqrt(-2 * Math.log(u() + 1e-12)) * Math.cos(2 * Math.PI * u());
}
