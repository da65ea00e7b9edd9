/** Derived clips for capture tests, made with ffmpeg into a temp dir at test time (nothing is stored). */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

export function tmpDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'reel2real-capture-'));
}

export function ffmpeg(args: string[]): void {
  const r = spawnSync('ffmpeg', ['-hide_banner', '-v', 'error', '-y', ...args], { encoding: 'utf8', timeout: 120_000 });
  if (r.status !== 0) throw new Error(`ffmpeg ${args.join(' ')} failed: ${r.stderr}`);
}

/** Frame presentation times as ffprobe reports them. */
export function ffprobeTimes(file: string): number[] {
  const r = spawnSync('ffprobe', ['-v', 'error', '-select_streams', 'v:0', '-show_entries', 'frame=pts_time', '-of', 'csv=p=0', file], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(r.stderr);
  return r.stdout.split('\n').map((l) => l.replace(/,.*$/, '').trim()).filter(Boolean).map(Number);
}

export const haveFfmpeg = spawnSync('ffmpeg', ['-version']).status === 0 && spawnSync('ffprobe', ['-version']).status === 0;

/** Portrait squats clip, pixels turned 90° counter-clockwise and tagged to be displayed turned 90° clockwise (as phones do). */
export function rotatedClip(src: string, dir: string, frames = 20): string {
  const landscape = path.join(dir, 'landscape.mp4');
  const out = path.join(dir, 'rotated.mp4');
  ffmpeg(['-i', src, '-frames:v', String(frames), '-vf', 'transpose=2', '-c:v', 'libx264', '-preset', 'ultrafast', '-crf', '18', landscape]);
  ffmpeg(['-i', landscape, '-c', 'copy', '-metadata:s:v:0', 'rotate=270', out]);
  return out;
}

/** Variable frame rate: an irregular subset of the frames, each keeping its original time. */
export function vfrClip(src: string, dir: string, seconds = 4): string {
  const out = path.join(dir, 'vfr.mp4');
  ffmpeg(['-i', src, '-t', String(seconds), '-vf', "select='not(mod(n\\,3))+eq(mod(n\\,7)\\,1)'", '-fps_mode', 'passthrough', '-c:v', 'libx264', '-preset', 'ultrafast', out]);
  return out;
}
