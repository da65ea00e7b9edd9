import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { importTrc } from '../../src/pose/trc.ts';
import { poseInfo } from '../../src/pose/info.ts';
import { loadTrack, saveTrack } from '../../src/pose/track.ts';
import { UserError } from '../../src/errors.ts';
import { describeShared, shared } from '../helpers/shared.ts';
import { dist, pos, tmpDir } from './util.ts';

const TRC = 'motions/opensim_rajagopal2016_walk/markers_walk.trc';

/** Independent reading of the TRC body: marker name → frames of [x, y, z] in mm (null = blank). */
function readRaw(text: string): { names: string[]; rows: (number | null)[][] } {
  const lines = text.split(/\r?\n/);
  const names = lines[3].split('\t').slice(2).filter((s) => s.trim());
  const rows = lines.slice(5).filter((l) => l.trim()).map((l) => l.split('\t').slice(2, 2 + 3 * names.length).map((c) => (c.trim() ? Number(c) : null)));
  return { names, rows };
}

describeShared('TRC import (OpenSim gait-lab walk)', [TRC], () => {
  const file = shared(TRC);
  const track = importTrc(file);
  const T = track.timestamps.length;

  it('keeps every marker, converted from mm Y-up to metres Z-up (x, -z, y) / 1000', () => {
    const raw = readRaw(fs.readFileSync(file, 'utf8'));
    expect(raw.names.length).toBe(41);
    expect(T).toBe(238);
    let worst = 0;
    raw.names.forEach((n, m) => {
      for (let f = 0; f < T; f++) {
        const [x, y, z] = raw.rows[f].slice(3 * m, 3 * m + 3) as number[];
        const p = pos(track, n, f);
        worst = Math.max(worst, dist(p, [x / 1000, -z / 1000, y / 1000]));
      }
    });
    expect(worst).toBeLessThan(1e-6);
    expect(track.fps).toBe(100);
    expect(track.timestamps[237]).toBeCloseTo(2.37, 9);
  });

  it('derives canonical joints where the markers allow, and leaves the head missing', () => {
    for (let f = 0; f < T; f += 10) {
      const pelvis = pos(track, 'pelvis', f);
      const lh = pos(track, 'left_hip', f), rh = pos(track, 'right_hip', f);
      // Hip centres: below the pelvis centre, left one on +Y, 12-22 cm apart.
      expect(lh[2]).toBeLessThan(pelvis[2]);
      expect(lh[1]).toBeGreaterThan(rh[1]);
      expect(dist(lh, rh)).toBeGreaterThan(0.12);
      expect(dist(lh, rh)).toBeLessThan(0.22);
      for (const s of ['left', 'right']) {
        const hip = pos(track, `${s}_hip`, f)[2], knee = pos(track, `${s}_knee`, f)[2], ankle = pos(track, `${s}_ankle`, f)[2];
        expect(hip).toBeGreaterThan(knee);
        expect(knee).toBeGreaterThan(ankle);
        expect(pos(track, `${s}_shoulder`, f)[2]).toBeGreaterThan(pelvis[2] + 0.3);
      }
      expect(Number.isNaN(pos(track, 'head', f)[0])).toBe(true);
    }
    const J = track.jointNames.length;
    expect(track.confidence[track.jointNames.indexOf('head')]).toBe(0);
    expect(track.confidence[track.jointNames.indexOf('pelvis')]).toBe(1);
    // The knee centre is the lateral marker moved 50 mm medially.
    const d = dist(pos(track, 'right_knee', 0), pos(track, 'R.Knee', 0));
    expect(d).toBeCloseTo(0.05, 6);
    expect(J).toBe(19 + 41);
    // Markers hang on the canonical joint of their segment, on their own side.
    const parentOf = (n: string) => track.jointNames[track.parents[track.jointNames.indexOf(n)]];
    expect(['R.Knee', 'L.TH1', 'R.Heel', 'L.Biceps', 'S2', 'R.Clavicle'].map(parentOf)).toEqual(['right_knee', 'left_hip', 'right_ankle', 'left_shoulder', 'pelvis', 'chest']);
  });

  it('walks about 3 m along +X with a human height and steady thigh length', () => {
    const a = pos(track, 'pelvis', 0), b = pos(track, 'pelvis', T - 1);
    expect(b[0] - a[0]).toBeGreaterThan(2.5);
    expect(Math.abs(b[1] - a[1])).toBeLessThan(0.3);
    const h = poseInfo(track).standing_height_m!;
    expect(h).toBeGreaterThan(1.6);
    expect(h).toBeLessThan(2.0);
    const L: number[] = [];
    for (let f = 0; f < T; f++) L.push(dist(pos(track, 'left_hip', f), pos(track, 'left_knee', f)));
    const mean = L.reduce((x, y) => x + y) / T;
    expect(Math.max(...L.map((l) => Math.abs(l - mean)))).toBeLessThan(0.03); // skin markers move a little
  });

  it('turns blank cells into missing markers (NaN, confidence 0) and keeps the rest', () => {
    const lines = fs.readFileSync(file, 'utf8').split(/\r?\n/);
    // Blank out R.Knee (marker 21, columns 2+60..62) in frames 10..14 and L.Toe entirely in frame 20.
    for (let f = 10; f < 15; f++) {
      const c = lines[6 + f].split('\t');
      c[2 + 60] = c[2 + 61] = c[2 + 62] = '';
      lines[6 + f] = c.join('\t');
    }
    const c20 = lines[6 + 20].split('\t');
    lines[6 + 20] = c20.slice(0, 2 + 3 * 40).join('\t'); // trailing marker left off entirely
    const f2 = path.join(tmpDir('trc'), 'gaps.trc');
    fs.writeFileSync(f2, lines.join('\n'));
    const g = importTrc(f2);
    const J = g.jointNames.length;
    const rk = g.jointNames.indexOf('R.Knee'), kc = g.jointNames.indexOf('right_knee'), lt = g.jointNames.indexOf('L.Toe');
    for (let f = 10; f < 15; f++) {
      expect(g.confidence[f * J + rk]).toBe(0);
      expect(Number.isNaN(g.positions[3 * (f * J + rk)])).toBe(true);
      expect(g.confidence[f * J + kc]).toBe(0);
      expect(g.confidence[f * J + g.jointNames.indexOf('left_knee')]).toBe(1);
    }
    expect(g.confidence[20 * J + lt]).toBe(0);
    expect(g.confidence[21 * J + lt]).toBe(1);
    expect(pos(g, 'R.Knee', 9)).toEqual(pos(track, 'R.Knee', 9));
  });

  it('round-trips through saveTrack/loadTrack', () => {
    const f = path.join(tmpDir('trc'), 'walk.npz');
    saveTrack(f, track);
    const back = loadTrack(f);
    expect(back.jointNames).toEqual(track.jointNames);
    expect(back.parents).toEqual(track.parents);
    expect(Buffer.from(back.positions.buffer).equals(Buffer.from(track.positions.buffer))).toBe(true);
    expect(Buffer.from(back.confidence.buffer).equals(Buffer.from(track.confidence.buffer))).toBe(true);
  });
});

