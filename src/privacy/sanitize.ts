/**
 * Data minimisation for a kept video (`--keep-video`): re-encode with every piece of metadata stripped
 * (global and stream tags: GPS/location atoms, device make/model, creation dates, encoder; chapters; data,
 * subtitle and attachment streams), audio dropped unless asked for, and every face blurred (the worker's hands
 * are left alone). Then VERIFY the written file, not the intent: read its metadata back with ffprobe and run
 * the face detector again on sampled frames. A file that fails verification is deleted and the call throws.
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';
import { UserError } from '../errors.ts';
import { decodeFrames, probeVideo } from '../capture/video.ts';
import { ffprobe, requireTool, type ProbeResult } from '../io/ffmpeg.ts';
import { FaceDetector, blurBox, type FaceBox } from './faces.ts';

/** Tags that may remain: container brand fields and neutral stream descriptors. Anything else is a finding. */
const ALLOWED_FORMAT_TAGS = new Set(['major_brand', 'minor_version', 'compatible_brands']);
const ALLOWED_STREAM_TAGS = new Set(['language', 'handler_name', 'vendor_id']);
const NEUTRAL_HANDLERS = /^(VideoHandler|SoundHandler|Core Media (Video|Audio))?$/;
/** Our own encoder's name (ffmpeg writes it even with +bitexact): software, not a device or a person. */
const NEUTRAL_ENCODER = /^Lav[cf][\d.]* ?(libx264|aac)?$/;

export interface SanitizeOptions {
  /** Called per frame while faces are blurred and the video re-encoded (total: the container's frame count). */
  onProgress?: (done: number, total: number) => void;
  /** Keep the audio track (metadata stripped). Default false: audio is dropped. */
  keepAudio?: boolean;
  /** Blur faces (default true). */
  blurFaces?: boolean;
  /** Detector score at or above which a region is blurred (default 0.5). */
  faceScore?: number;
  /** Verification fails when a sampled output frame still has a detection at or above this (default 0.75). */
  verifyScore?: number;
  /** Blur a face also this many frames before and after each frame it was detected in (default 2). */
  dilate?: number;
  /**
   * Run the detector on every n-th frame (default: about 6 times a second, n = round(fps / 6), at least 1);
   * the frames between take the boxes of the detections around them (the dilation grows by n - 1).
   */
  detectEvery?: number;
  /** Frames re-checked by the detector after writing (default 12, evenly spaced). */
  sampleFrames?: number;
  /** Scan finer tiles for small faces (slower). */
  fine?: boolean;
  /** x264 CRF (default 20). */
  crf?: number;
}

export interface MetadataFinding { where: string; key: string; value: string }

export interface SanitizeReport {
  output: string;
  frames: number;
  width: number;
  height: number;
  audio: 'kept' | 'dropped' | 'none';
  /** What the input carried that was removed. */
  removed: { tags: MetadataFinding[]; streams: string[]; chapters: number };
  faces: { frames_detected: number; frames_with_faces: number; boxes: number; max_input_score: number; detect_every: number };
  verification: { metadata: MetadataFinding[]; extra_streams: string[]; frames_checked: number; max_face_score: number; verify_score: number };
}

/** Metadata findings in a probe: every tag outside the neutral allow-list, every non-A/V stream, chapters. */
export function metadataFindings(p: ProbeResult): { tags: MetadataFinding[]; streams: string[]; chapters: number } {
  const tags: MetadataFinding[] = [];
  for (const [k, v] of Object.entries(p.format.tags ?? {})) if (!ALLOWED_FORMAT_TAGS.has(k)) tags.push({ where: 'format', key: k, value: String(v) });
  const streams: string[] = [];
  for (const s of p.streams) {
    if (s.codec_type !== 'video' && s.codec_type !== 'audio') streams.push(`#${s.index} ${s.codec_type}${s.codec_tag_string ? ` (${s.codec_tag_string})` : ''}`);
    for (const [k, v] of Object.entries(s.tags ?? {})) {
      if (ALLOWED_STREAM_TAGS.has(k) && (k !== 'handler_name' || NEUTRAL_HANDLERS.test(String(v)))) continue;
      if (k === 'encoder' && NEUTRAL_ENCODER.test(String(v))) continue;
      tags.push({ where: `stream #${s.index}`, key: k, value: String(v) });
    }
  }
  return { tags, streams, chapters: Array.isArray(p.chapters) ? p.chapters.length : 0 };
}

