/**
 * Video decoding through ffmpeg: `probeVideo` (ffprobe) for a file's properties and `decodeFrames`, an async
 * stream of raw RGB frames with the real presentation timestamp of each frame.
 *
 * Memory is constant whatever the video's length: frames are read from ffmpeg's stdout into one reusable
 * buffer (a yielded frame's pixels are valid until the next iteration). Timestamps come from ffmpeg's
 * `showinfo` filter on stderr with `-copyts` and passthrough frame timing, so a variable-frame-rate phone file
 * gives the same per-frame times as `ffprobe -show_frames`. Rotation metadata is applied by ffmpeg (autorotate),
 * so frames arrive upright; the rotation is reported in the probe.
 */
import { execFile, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import { findTool, requireTool } from '../io/ffmpeg.ts';
import { UserError } from '../errors.ts';

export interface VideoInfo {
  /** Base name of the file. */
  file: string;
  codec: string;
  container: string;
  /** Size as stored in the stream (before rotation). */
  codedWidth: number;
  codedHeight: number;
  /** Size of the upright picture (after applying rotation): what decodeFrames delivers at scale 1. */
  width: number;
  height: number;
  /** Clockwise rotation to apply for display, degrees (0, 90, 180, 270). */
  rotation: number;
  /** Average frame rate; `nominalFps` is the stream's declared rate. They differ for variable-frame-rate files. */
  fps: number;
  nominalFps: number;
  /** Seconds. */
  duration: number;
  /** Frame count if the container states it, else an estimate from duration × fps. */
  frameCount: number;
  frameCountExact: boolean;
  startTime: number;
  pixelFormat: string;
}

export interface Frame {
  /** 0-based index among the frames this stream delivered. */
  index: number;
  /** Presentation time, seconds, in the file's own time line (as ffprobe's pts_time). */
  time: number;
  width: number;
  height: number;
  /** RGB24, row-major, width*height*3 bytes. Reused: valid until the next frame is requested. */
  data: Uint8Array;
}

export interface DecodeOptions {
  /** Scale so that the long side is at most this many pixels (never upscales). Default: no scaling. */
  maxSide?: number;
  /** Start decoding at this time (seconds); frames before it are skipped exactly. */
  start?: number;
  /** Stop before this time (seconds). */
  end?: number;
  /** Stop after this many frames. */
  maxFrames?: number;
  /** ffmpeg decoder threads (default 1: the pose models use the cores). */
  threads?: number;
}

let given: { ffmpeg: string; ffprobe: string | null } | null = null;

/**
 * Use tools another thread already located (capture's worker threads get the main thread's), instead of
 * running `ffmpeg -version` / `ffprobe -version` again in each thread: a process spawn from a thread of a
 * several-hundred-MB process cost 1-4 s per worker on the loaded test machine.
 */
export function setFfmpegTools(found: { ffmpeg: string; ffprobe: string | null }): void {
  given = found;
}

/** ffmpeg (required: a UserError saying how to install it) and ffprobe (null when absent), via src/io/ffmpeg.ts. */
export function findFfmpeg(): { ffmpeg: string; ffprobe: string | null } {
  return given ?? { ffmpeg: requireTool('ffmpeg'), ffprobe: findTool('ffprobe') };
}

function ratio(s: unknown): number {
  if (typeof s !== 'string') return NaN;
  const [a, b] = s.split('/').map(Number);
  return b ? a / b : Number(a);
}

function base(file: string): string {
  return file.split(/[\\/]/).pop() ?? file;
}

/** Check the file exists and is a non-empty regular file; UserError otherwise. */
function checkInputFile(file: string): void {
  let st: fs.Stats;
  try {
    st = fs.statSync(file);
  } catch {
    throw new UserError('no such file', file);
  }
  if (st.isDirectory()) throw new UserError('is a directory, expected a video file', file);
  if (st.size === 0) throw new UserError('empty file, expected a video', file);
}

/** Properties of the first video stream of `file`. UserError when it is missing, empty or not a video. */
export function probeVideo(file: string): VideoInfo {
  checkInputFile(file);
  const { ffprobe } = findFfmpeg();
  if (!ffprobe) return probeWithFfmpeg(file);
  const r = spawnSync(ffprobe, ffprobeArgs(file), { encoding: 'utf8', timeout: 60_000, maxBuffer: 16 * 1024 * 1024 });
  return fromFfprobe(file, r.status, r.stdout, r.stderr);
}

/**
 * probeVideo without blocking this thread while ffprobe runs (its process start, ≈ 0.3 s, can then overlap other
 * start-up work such as creating model sessions). Same result and errors; a missing or unreadable file is
 * reported synchronously (thrown before the promise), as by probeVideo.
 */
export function probeVideoAsync(file: string): Promise<VideoInfo> {
  checkInputFile(file);
  const { ffprobe } = findFfmpeg();
  if (!ffprobe) return Promise.resolve().then(() => probeWithFfmpeg(file));
  return new Promise((resolve, reject) => {
    execFile(ffprobe, ffprobeArgs(file), { encoding: 'utf8', timeout: 60_000, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      const status = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : -1) : 0;
      try { resolve(fromFfprobe(file, status, stdout, stderr)); } catch (e) { reject(e); }
    });
  });
}

