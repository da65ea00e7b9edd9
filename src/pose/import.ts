/**
 * `importPose(file, opts)`: one entry point for every human-motion input. The format comes from
 * `opts.format`, else the extension, else the content.
 */
import * as path from 'node:path';
import { UserError } from '../errors.ts';
import { readInput, parseJson, type Axis, type InputFile } from './common.ts';
import { importBvh } from './bvh.ts';
import { importDeepMimic } from './deepmimic.ts';
import { importBlazePoseJson, importMediapipeHandJson, importNpy, type NpyLayout } from './landmarks.ts';
import { resampleTrack } from './resample.ts';
import type { Side } from './skeleton.ts';
import { loadTrack, validateTrack, type PoseTrack } from './track.ts';
import { importTrc } from './trc.ts';

export const POSE_FORMATS = ['bvh', 'trc', 'mediapipe-hand-json', 'blazepose-json', 'npy', 'deepmimic', 'track'] as const;
export type PoseFormat = (typeof POSE_FORMATS)[number];

export interface ImportOptions {
  format?: PoseFormat;
  /** Metres per file unit (BVH, TRC) or per pixel (BlazePose image landmarks). */
  scale?: number;
  /**
   * Frame rate. For sources that state their own rate (BVH, TRC, JSON with "fps", tracks) the track is
   * resampled to it; for sources that do not (.npy, plain JSON lists) it is the source's rate.
   */
  fps?: number;
  /** The source's frame rate, for sources that do not state one (overrides `fps` in that role). */
  sourceFps?: number;
  /** Keep a BVH's synthetic T-pose first frame. */
  keepTPose?: boolean;
  /** Hand of hand-landmark sources. */
  hand?: Side;
  /** Layout of .npy keypoints. */
  layout?: NpyLayout;
  /** Source up axis (default: detected or the format's convention). */
  up?: Axis;
  /** BlazePose: 'world' or 'image' coordinates (default: detected). */
  coordinates?: 'world' | 'image';
  /** BlazePose grounding: 'frame', 'clip' or 'none'. */
  ground?: 'frame' | 'clip' | 'none';
  /** DeepMimic: the character file (default: humanoid3d_character.json beside the motion). */
  character?: string;
}

/** The format of `file` from its extension or, failing that, its first bytes. */
export function detectFormat(input: InputFile): PoseFormat {
  const ext = path.extname(input.file).toLowerCase();
  const head = input.bytes.subarray(0, 64).toString('latin1');
  if (ext === '.bvh' || /^\s*HIERARCHY/.test(head)) return 'bvh';
  if (ext === '.trc' || /^PathFileType/.test(head)) return 'trc';
  if (ext === '.npy' || head.startsWith('\x93NUMPY')) return 'npy';
  if (ext === '.npz' || head.startsWith('PK\x03\x04')) return 'track';
  if (ext === '.json' || /^\s*[[{]/.test(head)) return detectJson(input);
  throw new UserError(`cannot tell the format (extension '${ext || 'none'}'); state --format (${POSE_FORMATS.join(', ')})`, input.file);
}

function detectJson(input: InputFile): PoseFormat {
  const doc = parseJson(input);
  if (doc && typeof doc === 'object' && !Array.isArray(doc)) {
    const o = doc as Record<string, unknown>;
    if (Array.isArray(o.Frames) && 'Loop' in o) return 'deepmimic';
    if (typeof o.keypoint_order === 'string' && /hand/i.test(o.keypoint_order)) return 'mediapipe-hand-json';
  }
  const frames = Array.isArray(doc) ? doc : (doc as Record<string, unknown> | null)?.frames ?? (doc as Record<string, unknown> | null)?.landmarks;
  if (!Array.isArray(frames)) throw new UserError('JSON is not a landmark file (no list of frames); state --format', input.file);
  for (let f of frames) {
    if (Array.isArray(f) && f.length === 1 && f[0] && typeof f[0] === 'object' && !Array.isArray(f[0])) f = f[0];
    if (f && typeof f === 'object' && !Array.isArray(f)) {
      const k = (f as Record<string, unknown>).keypoints3D ?? (f as Record<string, unknown>).keypoints;
      if (Array.isArray(k)) f = k;
    }
    if (!Array.isArray(f) || !f.length) continue;
    if (f.length === 21) return 'mediapipe-hand-json';
    if (f.length === 33 || f.length === 39) return 'blazepose-json';
    throw new UserError(`JSON frames have ${f.length} landmarks: neither MediaPipe hand (21) nor BlazePose (33); state --format`, input.file);
  }
  throw new UserError('JSON has no frame with landmarks', input.file);
}

/** Import any supported human-motion file as a validated PoseTrack. */
export function importPose(file: string, opts: ImportOptions = {}): PoseTrack {
  const input = readInput(file);
  const format = opts.format ?? detectFormat(input);
  if (!POSE_FORMATS.includes(format)) throw new UserError(`unknown format '${format}' (use ${POSE_FORMATS.join(', ')})`, file);
  if (opts.fps !== undefined && (!(opts.fps > 0) || !Number.isFinite(opts.fps))) throw new UserError(`--fps must be a positive number, got ${opts.fps}`, file);
  let track: PoseTrack;
  let statesRate = true;
  switch (format) {
    case 'bvh': track = importBvh(file, { scale: opts.scale, keepTPose: opts.keepTPose, up: opts.up }, input); break;
    case 'trc': track = importTrc(file, { scale: opts.scale, up: opts.up }, input); break;
    case 'mediapipe-hand-json': {
      const doc = parseJson(input) as Record<string, unknown>;
      statesRate = !Array.isArray(doc) && typeof doc?.fps === 'number';
      track = importMediapipeHandJson(file, { hand: opts.hand, fps: statesRate ? undefined : opts.sourceFps ?? opts.fps }, input);
      break;
    }
    case 'blazepose-json': {
      const doc = parseJson(input) as Record<string, unknown>;
      statesRate = !Array.isArray(doc) && typeof doc?.fps === 'number';
      track = importBlazePoseJson(file, { fps: statesRate ? undefined : opts.sourceFps ?? opts.fps, scale: opts.scale, coordinates: opts.coordinates, ground: opts.ground }, input);
      break;
    }
    case 'npy':
      statesRate = false;
      track = importNpy(file, { layout: opts.layout, fps: opts.sourceFps ?? opts.fps, hand: opts.hand, up: opts.up, scale: opts.scale, coordinates: opts.coordinates, ground: opts.ground }, input);
      break;
    case 'deepmimic': track = importDeepMimic(file, { character: opts.character }, input); break;
    case 'track': track = loadTrack(file); break;
  }
  if (statesRate && opts.fps !== undefined && Math.abs(opts.fps - track.fps) > 1e-9) track = resampleTrack(track, opts.fps, { file });
  validateTrack(track, file);
  requireData(track, file);
  return track;
}

/** Refuse a track with no frames, or in which no joint is present in any frame (all NaN / confidence 0). */
export function requireData(track: PoseTrack, file?: string): void {
  if (track.timestamps.length === 0) throw new UserError('the track has no frames', file);
  const c = track.confidence;
  for (let k = 0; k < c.length; k++) if (c[k] > 0) return;
  throw new UserError(`the track has no data: no joint is present in any of its ${track.timestamps.length} frames (every position missing or NaN)`, file);
}
