/**
 * The benchmark's corpus: files and directories (walked recursively) of clips any importer reads (BVH,
 * TRC, landmark JSON, .npy keypoints, pose-track .npz, DeepMimic JSON), videos (captured, slow) and
 * `builtin:<name>` for the built-in motion. Each clip is cropped to its first `maxSeconds` and resampled
 * down to `fps`, so clips of every source are compared at one rate.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { UserError } from '../errors.ts';
import { importPose, builtinMotion, BUILTIN_MOTIONS, resampleTrack, type BuiltinMotionName } from '../pose/index.ts';
import type { PoseTrack } from '../pose/track.ts';

export const CLIP_EXTENSIONS = ['.bvh', '.trc', '.json', '.npy', '.npz'];
export const VIDEO_EXTENSIONS = ['.mp4', '.mov', '.webm', '.avi', '.mkv'];

export interface ClipEntry {
  /** Short unique id (file name relative to the corpus argument it came from, or builtin:<name>). */
  id: string;
  /** Absolute path, or builtin:<name>. */
  file: string;
  kind: 'pose' | 'video' | 'builtin';
  /** The source's frame rate where the file states none (e.g. keypoints extracted from a 5 fps video). */
  sourceFps?: number;
  /** What to capture from a video (default body and hands); a hand video: `{ body: false, hands: true }`. */
  capture?: { body: boolean; hands: boolean };
}

/** Expand corpus arguments into clip entries (sorted, duplicates removed). Missing paths are UserErrors. */
export function listCorpus(args: string[], opts: { videos?: boolean } = {}): ClipEntry[] {
  const out: ClipEntry[] = [];
  const seen = new Set<string>();
  const push = (e: ClipEntry) => {
    if (seen.has(e.file)) return;
    seen.add(e.file);
    let id = e.id;
    for (let k = 2; out.some((o) => o.id === id); k++) id = `${e.id}#${k}`;
    out.push({ ...e, id });
  };
  for (const arg of args) {
    if (arg.startsWith('builtin:')) {
      const name = arg.slice(8) || BUILTIN_MOTIONS[0];
      if (!BUILTIN_MOTIONS.includes(name as BuiltinMotionName)) throw new UserError(`unknown built-in motion '${name}' (have ${BUILTIN_MOTIONS.join(', ')})`, arg);
      push({ id: `builtin:${name}`, file: `builtin:${name}`, kind: 'builtin' });
      continue;
    }
    if (!fs.existsSync(arg)) throw new UserError('no such file or directory', arg);
    const abs = path.resolve(arg);
    if (fs.statSync(abs).isDirectory()) {
      const files: string[] = [];
      const walk = (d: string) => {
        for (const n of fs.readdirSync(d).sort()) {
          const p = path.join(d, n);
          if (fs.statSync(p).isDirectory()) walk(p);
          else files.push(p);
        }
      };
      walk(abs);
      for (const f of files) {
        const ext = path.extname(f).toLowerCase();
        const kind = CLIP_EXTENSIONS.includes(ext) ? 'pose' : VIDEO_EXTENSIONS.includes(ext) && opts.videos ? 'video' : null;
        if (kind) push({ id: path.relative(path.dirname(abs), f), file: f, kind });
      }
    } else {
      const ext = path.extname(abs).toLowerCase();
      push({ id: path.basename(abs), file: abs, kind: VIDEO_EXTENSIONS.includes(ext) ? 'video' : 'pose' });
    }
  }
  return out;
}

export interface LoadOptions {
  /** Keep only the first this many seconds (default 10). */
  maxSeconds?: number;
  /** Resample clips faster than this down to it (default 30). */
  fps?: number;
  /** Frames captured from a video at most (default maxSeconds × the video's rate). */
  videoMaxFrames?: number;
}

/** Read one clip as a cropped, resampled pose track. Throws UserError (naming the file) when it cannot. */
export async function loadClip(e: ClipEntry, opts: LoadOptions = {}): Promise<PoseTrack> {
  const maxSeconds = opts.maxSeconds ?? 10;
  const fps = opts.fps ?? 30;
  let track: PoseTrack;
  if (e.kind === 'builtin') track = builtinMotion(e.file.slice(8) as BuiltinMotionName);
  else if (e.kind === 'video') {
    const { captureVideo } = await import('../capture/index.ts');
    track = await captureVideo(e.file, { end: maxSeconds, maxFrames: opts.videoMaxFrames, ...e.capture });
  } else track = importPose(e.file, e.sourceFps ? { sourceFps: e.sourceFps } : {});
  return cropAndResample(track, maxSeconds, fps);
}

/**
 * A corpus clip for a benchmark: its track, or the one-line reason it is skipped (a file it cannot read — a
 * UserError — or fewer than 10 frames after cropping). Any other error propagates.
 */
export async function loadBenchClip(e: ClipEntry, opts: LoadOptions = {}): Promise<{ track: PoseTrack } | { skip: string }> {
  let track: PoseTrack;
  try {
    track = await loadClip(e, opts);
  } catch (err) {
    if (!(err instanceof UserError)) throw err;
    return { skip: err.message };
  }
  if (track.timestamps.length < 10) return { skip: `only ${track.timestamps.length} frames after cropping` };
  return { track };
}

export function cropAndResample(track: PoseTrack, maxSeconds: number, fps: number): PoseTrack {
  let t = track;
  if (t.fps > fps * 1.001) t = resampleTrack(t, fps);
  const T = t.timestamps.length;
  const end = t.timestamps[0] + maxSeconds - 1e-9;
  let n = 0;
  while (n < T && t.timestamps[n] < end) n++;
  if (n < T) {
    const J = t.jointNames.length;
    t = {
      ...t,
      positions: t.positions.slice(0, n * J * 3),
      confidence: t.confidence.slice(0, n * J),
      timestamps: t.timestamps.slice(0, n),
      extras: t.extras ? cropExtras(t.extras, T, n) : undefined,
    };
  }
  return t;
}

function cropExtras(ex: NonNullable<PoseTrack['extras']>, T: number, n: number): PoseTrack['extras'] {
  const out: NonNullable<PoseTrack['extras']> = {};
  for (const [k, a] of Object.entries(ex)) {
    if (a.shape[0] !== T) continue;
    const per = a.data.length / T;
    out[k] = { ...a, shape: [n, ...a.shape.slice(1)], data: a.data.slice(0, n * per) as typeof a.data };
  }
  return out;
}