function ffprobeArgs(file: string): string[] {
  return ['-v', 'error', '-print_format', 'json', '-show_streams', '-show_format', '-select_streams', 'v:0', file];
}

/** VideoInfo from ffprobe's exit status and output; a UserError naming the file when it is not a usable video. */
function fromFfprobe(file: string, status: number | null, stdout: string, stderr: string): VideoInfo {
  const r = { status, stdout, stderr };
  if (r.status !== 0) {
    const why = (r.stderr || '').trim().split('\n').pop()?.replace(/^.*?:\s*/, '') || 'ffprobe failed';
    throw new UserError(`not a readable video (${why})`, file);
  }
  let j: { streams?: Record<string, any>[]; format?: Record<string, any> };
  try {
    j = JSON.parse(r.stdout);
  } catch {
    throw new UserError('not a readable video (ffprobe gave no description)', file);
  }
  const s = j.streams?.[0];
  if (!s || s.codec_type !== 'video') throw new UserError('has no video stream', file);
  if (s.disposition?.attached_pic) throw new UserError('has only a still picture (cover art), no video', file);
  const codedWidth = Number(s.width);
  const codedHeight = Number(s.height);
  if (!(codedWidth > 0 && codedHeight > 0)) throw new UserError('video stream has no picture size (corrupt?)', file);
  let rot = 0;
  for (const sd of s.side_data_list ?? []) if (typeof sd.rotation === 'number') rot = sd.rotation;
  if (!rot && s.tags?.rotate) rot = -Number(s.tags.rotate);
  // ffprobe's display-matrix rotation is counter-clockwise; express it as the clockwise turn to display.
  const rotation = (((-Math.round(rot / 90) * 90) % 360) + 360) % 360;
  const swap = rotation === 90 || rotation === 270;
  const nominalFps = ratio(s.r_frame_rate);
  const avgFps = ratio(s.avg_frame_rate);
  const duration = Number(s.duration ?? j.format?.duration);
  const nb = Number(s.nb_frames);
  const fps = avgFps > 0 && Number.isFinite(avgFps) ? avgFps : nominalFps > 0 ? nominalFps : 30;
  const frameCountExact = Number.isFinite(nb) && nb > 0;
  return {
    file: base(file),
    codec: String(s.codec_name ?? 'unknown'),
    container: String(j.format?.format_name ?? 'unknown'),
    codedWidth,
    codedHeight,
    width: swap ? codedHeight : codedWidth,
    height: swap ? codedWidth : codedHeight,
    rotation,
    fps,
    nominalFps: nominalFps > 0 ? nominalFps : fps,
    duration: Number.isFinite(duration) ? duration : NaN,
    frameCount: frameCountExact ? nb : Number.isFinite(duration) ? Math.round(duration * fps) : 0,
    frameCountExact,
    startTime: Number(s.start_time ?? 0) || 0,
    pixelFormat: String(s.pix_fmt ?? ''),
  };
}