function tmpBeside(target: string): string {
  const ext = path.extname(target) || '.mp4';
  return path.join(path.dirname(target), `.${path.basename(target, ext)}.tmp-${process.pid}-${randomBytes(4).toString('hex')}${ext}`);
}

/** Re-encode `input` to `output` with metadata stripped and faces blurred, then verify the written file. */
export async function sanitizeVideo(input: string, output: string, opts: SanitizeOptions = {}): Promise<SanitizeReport> {
  const ffmpeg = requireTool('ffmpeg');
  const before = ffprobe(input);
  const info = probeVideo(input);
  const ext = path.extname(output).toLowerCase();
  if (!['.mp4', '.mov', '.mkv'].includes(ext)) throw new UserError('output must be .mp4, .mov or .mkv', output);
  const hasAudio = before.streams.some((s) => s.codec_type === 'audio');
  const keepAudio = Boolean(opts.keepAudio) && hasAudio;
  const blur = opts.blurFaces ?? true;
  const faceScore = opts.faceScore ?? 0.5;
  const verifyScore = opts.verifyScore ?? 0.75;
  const every = Math.max(1, Math.floor(opts.detectEvery ?? Math.round((info.fps > 0 ? info.fps : 30) / 6)));
  const dilate = (opts.dilate ?? 2) + every - 1;
  const detector = blur || (opts.sampleFrames ?? 12) > 0 ? await FaceDetector.create({ minScore: faceScore, fine: opts.fine }) : null;
  const inputFindings = metadataFindings(before);

  fs.mkdirSync(path.dirname(path.resolve(output)), { recursive: true });
  const tmp = tmpBeside(output);
  const { width, height } = info;
  const args = ['-hide_banner', '-nostdin', '-loglevel', 'error', '-y',
    '-f', 'rawvideo', '-pix_fmt', 'rgb24', '-s', `${width}x${height}`, '-framerate', String(info.fps), '-i', 'pipe:0'];
  if (keepAudio) args.push('-i', input);
  args.push('-map', '0:v:0');
  if (keepAudio) args.push('-map', '1:a:0', '-c:a', 'aac', '-b:a', '128k', '-metadata:s:a:0', 'handler_name=SoundHandler');
  args.push(
    '-map_metadata', '-1', '-map_chapters', '-1', '-dn', '-sn',
    '-fflags', '+bitexact', '-flags:v', '+bitexact', '-flags:a', '+bitexact',
    '-metadata:s:v:0', 'handler_name=VideoHandler', '-metadata:s:v:0', 'language=und',
    '-c:v', 'libx264', '-preset', 'veryfast', '-crf', String(opts.crf ?? 20), '-pix_fmt', 'yuv420p',
  );
  if (ext === '.mp4' || ext === '.mov') args.push('-movflags', '+faststart');
  args.push(tmp);
  const enc = spawn(ffmpeg, args, { stdio: ['pipe', 'ignore', 'pipe'] });
  let encErr = '';
  enc.stderr!.setEncoding('utf8');
  enc.stderr!.on('data', (c: string) => (encErr = (encErr + c).slice(-4000)));
  const encDone = new Promise<number>((resolve) => enc.on('close', (code) => resolve(code ?? -1)));
  enc.stdin!.on('error', () => { /* reported through the exit code */ });
  const write = (buf: Uint8Array) => new Promise<void>((resolve) => { if (enc.stdin!.write(buf)) resolve(); else enc.stdin!.once('drain', resolve); });

  let frames = 0;
  let framesWithFaces = 0;
  let boxesTotal = 0;
  let maxInput = 0;
  // Frames wait `dilate` frames so a face found later also blurs the frames just before it.
  const queue: { data: Uint8Array; boxes: FaceBox[] }[] = [];
  const recent: FaceBox[][] = [];
  const flush = async (force: boolean) => {
    while (queue.length > (force ? 0 : dilate)) {
      const f = queue.shift()!;
      const idx = recent.length - queue.length - 1;
      const near: FaceBox[] = [];
      for (let k = Math.max(0, idx - dilate); k <= Math.min(recent.length - 1, idx + dilate); k++) near.push(...recent[k]);
      for (const b of near) blurBox(f.data, width, height, b);
      await write(f.data);
    }
    // Keep only what dilation can still reach.
    const keep = queue.length + dilate + 1;
    if (recent.length > keep * 4) recent.splice(0, recent.length - keep);
  };
  try {
    for await (const fr of decodeFrames(input, info)) {
      const data = Uint8Array.from(fr.data);
      const boxes = blur && detector && frames % every === 0 ? detector.detect(data, width, height) : [];
      if (boxes.length) framesWithFaces++;
      boxesTotal += boxes.length;
      for (const b of boxes) maxInput = Math.max(maxInput, b.score);
      recent.push(boxes);
      queue.push({ data, boxes });
      frames++;
      opts.onProgress?.(frames, Math.max(frames, info.frameCount));
      await flush(false);
    }
    await flush(true);
  } catch (err) {
    enc.kill('SIGKILL');
    await encDone;
    fs.rmSync(tmp, { force: true });
    throw err;
  }
  enc.stdin!.end();
  const code = await encDone;
  if (code !== 0 || frames === 0) {
    fs.rmSync(tmp, { force: true });
    throw new UserError(frames === 0 ? 'no frames decoded' : `ffmpeg could not encode the sanitized video: ${encErr.trim().split('\n').pop()}`, input);
  }

  let verification: SanitizeReport['verification'];
  try {
    verification = await verifySanitized(tmp, { verifyScore, sampleFrames: opts.sampleFrames ?? 12, detector, expectAudio: keepAudio });
  } catch (err) {
    fs.rmSync(tmp, { force: true });
    // Name the requested output, not the temporary file that no longer exists.
    if (err instanceof UserError) throw new UserError(err.message.slice(tmp.length + 2), output);
    throw err;
  }
  fs.renameSync(tmp, output);
  return {
    output,
    frames,
    width,
    height,
    audio: hasAudio ? (keepAudio ? 'kept' : 'dropped') : 'none',
    removed: inputFindings,
    faces: { frames_detected: blur ? Math.ceil(frames / every) : 0, frames_with_faces: framesWithFaces, boxes: boxesTotal, max_input_score: Math.round(maxInput * 1000) / 1000, detect_every: every },
    verification: { ...verification, metadata: verification.metadata },
  };
}

