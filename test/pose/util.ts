/** Helpers for the pose tests: joint access and bone statistics on a PoseTrack. */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { PoseTrack } from '../../src/pose/track.ts';

export const tmpDir = (tag = 'pose') => fs.mkdtempSync(path.join(os.tmpdir(), `r2r-${tag}-`));

export function pos(t: PoseTrack, name: string, frame: number): [number, number, number] {
  const j = t.jointNames.indexOf(name);
  if (j < 0) throw new Error(`no joint ${name}`);
  const o = 3 * (frame * t.jointNames.length + j);
  return [t.positions[o], t.positions[o + 1], t.positions[o + 2]];
}

export function dist(a: number[], b: number[]): number {
  return Math.hypot(a[0] - b[0], a[1] - b[1], a[2] - b[2]);
}

/** Coefficient of variation of a bone's length over the frames where both ends are present. */
export function boneCv(t: PoseTrack, child: string, parent?: string): { mean: number; cv: number } {
  const c = t.jointNames.indexOf(child);
  const p = parent ? t.jointNames.indexOf(parent) : t.parents[c];
  const L: number[] = [];
  for (let f = 0; f < t.timestamps.length; f++) {
    const l = dist(pos(t, t.jointNames[c], f), pos(t, t.jointNames[p], f));
    if (Number.isFinite(l)) L.push(l);
  }
  const mean = L.reduce((a, b) => a + b, 0) / L.length;
  const sd = Math.sqrt(L.reduce((a, b) => a + (b - mean) ** 2, 0) / L.length);
  return { mean, cv: sd / mean };
}

/** Files in a directory (to check that nothing, not even a temporary file, was left behind). */
export function listDir(dir: string): string[] {
  return fs.readdirSync(dir).sort();
}
