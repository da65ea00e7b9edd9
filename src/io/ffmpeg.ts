/**
 * The project's one way to find and probe with ffmpeg / ffprobe (capture, quality, privacy and the viewer's
 * tests all use it). $REEL2REAL_FFMPEG / $REEL2REAL_FFPROBE override; otherwise the tools on PATH, then
 * /usr/bin. There is no bundled fallback: Debian's `ffmpeg` package (with ffprobe) is what the project uses.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import { UserError } from '../errors.ts';

const found = new Map<string, string | null>();

/** Path of a working ffmpeg or ffprobe, or null (looked up once per process). */
export function findTool(name: 'ffmpeg' | 'ffprobe'): string | null {
  if (found.has(name)) return found.get(name)!;
  const env = name === 'ffmpeg' ? process.env.REEL2REAL_FFMPEG : process.env.REEL2REAL_FFPROBE;
  let out: string | null = null;
  for (const exe of [env, name, `/usr/bin/${name}`]) {
    if (!exe) continue;
    const r = spawnSync(exe, ['-version'], { stdio: 'ignore', timeout: 10_000 });
    if (r.status === 0) { out = exe; break; }
  }
  found.set(name, out);
  return out;
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