/** Fallback probe for an ffmpeg without ffprobe: parse `ffmpeg -i` banner. */
function probeWithFfmpeg(file: string): VideoInfo {
  const { ffmpeg } = findFfmpeg();
  const r = spawnSync(ffmpeg, ['-hide_banner', '-i', file], { encoding: 'utf8', timeout: 60_000 });
  const err = r.stderr || '';
  const m = /Stream #\S+.*Video: (\w+).*?, (\d+)x(\d+)[^\n]*?(?:, ([\d.]+) fps)?/.exec(err);
  if (!m) throw new UserError('not a readable video (no video stream found)', file);
  const d = /Duration: (\d+):(\d+):([\d.]+)/.exec(err);
  const duration = d ? Number(d[1]) * 3600 + Number(d[2]) * 60 + Number(d[3]) : NaN;
  const rm = /rotate\s*:\s*(-?\d+)/.exec(err) ?? /rotation of (-?[\d.]+) degrees/.exec(err);
  const rotation = rm ? ((Math.round(Number(rm[1]) / 90) * 90) % 360 + 360) % 360 : 0;
  const w = Number(m[2]);
  const h = Number(m[3]);
  const fps = Number(m[4]) || 30;
  const swap = rotation === 90 || rotation === 270;
  return {
    file: base(file), codec: m[1], container: 'unknown', codedWidth: w, codedHeight: h,
    width: swap ? h : w, height: swap ? w : h, rotation, fps, nominalFps: fps, duration,
    frameCount: Number.isFinite(duration) ? Math.round(duration * fps) : 0, frameCountExact: false, startTime: 0, pixelFormat: '',
  };
}

/** Output size for a probe and a maximum long side (even numbers, aspect kept). */
export function outputSize(info: VideoInfo, maxSide?: number): { width: number; height: number } {
  let { width, height } = info;
  if (maxSide && Math.max(width, height) > maxSide) {
    const s = maxSide / Math.max(width, height);
    width = Math.max(2, Math.round((width * s) / 2) * 2);
    height = Math.max(2, Math.round((height * s) / 2) * 2);
  }
  return { width, height };
}

/**
 * Decode `file` into RGB frames. Throws UserError (naming the file) when ffmpeg cannot decode it or delivers
 * no frame at all; a file that breaks off mid-way ends the stream at the last good frame and sets
 * `stats.truncated` on the returned iterator's state.
 */