describe('TRC bad input', () => {
  const head = 'PathFileType\t4\t(X/Y/Z)\tx.trc\nDataRate\tCameraRate\tNumFrames\tNumMarkers\tUnits\n100\t100\t2\t1\tmm\nFrame#\tTime\tA\t\t\n\t\tX1\tY1\tZ1\n\n';
  const cases: [string, RegExp][] = [
    [head + '1\t0\t1\t2\t3\n', /truncated: NumFrames is 2 but 1 rows follow/],
    [head + '1\t0\t1\t2\t3\n2\t0.01\t1\tabc\t3\n', /line 8: marker A Y 'abc' is not a finite number/],
    [head + '1\t0\t1\t2\t3\n2\t0.01\t1\tInfinity\t3\n', /not a finite number/],
    [head + '1\t0\t1\t2\t3\n2\t0\t1\t2\t3\n', /does not increase/],
    [head.replace('\tmm', '\tfurlong') + '1\t0\t1\t2\t3\n2\t0.01\t1\t2\t3\n', /unknown Units 'furlong'/],
    ['Frame#\tTime\n', /not a TRC file/],
  ];
  it.each(cases.map((c, i) => [i, ...c] as const))('case %i fails with one line naming the file', (_i, text, re) => {
    const f = path.join(tmpDir('trc'), 'bad.trc');
    fs.writeFileSync(f, text);
    let err: unknown;
    try { importTrc(f); } catch (e) { err = e; }
    expect(err).toBeInstanceOf(UserError);
    expect((err as Error).message.startsWith(`${f}: `)).toBe(true);
    expect((err as Error).message).toMatch(re);
  });
});
