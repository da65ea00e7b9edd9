/**
 * Shared pieces of the pose importers: reading an input file (with its sha256), assembling a PoseTrack
 * from named joint series (canonical joints first, then the source's own joints), and axis conventions.
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { UserError, wrapFileError } from '../errors.ts';
import { readFileBounded } from '../io/text.ts';
import { BODY_JOINTS, BODY_PARENTS, HAND_LANDMARKS, HAND_PARENTS, type Side } from './skeleton.ts';
import type { PoseSource, PoseTrack } from './track.ts';

export interface InputFile {
  /** Path as given (used in error messages). */
  file: string;
  bytes: Buffer;
  sha256: string;
}

export function readInput(file: string): InputFile {
  const bytes = readFileBounded(file);
  if (bytes.length === 0) throw new UserError('file is empty', file);
  return { file, bytes, sha256: createHash('sha256').update(bytes).digest('hex') };
}

export function baseSource(input: InputFile, format: string, extra: Record<string, unknown> = {}): PoseSource {
  return { format, file: path.basename(input.file), sha256: input.sha256, ...extra };
}

/** Parse JSON text, turning a syntax error into one UserError line. */
export function parseJson(input: InputFile): unknown {
  const text = input.bytes.toString('utf8');
  try {
    return JSON.parse(text);
  } catch (err) {
    const msg = (err as Error).message.split('\n')[0];
    throw new UserError(`malformed JSON (${msg})`, input.file);
  }
}

/** One joint series to put into a track: T×3 positions (NaN = missing) and T confidences. */
export interface JointSeries {
  name: string;
  /** Parent joint name, or null for a root. May name a canonical joint or another series. */
  parent: string | null;
  pos: Float32Array;
  conf: Float32Array;
}

export function newSeries(name: string, parent: string | null, T: number): JointSeries {
  return { name, parent, pos: new Float32Array(T * 3).fill(NaN), conf: new Float32Array(T) };
}

/** Which canonical groups a track carries. */
export interface CanonicalParts {
  body: boolean;
  hands: Side[];
}

/** Canonical joint names and parents (by name) for the given parts, in the canonical order. */
export function canonicalParts(parts: CanonicalParts): { name: string; parent: string | null }[] {
  const out: { name: string; parent: string | null }[] = [];
  if (parts.body) for (const j of BODY_JOINTS) out.push({ name: j, parent: BODY_PARENTS[j] });
  for (const side of ['left', 'right'] as const) {
    if (!parts.hands.includes(side)) continue;
    HAND_LANDMARKS.forEach((l, i) => {
      const p = HAND_PARENTS[i];
      out.push({
        name: `${side}_hand_${l}`,
        parent: p < 0 ? (parts.body ? `${side}_wrist` : null) : `${side}_hand_${HAND_LANDMARKS[p]}`,
      });
    });
  }
  return out;
}

/**
 * Build a PoseTrack: the canonical joints of `parts` first (from `canonical`, missing ones NaN with
 * confidence 0), then `extras` in order. Any position that is not finite gets confidence 0 and NaN.
 */
export function assembleTrack(opts: {
  T: number;
  timestamps: Float64Array;
  fps: number;
  parts: CanonicalParts;
  canonical: Map<string, JointSeries>;
  extras: JointSeries[];
  source: PoseSource;
  meta?: Record<string, unknown>;
  file?: string;
}): PoseTrack {
  const { T } = opts;
  const list: { name: string; parent: string | null; series?: JointSeries }[] = [];
  for (const c of canonicalParts(opts.parts)) list.push({ ...c, series: opts.canonical.get(c.name) });
  const seen = new Set(list.map((l) => l.name));
  for (const e of opts.extras) {
    let name = e.name;
    for (let k = 2; seen.has(name); k++) name = `${e.name}_${k}`;
    seen.add(name);
    list.push({ name, parent: e.parent, series: e });
  }
  const J = list.length;
  const names = list.map((l) => l.name);
  const index = new Map(names.map((n, i) => [n, i]));
  const parents = list.map((l) => {
    if (l.parent === null) return -1;
    const p = index.get(l.parent);
    if (p === undefined) throw new UserError(`joint ${l.name} names an unknown parent ${l.parent}`, opts.file);
    return p;
  });
  const positions = new Float32Array(T * J * 3).fill(NaN);
  const confidence = new Float32Array(T * J);
  for (let j = 0; j < J; j++) {
    const s = list[j].series;
    if (!s) continue;
    for (let t = 0; t < T; t++) {
      const x = s.pos[3 * t], y = s.pos[3 * t + 1], z = s.pos[3 * t + 2];
      const c = s.conf[t];
      if (!Number.isFinite(x) || !Number.isFinite(y) || !Number.isFinite(z) || !(c > 0)) continue;
      const o = 3 * (t * J + j);
      positions[o] = x; positions[o + 1] = y; positions[o + 2] = z;
      confidence[t * J + j] = Math.min(1, c);
    }
  }
  return {
    positions, confidence, timestamps: opts.timestamps, jointNames: names, parents, fps: opts.fps,
    source: opts.source, meta: opts.meta,
  };
}

