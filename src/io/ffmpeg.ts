/**
 * The project's one way to find and probe with ffmpeg / ffprobe (capture, quality, privacy and the viewer's
 * tests all use it). $REEL2REAL_FFMPEG / $REEL2REAL_FFPROBE override; otherwise the tools on PATH, then
 * /usr/bin. There is no bundled fallback: Debian's `ffmpeg` package (with ffprobe) is what the project uses.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { UserError } from '../errors.ts';

const found = new Map<string, string | null>();

/** Path of ffmpeg or ffprobe, or null (looked up once per process). */
export function findTool(name: 'ffmpeg' | 'ffprobe'): string | null {
  if (found.has(name)) return found.get(name)!;
  const out = locateTool(name, process.env, process.platform);
  found.set(name, out);
  return out;
}

/**
 * The first of $REEL2REAL_FFMPEG / $REEL2REAL_FFPROBE, `name` on PATH, /usr/bin/<name> that is an executable
 * file. Found without running it: each `-version` run cost a process start (≈ 0.2–0.3 s here: ffmpeg maps
 * ≈ 200 shared libraries), twice per capture before its own probe. On Windows (PATHEXT) it is run as before.
 */
export function locateTool(name: 'ffmpeg' | 'ffprobe', env: NodeJS.ProcessEnv, platform: string): string | null {
  const given = name === 'ffmpeg' ? env.REEL2REAL_FFMPEG : env.REEL2REAL_FFPROBE;
  for (const exe of [given, name, `/usr/bin/${name}`]) {
    if (!exe) continue;
    if (platform === 'win32') {
      if (spawnSync(exe, ['-version'], { stdio: 'ignore', timeout: 10_000 }).status === 0) return exe;
      continue;
    }
    const candidates = exe.includes('/') ? [exe] : (env.PATH ?? '').split(path.delimiter).filter(Boolean).map((d) => path.join(d, exe));
    if (candidates.some(isExecutableFile)) return exe;
  }
  return null;
}

function isExecutableFile(file: string): boolean {
  try {
    if (!fs.statSync(file).isFile()) return false;
    fs.accessSync(file, fs.constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** Path of ffmpeg or ffprobe; throws a UserError saying how to install it when absent. */
export function requireTool(name: 'ffmpeg' | 'ffprobe'): string {
  const exe = findTool(name);
  if (!exe) throw new UserError(`${name} not found on PATH; install it (Debian/Ubuntu: apt-get install -y ffmpeg) or set REEL2REAL_${name.toUpperCase()}`);
  return exe;
}

export function hasTool(name: 'ffmpeg' | 'ffprobe'): boolean {
  return findTool(name) !== null;
}

export interface ProbeStream {
  index: number;
  codec_type: string;
  codec_name?: string;
  codec_tag_string?: string;
  width?: number;
  height?: number;
  r_frame_rate?: string;
  avg_frame_rate?: string;
  nb_frames?: string;
  duration?: string;
  tags?: Record<string, string>;
  side_data_list?: Array<Record<string, unknown>>;
  [k: string]: unknown;
}

export interface ProbeResult {
  streams: ProbeStream[];
  format: { format_name?: string; duration?: string; tags?: Record<string, string>; [k: string]: unknown };
  chapters?: unknown[];
}

/** `ffprobe -show_streams -show_format -show_chapters` as JSON. UserError naming the file when it is not media. */
export function ffprobe(file: string): ProbeResult {
  if (!fs.existsSync(file)) throw new UserError('no such file', file);
  const exe = requireTool('ffprobe');
  const r = spawnSync(exe, ['-v', 'error', '-show_streams', '-show_format', '-show_chapters', '-of', 'json', file], {
    encoding: 'utf8', maxBuffer: 64 * 1024 * 1024,
  });
  if (r.status !== 0) {
    const msg = (r.stderr || '').trim().split('\n').pop() || 'ffprobe failed';
    throw new UserError(`not a readable video (${msg.replace(file + ': ', '')})`, file);
  }
  const j = JSON.parse(r.stdout) as ProbeResult;
  if (!j.streams) j.streams = [];
  if (!j.format) j.format = {};
  return j;
}
