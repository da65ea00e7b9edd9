/**
 * `reel2real qa`: assess a pose track file, or a video (captured through src/capture first), and format the
 * report for a terminal.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { UserError } from '../errors.ts';
import { loadTrack, type PoseTrack } from '../pose/track.ts';
import { requireData } from '../pose/import.ts';
import { assessQuality, type QualityReport } from './assess.ts';
import { loadThresholds } from './config.ts';

const VIDEO_EXT = new Set(['.mp4', '.mov', '.mkv', '.webm', '.avi', '.m4v', '.3gp']);

/** Capture a video into a pose track through src/capture, when that stage is part of this build. */
async function captureTrack(file: string, onProgress?: (p: { frames: number; total: number; elapsed: number }) => void): Promise<PoseTrack> {
  const dir = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..', 'capture');
  const ext = path.extname(new URL(import.meta.url).pathname); // .ts from the sources, .js from dist/
  for (const f of [`index${ext}`, `capture${ext}`]) {
    const p = path.join(dir, f);
    if (!fs.existsSync(p)) continue;
    const mod = await import(pathToFileURL(p).href);
    if (typeof mod.captureVideo === 'function') {
      const r = await mod.captureVideo(file, { body: true, hands: true, onProgress });
      return (r && r.track ? r.track : r) as PoseTrack;
    }
  }
  throw new UserError('video capture is not available in this build (src/capture has no captureVideo); run `reel2real capture` elsewhere and pass the track .npz', file);
}

export async function qaFile(input: string, opts: { task?: string; video?: string; thresholds?: string; onProgress?: (p: { frames: number; total: number; elapsed: number }) => void } = {}): Promise<QualityReport> {
  if (!fs.existsSync(input)) throw new UserError('no such file', input);
  const thresholds = opts.thresholds ? loadThresholds(opts.thresholds) : undefined;
  const ext = path.extname(input).toLowerCase();
  if (VIDEO_EXT.has(ext)) {
    const track = await captureTrack(input, opts.onProgress);
    return assessQuality(track, { task: opts.task, video: opts.video ?? input, thresholds });
  }
  if (ext !== '.npz') throw new UserError(`expected a pose track (.npz) or a video (${[...VIDEO_EXT].join(', ')})`, input);
  const track = loadTrack(input);
  requireData(track, input);
  return assessQuality(track, { task: opts.task, video: opts.video, thresholds });
}

function fmtRanges(r: [number, number][]): string {
  if (!r.length) return '';
  const s = r.slice(0, 6).map(([a, b]) => (a === b ? `${a}` : `${a}-${b}`)).join(', ');
  return ` [frames ${s}${r.length > 6 ? `, … ${r.length - 6} more` : ''}]`;
}

/** A few human-readable lines. */
export function formatReport(name: string, r: QualityReport): string {
  const lines = [`${name}: ${r.verdict.toUpperCase()}  (${r.frames} frames, ${r.duration_s} s, task ${r.task ?? 'none'})`];
  for (const x of r.reasons) lines.push(`  ${x.severity === 'reject' ? 'REJECT' : 'flag  '} ${x.code}: ${x.message}${fmtRanges(x.frames)}`);
  for (const s of r.skipped) lines.push(`  skipped ${s.check}: ${s.reason}`);
  return lines.join('\n');
}
