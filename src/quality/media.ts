/**
 * ffmpeg / ffprobe access for the quality gate: probe a file's streams, format tags and packet timestamps.
 * Finding the tools and the JSON probe live in src/io/ffmpeg.ts (shared with capture and privacy).
 */
import { spawnSync } from 'node:child_process';
import { UserError } from '../errors.ts';
import { requireTool } from '../io/ffmpeg.ts';
export { ffprobe, hasTool, requireTool, type ProbeResult, type ProbeStream } from '../io/ffmpeg.ts';

/** Presentation timestamps (seconds) of every packet of the first video stream, in presentation order. */
export function videoPacketTimes(file: string): Float64Array {
  const exe = requireTool('ffprobe');
  const r = spawnSync(exe, ['-v', 'error', '-select_streams', 'v:0', '-show_entries', 'packet=pts_time,flags', '-of', 'csv=p=0', file], {
    encoding: 'utf8', maxBuffer: 256 * 1024 * 1024,
  });
  if (r.status !== 0) throw new UserError(`ffprobe could not list packets: ${(r.stderr || '').trim().split('\n').pop()}`, file);
  const times: number[] = [];
  for (const line of r.stdout.split('\n')) {
    const v = parseFloat(line.split(',')[0]);
    if (Number.isFinite(v)) times.push(v);
  }
  times.sort((a, b) => a - b);
  return Float64Array.from(times);
}

/** Parse "30000/1001" or "25" into a number (NaN when absent or 0/0). */
export function parseRate(s: string | undefined): number {
  if (!s) return NaN;
  const [a, b] = s.split('/').map(Number);
  if (b === undefined) return a;
  return b ? a / b : NaN;
}