export async function* decodeFrames(file: string, info: VideoInfo, opts: DecodeOptions = {}, stats: DecodeStats = {}): AsyncGenerator<Frame> {
  const { ffmpeg } = findFfmpeg();
  const { width, height } = outputSize(info, opts.maxSide);
  const frameBytes = width * height * 3;
  const args = ['-hide_banner', '-nostdin', '-nostats', '-loglevel', 'info', '-threads', String(opts.threads ?? 1)];
  const seek = opts.start && opts.start > 0 ? Math.max(0, opts.start - 1) : 0;
  if (seek > 0) args.push('-ss', seek.toFixed(6));
  args.push('-copyts', '-i', file, '-map', '0:v:0', '-an', '-sn', '-dn');
  const filters = ['showinfo=checksum=0'];
  if (width !== info.width || height !== info.height) filters.push(`scale=${width}:${height}:flags=bilinear`);
  args.push('-vf', filters.join(','), '-fps_mode', 'passthrough', '-pix_fmt', 'rgb24', '-f', 'rawvideo', 'pipe:1');
  const proc: ChildProcess = spawn(ffmpeg, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const times: number[] = [];
  let errTail = '';
  let timeBase = 0;
  let errBuf = '';
  let notify: (() => void) | null = null;
  let exited = false;
  let exitCode: number | null = null;
  const wake = () => {
    const n = notify;
    notify = null;
    n?.();
  };
  proc.stderr!.setEncoding('utf8');
  proc.stderr!.on('data', (chunk: string) => {
    errBuf += chunk;
    let nl: number;
    while ((nl = errBuf.indexOf('\n')) >= 0) {
      const line = errBuf.slice(0, nl);
      errBuf = errBuf.slice(nl + 1);
      if (line.includes('Parsed_showinfo')) {
        // Exact times: integer pts × the filter's input time base (pts_time is printed with 4-6 digits).
        const tb = /config in time_base:\s*(\d+)\/(\d+)/.exec(line);
        if (tb && Number(tb[2]) > 0) timeBase = Number(tb[1]) / Number(tb[2]);
        const m = /\bpts:\s*(-?\d+|NOPTS)\s+pts_time:\s*(\S+)/.exec(line);
        if (m) times.push(m[1] === 'NOPTS' ? NaN : timeBase > 0 ? Number(m[1]) * timeBase : Number(m[2]));
      } else errTail = (errTail + line + '\n').slice(-4000);
    }
    wake();
  });
  const closed = new Promise<void>((resolve) => {
    proc.on('close', (code) => {
      exited = true;
      exitCode = code;
      wake();
      resolve();
    });
  });
  proc.on('error', () => {
    exited = true;
    wake();
  });
  const buf = new Uint8Array(frameBytes);
  let fill = 0;
  let delivered = 0;
  let decoded = 0;
  const frame: Frame = { index: 0, time: 0, width, height, data: buf };
  const start = opts.start ?? -Infinity;
  const end = opts.end ?? Infinity;
  const waitTime = async (k: number) => {
    while (times.length <= k && !exited) await new Promise<void>((r) => (notify = r));
    if (times.length <= k) await closed;
  };
  try {
    for await (const chunk of proc.stdout! as AsyncIterable<Buffer>) {
      let off = 0;
      while (off < chunk.length) {
        const n = Math.min(frameBytes - fill, chunk.length - off);
        buf.set(chunk.subarray(off, off + n), fill);
        fill += n;
        off += n;
        if (fill === frameBytes) {
          fill = 0;
          await waitTime(decoded);
          const t = times[decoded] ?? NaN;
          decoded++;
          if (t < start - 1e-6) continue;
          if (t >= end - 1e-6 || (opts.maxFrames !== undefined && delivered >= opts.maxFrames)) {
            stats.stoppedEarly = true;
            return;
          }
          frame.index = delivered++;
          frame.time = t;
          yield frame;
        }
      }
    }
    await closed;
    stats.frames = delivered;
    if (exitCode !== 0 && !stats.stoppedEarly) {
      const why = lastError(errTail);
      if (delivered === 0) throw new UserError(`cannot decode video (${why})`, file);
      stats.truncated = true;
      stats.error = why;
    } else if (delivered === 0 && !(opts.start && opts.start > 0)) {
      throw new UserError('video has no decodable frames', file);
    }
    if (/error while decoding|Invalid data found|corrupt|partial file|Invalid NAL/i.test(errTail)) {
      stats.warnings = lastError(errTail);
      if (/partial file|End of file/i.test(errTail)) stats.truncated = true;
    }
  } finally {
    stats.frames = delivered;
    if (!exited) proc.kill('SIGKILL');
  }
}

export interface DecodeStats {
  frames?: number;
  truncated?: boolean;
  stoppedEarly?: boolean;
  error?: string;
  warnings?: string;
}

function lastError(tail: string): string {
  const lines = tail.split('\n').map((l) => l.trim()).filter((l) => l && !/^(Input|Output|Stream|Duration|Metadata|Press|frame=|\s*[a-z_]+\s*:)/.test(l));
  const l = lines.pop() ?? 'ffmpeg failed';
  return l.replace(/^\[[^\]]*\]\s*/, '').slice(0, 200);
}