/**
 * Check a written file: no metadata beyond the neutral allow-list, only video (+ audio when kept) streams, no
 * chapters, and no face at or above `verifyScore` on `sampleFrames` evenly spaced frames. Throws a UserError
 * naming the file with what was found.
 */
export async function verifySanitized(
  file: string,
  opts: { verifyScore?: number; sampleFrames?: number; detector?: FaceDetector | null; expectAudio?: boolean } = {},
): Promise<SanitizeReport['verification']> {
  const p = ffprobe(file);
  const f = metadataFindings(p);
  const problems: string[] = [];
  if (f.tags.length) problems.push(`metadata left: ${f.tags.map((t) => `${t.where} ${t.key}=${t.value}`).join(', ')}`);
  if (f.streams.length) problems.push(`extra streams: ${f.streams.join(', ')}`);
  if (f.chapters) problems.push(`${f.chapters} chapter(s)`);
  if (!opts.expectAudio && p.streams.some((s) => s.codec_type === 'audio')) problems.push('audio present');
  const verifyScore = opts.verifyScore ?? 0.75;
  const n = opts.sampleFrames ?? 12;
  let checked = 0;
  let maxScore = 0;
  if (n > 0) {
    const det = opts.detector ?? (await FaceDetector.create());
    const info = probeVideo(file);
    const total = info.frameCount || 1;
    const step = Math.max(1, Math.floor(total / n));
    let worst = -1;
    for await (const fr of decodeFrames(file, info)) {
      if (fr.index % step !== 0) continue;
      const s = det.maxScore(fr.data, fr.width, fr.height);
      checked++;
      if (s > maxScore) { maxScore = s; worst = fr.index; }
    }
    if (maxScore >= verifyScore) problems.push(`a face is still detected (score ${maxScore.toFixed(3)} >= ${verifyScore}) at frame ${worst}`);
  }
  if (problems.length) throw new UserError(`sanitized video failed verification: ${problems.join('; ')}`, file);
  return { metadata: f.tags, extra_streams: f.streams, frames_checked: checked, max_face_score: Math.round(maxScore * 1000) / 1000, verify_score: verifyScore };
}