/** Frame timestamps t = i / fps. */
export function uniformTimestamps(T: number, fps: number, t0 = 0): Float64Array {
  const ts = new Float64Array(T);
  for (let i = 0; i < T; i++) ts[i] = t0 + i / fps;
  return ts;
}

// ---- axes -------------------------------------------------------------------------------------------

/** A signed coordinate axis of a source frame: 'x', '-y', ... */
export type Axis = 'x' | 'y' | 'z' | '-x' | '-y' | '-z';

function axisVec(a: Axis): [number, number, number] {
  const s = a.startsWith('-') ? -1 : 1;
  const k = 'xyz'.indexOf(a[a.length - 1]);
  const v: [number, number, number] = [0, 0, 0];
  v[k] = s;
  return v;
}

/**
 * Rotation (row-major 3×3) taking a source frame with the given `up` and `forward` axes to the project's
 * frame: X forward, Y left, Z up (right-handed). Rows are forward, left = up × forward, up.
 */
export function frameRotation(up: Axis, forward: Axis): number[] {
  const u = axisVec(up);
  const f = axisVec(forward);
  if (u[0] * f[0] + u[1] * f[1] + u[2] * f[2] !== 0) throw new Error(`up ${up} and forward ${forward} are not perpendicular`);
  const l = [u[1] * f[2] - u[2] * f[1], u[2] * f[0] - u[0] * f[2], u[0] * f[1] - u[1] * f[0]];
  return [...f, ...l, ...u];
}

/** Apply a row-major 3×3 rotation and a scale to every finite point of a flat xyz array, in place. */
export function transformPoints(pos: Float32Array, R: number[], scale = 1): void {
  for (let i = 0; i < pos.length; i += 3) {
    const x = pos[i], y = pos[i + 1], z = pos[i + 2];
    pos[i] = scale * (R[0] * x + R[1] * y + R[2] * z);
    pos[i + 1] = scale * (R[3] * x + R[4] * y + R[5] * z);
    pos[i + 2] = scale * (R[6] * x + R[7] * y + R[8] * z);
  }
}

/** The signed axis along which a vector is largest. */
export function dominantAxis(v: [number, number, number]): Axis {
  const a = v.map(Math.abs);
  const k = a[0] >= a[1] && a[0] >= a[2] ? 0 : a[1] >= a[2] ? 1 : 2;
  const name = 'xyz'[k] as 'x' | 'y' | 'z';
  return (v[k] < 0 ? `-${name}` : name) as Axis;
}

export { quantile } from '../math/stats.ts';

/** Midpoint of two series (NaN where either is missing); confidence is the smaller. */
export function midSeries(name: string, parent: string | null, a: JointSeries, b: JointSeries, T: number, wa = 0.5): JointSeries {
  const s = newSeries(name, parent, T);
  for (let t = 0; t < T; t++) {
    for (let k = 0; k < 3; k++) s.pos[3 * t + k] = wa * a.pos[3 * t + k] + (1 - wa) * b.pos[3 * t + k];
    s.conf[t] = Math.min(a.conf[t], b.conf[t]);
  }
  return s;
}

/** Copy of a series under a new name and parent. */
export function renamed(s: JointSeries, name: string, parent: string | null): JointSeries {
  return { name, parent, pos: s.pos, conf: s.conf };
}
