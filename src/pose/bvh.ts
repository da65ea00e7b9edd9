/**
 * BVH (Biovision hierarchy) import: any channel order and rotation order per joint, position channels on
 * any joint, End Sites, CRLF or LF. Joint world positions come from forward kinematics of the hierarchy;
 * the canonical joints are found by a name table (MotionBuilder, 3dsMax, Mixamo-style names) with the
 * tree structure deciding the ambiguous ones (the shoulder is the parent of the elbow, so `LeftShoulder`
 * may be a clavicle or an upper arm), and a purely structural mapping when names do not match.
 *
 * Units: `scale` (metres per file unit) stated, or detected from the body's height in file units.
 * Axes: the up axis is detected (head above hips); BVH's Y-up, Z-forward, X-left becomes Z-up, X-forward.
 * A synthetic T-pose first frame (MotionBuilder-style CMU files) is detected and dropped by default.
 */
import { UserError } from '../errors.ts';
import { LIMITS } from '../io/limits.ts';
import {
  assembleTrack, baseSource, dominantAxis, frameRotation, newSeries, quantile, readInput, renamed,
  midSeries, transformPoints, type Axis, type InputFile, type JointSeries,
} from './common.ts';
import type { PoseTrack } from './track.ts';

export interface BvhOptions {
  /** Metres per file unit. Default: detected from the body's height. */
  scale?: number;
  /** Keep a synthetic T-pose first frame (default: drop it). */
  keepTPose?: boolean;
  /** Source up axis (default: detected). */
  up?: Axis;
}

export interface BvhJoint {
  name: string;
  parent: number;
  offset: [number, number, number];
  /** Channel names in file order, e.g. ['Xposition', 'Zrotation', ...]. */
  channels: string[];
  /** Index of this joint's first channel in a frame's value row. */
  channelStart: number;
  /** True for an End Site (no channels). */
  end: boolean;
}

export interface BvhData {
  joints: BvhJoint[];
  frames: number;
  frameTime: number;
  channelCount: number;
  /** frames × channelCount values. */
  motion: Float64Array;
}

// ---- parsing ----------------------------------------------------------------------------------------

interface Tok { s: string; line: number }

function tokenize(text: string): Tok[] {
  const toks: Tok[] = [];
  const lines = text.split(/\r\n|\r|\n/);
  for (let i = 0; i < lines.length; i++) {
    for (const s of lines[i].split(/[\s]+/)) if (s.length) toks.push({ s, line: i + 1 });
  }
  return toks;
}

const CHANNEL_NAMES = new Set(['Xposition', 'Yposition', 'Zposition', 'Xrotation', 'Yrotation', 'Zrotation']);

export function parseBvh(text: string, file: string): BvhData {
  const toks = tokenize(text);
  let p = 0;
  const fail = (msg: string, tok?: Tok): never => {
    throw new UserError(tok ? `line ${tok.line}: ${msg}` : msg, file);
  };
  const next = (what: string): Tok => {
    if (p >= toks.length) fail(`truncated: file ends where ${what} was expected`);
    return toks[p++];
  };
  const expect = (word: string) => {
    const t = next(`'${word}'`);
    if (t.s !== word) fail(`expected '${word}', found '${t.s}'`, t);
  };
  const num = (what: string): number => {
    const t = next(what);
    const v = Number(t.s);
    if (!Number.isFinite(v)) fail(`${what} is not a finite number ('${t.s}')`, t);
    return v;
  };

  const first = next('HIERARCHY');
  if (first.s !== 'HIERARCHY') fail(`not a BVH file (starts with '${first.s.slice(0, 40)}', expected HIERARCHY)`, first);
  const joints: BvhJoint[] = [];
  let channelCount = 0;

  const parseJoint = (parent: number, kind: string, depth: number): void => {
    // A hierarchy from the file: bounded before it can exhaust the stack.
    if (depth > LIMITS.depth) fail(`joint hierarchy is nested deeper than ${LIMITS.depth} levels`);
    const isEnd = kind === 'End';
    let name: string;
    if (isEnd) {
      expect('Site');
      name = `${joints[parent].name}_end`;
    } else {
      const t = next('a joint name');
      if (t.s === '{') fail(`${kind} without a name`, t);
      name = t.s;
    }
    expect('{');
    const offT = next('OFFSET');
    if (offT.s !== 'OFFSET') fail(`expected OFFSET in ${name}, found '${offT.s}'`, offT);
    const offset: [number, number, number] = [num(`OFFSET of ${name}`), num(`OFFSET of ${name}`), num(`OFFSET of ${name}`)];
    // File units are mm at the smallest: a bone a kilometre long is garbage.
    if (offset.some((v) => Math.abs(v) > 1e6)) fail(`OFFSET of ${name} is ${offset.map((v) => v.toPrecision(3)).join(' ')} (over 1e6 file units: garbage)`);
    const channels: string[] = [];
    const idx = joints.length;
    const joint: BvhJoint = { name, parent, offset, channels, channelStart: channelCount, end: isEnd };
    joints.push(joint);
    if (!isEnd) {
      const ct = next('CHANNELS');
      if (ct.s !== 'CHANNELS') fail(`expected CHANNELS in ${name}, found '${ct.s}'`, ct);
      const nt = next('a channel count');
      const n = Number(nt.s);
      if (!Number.isInteger(n) || n < 0 || n > 6) fail(`bad channel count '${nt.s}' in ${name}`, nt);
      for (let k = 0; k < n; k++) {
        const c = next(`a channel name of ${name}`);
        if (!CHANNEL_NAMES.has(c.s)) fail(`unknown channel '${c.s}' in ${name}`, c);
        if (channels.includes(c.s)) fail(`channel ${c.s} repeated in ${name}`, c);
        channels.push(c.s);
      }
      channelCount += n;
    }
    for (;;) {
      const t = next(`'}' closing ${name}`);
      if (t.s === '}') break;
      if (isEnd) fail(`unexpected '${t.s}' in End Site of ${joints[parent].name}`, t);
      if (t.s === 'JOINT') parseJoint(idx, 'JOINT', depth + 1);
      else if (t.s === 'End') parseJoint(idx, 'End', depth + 1);
      else fail(`unexpected '${t.s}' in joint ${name}`, t);
    }
  };

  for (;;) {
    const t = next('ROOT or MOTION');
    if (t.s === 'ROOT') parseJoint(-1, 'ROOT', 0);
    else if (t.s === 'MOTION') break;
    else fail(`expected ROOT or MOTION, found '${t.s}'`, t);
  }
  if (!joints.length) fail('no ROOT joint in HIERARCHY');
  const names = new Set<string>();
  for (const j of joints) {
    if (names.has(j.name)) fail(`joint name ${j.name} appears twice`);
    names.add(j.name);
  }

  const ft = next('Frames:');
  let framesTok: Tok;
  if (ft.s === 'Frames:') framesTok = next('the frame count');
  else if (ft.s === 'Frames') { expect(':'); framesTok = next('the frame count'); }
  else if (ft.s.startsWith('Frames:')) framesTok = { s: ft.s.slice(7), line: ft.line };
  else return fail(`expected 'Frames:', found '${ft.s}'`, ft);
  const frames = Number(framesTok.s);
  if (!Number.isInteger(frames) || frames < 0) fail(`bad frame count '${framesTok.s}'`, framesTok);
  expect('Frame');
  const tt = next('Time:');
  if (tt.s !== 'Time:') { if (tt.s !== 'Time') fail(`expected 'Frame Time:', found 'Frame ${tt.s}'`, tt); expect(':'); }
  const frameTime = num('Frame Time');
  if (!(frameTime > 0)) fail(`Frame Time must be positive, got ${frameTime}`);
  if (frames === 0) fail('the file has no motion frames (Frames: 0)');

  const expected = frames * channelCount;
  const have = toks.length - p;
  if (have < expected) {
    fail(`truncated: header says ${frames} frames of ${channelCount} channels, found ${Math.floor(have / Math.max(1, channelCount))} complete frames`);
  }
  if (have > expected) fail(`more motion values than ${frames} frames of ${channelCount} channels (extra data at line ${toks[p + expected].line})`);
  const motion = new Float64Array(expected);
  for (let i = 0; i < expected; i++) {
    const t = toks[p + i];
    const v = Number(t.s);
    if (!Number.isFinite(v)) fail(`frame ${Math.floor(i / channelCount)} channel ${i % channelCount} is not a finite number ('${t.s}')`, t);
    if (Math.abs(v) > 1e7) fail(`frame ${Math.floor(i / channelCount)} channel ${i % channelCount} is ${v.toExponential(2)} (over 1e7: garbage)`, t);
    motion[i] = v;
  }
  return { joints, frames, frameTime, channelCount, motion };
}

// ---- forward kinematics -----------------------------------------------------------------------------

function rotAxis(axis: string, deg: number, out: number[]): void {
  const a = (deg * Math.PI) / 180;
  const c = Math.cos(a), s = Math.sin(a);
  if (axis === 'X') out.splice(0, 9, 1, 0, 0, 0, c, -s, 0, s, c);
  else if (axis === 'Y') out.splice(0, 9, c, 0, s, 0, 1, 0, -s, 0, c);
  else out.splice(0, 9, c, -s, 0, s, c, 0, 0, 0, 1);
}

function mul3(a: ArrayLike<number>, ao: number, b: ArrayLike<number>, bo: number, out: Float64Array | number[], oo: number): void {
  for (let r = 0; r < 3; r++) {
    for (let c = 0; c < 3; c++) {
      out[oo + 3 * r + c] = a[ao + 3 * r] * b[bo + c] + a[ao + 3 * r + 1] * b[bo + 3 + c] + a[ao + 3 * r + 2] * b[bo + 6 + c];
    }
  }
}

/**
 * World positions (file units and axes) of every joint and End Site: frames × joints × 3. A joint's local
 * rotation is the product of its rotation channels in file order (v' = R1 R2 R3 v); position channels give
 * the local translation on their axes (the OFFSET on axes without one).
 */
export function bvhPositions(bvh: BvhData): Float64Array {
  const J = bvh.joints.length;
  const out = new Float64Array(bvh.frames * J * 3);
  const rot = new Float64Array(J * 9);
  const local = [1, 0, 0, 0, 1, 0, 0, 0, 1];
  const tmp = new Array<number>(9).fill(0);
  const r = new Array<number>(9).fill(0);
  const plan = bvh.joints.map((j) => ({
    pos: ['X', 'Y', 'Z'].map((a) => j.channels.indexOf(`${a}position`)),
    rots: j.channels.map((c, k) => ({ axis: c[0], k, isRot: c.endsWith('rotation') })).filter((c) => c.isRot),
  }));
  for (let f = 0; f < bvh.frames; f++) {
    const row = f * bvh.channelCount;
    for (let j = 0; j < J; j++) {
      const jt = bvh.joints[j];
      const pl = plan[j];
      const t = [0, 1, 2].map((a) => (pl.pos[a] >= 0 ? bvh.motion[row + jt.channelStart + pl.pos[a]] : jt.offset[a]));
      local.splice(0, 9, 1, 0, 0, 0, 1, 0, 0, 0, 1);
      for (const rc of pl.rots) {
        rotAxis(rc.axis, bvh.motion[row + jt.channelStart + rc.k], r);
        mul3(local, 0, r, 0, tmp, 0);
        local.splice(0, 9, ...tmp);
      }
      const o = 3 * (f * J + j);
      if (jt.parent < 0) {
        for (let k = 0; k < 9; k++) rot[9 * j + k] = local[k];
        out[o] = t[0]; out[o + 1] = t[1]; out[o + 2] = t[2];
      } else {
        const pr = 9 * jt.parent;
        const po = 3 * (f * J + jt.parent);
        for (let a = 0; a < 3; a++) {
          out[o + a] = out[po + a] + rot[pr + 3 * a] * t[0] + rot[pr + 3 * a + 1] * t[1] + rot[pr + 3 * a + 2] * t[2];
        }
        mul3(rot, pr, local, 0, rot, 9 * j);
      }
    }
  }
  return out;
}

// ---- T-pose detection -------------------------------------------------------------------------------

/**
 * A synthetic T-pose frame 0 (as in the MotionBuilder-friendly CMU release): its rotation values are all
 * whole degrees and mostly zero, its root position repeats frame 1's, and the pose differs from frame 1.
 */
export function hasSyntheticTPose(bvh: BvhData): boolean {
  if (bvh.frames < 2) return false;
  const C = bvh.channelCount;
  let rotations = 0, zeros = 0, maxDiff = 0;
  for (const j of bvh.joints) {
    for (let k = 0; k < j.channels.length; k++) {
      const i = j.channelStart + k;
      const v0 = bvh.motion[i];
      const v1 = bvh.motion[C + i];
      if (j.channels[k].endsWith('rotation')) {
        if (v0 !== Math.round(v0)) return false;
        rotations++;
        if (v0 === 0) zeros++;
        maxDiff = Math.max(maxDiff, Math.abs(v0 - v1));
      } else if (j.parent < 0 && Math.abs(v0 - v1) > 1e-9) {
        return false;
      }
    }
  }
  return rotations > 0 && zeros >= 0.75 * rotations && maxDiff > 5;
}

// ---- mapping to the canonical skeleton --------------------------------------------------------------

const SIDE_TOKENS = { left: ['left', 'l'], right: ['right', 'r'] } as const;
const PART_NAMES: Record<string, string[]> = {
  elbow: ['elbow', 'forearm', 'lowerarm', 'armlower', 'lowarm'],
  wrist: ['wrist', 'hand'],
  knee: ['knee', 'leg', 'lowerleg', 'leglower', 'lowleg', 'shin', 'calf'],
  ankle: ['ankle', 'foot'],
  toe: ['toebase', 'toe', 'toes', 'ball'],
};

function normName(n: string): string {
  return n.toLowerCase().replace(/^(mixamorig|bip0?1|character\d*|skel|def)[:_ ]?/, '').replace(/[^a-z0-9]/g, '');
}

interface Mapping {
  [canonical: string]: number;
}

function children(bvh: BvhData, j: number): number[] {
  const out: number[] = [];
  bvh.joints.forEach((c, i) => { if (c.parent === j) out.push(i); });
  return out;
}

function isAncestor(bvh: BvhData, a: number, b: number): boolean {
  for (let k = bvh.joints[b].parent; k >= 0; k = bvh.joints[k].parent) if (k === a) return true;
  return false;
}

function offLen(j: BvhJoint): number {
  return Math.hypot(...j.offset);
}

/** Nearest ancestor (or self) that sits away from its parent (non-zero OFFSET), so zero-length helper joints are skipped. */
function placed(bvh: BvhData, j: number): number {
  let k = j;
  while (k >= 0 && bvh.joints[k].parent >= 0 && offLen(bvh.joints[k]) < 1e-9) k = bvh.joints[k].parent;
  return k;
}

function mapByName(bvh: BvhData): Mapping | null {
  const byNorm = new Map<string, number>();
  bvh.joints.forEach((j, i) => { if (!j.end) byNorm.set(normName(j.name), i); });
  const m: Mapping = {};
  const find = (cands: string[]): number => {
    for (const c of cands) { const i = byNorm.get(c); if (i !== undefined) return i; }
    return -1;
  };
  for (const side of ['left', 'right'] as const) {
    for (const part of Object.keys(PART_NAMES)) {
      const cands: string[] = [];
      for (const p of PART_NAMES[part]) for (const s of SIDE_TOKENS[side]) cands.push(s + p, p + s);
      const i = find(cands);
      if (i < 0 && part !== 'toe') return null;
      if (i >= 0) m[`${side}_${part}`] = i;
    }
    // Structure settles the ambiguous names: the shoulder is the elbow's parent, the hip the knee's.
    m[`${side}_shoulder`] = placed(bvh, bvh.joints[placed(bvh, m[`${side}_elbow`])].parent);
    m[`${side}_hip`] = placed(bvh, bvh.joints[placed(bvh, m[`${side}_knee`])].parent);
    if (!isAncestor(bvh, m[`${side}_elbow`], m[`${side}_wrist`]) || !isAncestor(bvh, m[`${side}_knee`], m[`${side}_ankle`])) return null;
  }
  const head = find(['head']);
  if (head < 0) return null;
  m.head = head;
  const pelvis = find(['hips', 'pelvis', 'hip', 'root']);
  m.pelvis = pelvis >= 0 ? pelvis : 0;
  return m;
}

/**
 * Mapping from the tree alone: legs are the two chains from the root that go down (in the rest pose),
 * arms the two that reach farthest sideways, the head the highest. Left is the side of the lateral axis
 * (BVH's +X). The knee joins the two longest consecutive bones of a leg; the elbow ends the longest bone of
 * an arm.
 */
function mapByStructure(bvh: BvhData, upK: number, upSign: number, leftK: number, leftSign: number, file: string): Mapping {
  const J = bvh.joints.length;
  // Rest positions from OFFSETs.
  const rest = new Float64Array(J * 3);
  bvh.joints.forEach((j, i) => {
    for (let a = 0; a < 3; a++) rest[3 * i + a] = (j.parent >= 0 ? rest[3 * j.parent + a] : 0) + j.offset[a];
  });
  const leaves = bvh.joints.map((_, i) => i).filter((i) => children(bvh, i).length === 0);
  const chainTo = (leaf: number): number[] => {
    const c: number[] = [];
    for (let k = leaf; k >= 0; k = bvh.joints[k].parent) c.unshift(k);
    return c;
  };
  const up = (i: number) => upSign * rest[3 * i + upK];
  const lat = (i: number) => leftSign * rest[3 * i + leftK];
  const fail = (what: string): never => {
    throw new UserError(`cannot map the BVH skeleton to a human body: ${what} (joint names not recognised and the tree has no clear ${what})`, file);
  };
  // The two longest-reaching leaves downward are the feet; upward the head; sideways the hands.
  const byDown = [...leaves].sort((a, b) => up(a) - up(b));
  const feet = byDown.slice(0, 2);
  if (feet.length < 2 || up(feet[1]) >= 0) fail('two legs');
  const headLeaf = [...leaves].sort((a, b) => up(b) - up(a))[0];
  const others = leaves.filter((l) => !feet.includes(l) && l !== headLeaf);
  // Hands: the leaves farthest out to each side.
  const byLat = [...others].sort((a, b) => lat(b) - lat(a));
  if (byLat.length < 2) fail('two arms');
  const handL = byLat[0];
  const handR = byLat[byLat.length - 1];
  const m: Mapping = {};
  const limb = (leaf: number, side: 'left' | 'right', kind: 'arm' | 'leg') => {
    const chain = chainTo(leaf).filter((i) => i === 0 || offLen(bvh.joints[i]) > 1e-9);
    // Legs: the knee joins the two longest consecutive bones (thigh, shank). Arms: the elbow ends the
    // longest bone (the upper arm), since a clavicle can be as long as the forearm.
    let best = -1, bestLen = -1;
    for (let k = 1; k + 1 < chain.length; k++) {
      const l = offLen(bvh.joints[chain[k]]) + (kind === 'leg' ? offLen(bvh.joints[chain[k + 1]]) : 0);
      if (l > bestLen) { bestLen = l; best = k; }
    }
    if (best < 1) fail(`${side} ${kind}`);
    const mid = chain[best];
    const a = chain[best - 1];
    const b = chain[best + 1];
    if (kind === 'arm') { m[`${side}_shoulder`] = a; m[`${side}_elbow`] = mid; m[`${side}_wrist`] = b; }
    else {
      m[`${side}_hip`] = a; m[`${side}_knee`] = mid; m[`${side}_ankle`] = b;
      if (chain[best + 2] !== undefined && !bvh.joints[chain[best + 2]].end) m[`${side}_toe`] = chain[best + 2];
    }
  };
  const footL = lat(feet[0]) > lat(feet[1]) ? feet[0] : feet[1];
  const footR = footL === feet[0] ? feet[1] : feet[0];
  limb(footL, 'left', 'leg');
  limb(footR, 'right', 'leg');
  limb(handL, 'left', 'arm');
  limb(handR, 'right', 'arm');
  const headChain = chainTo(headLeaf).filter((i) => !bvh.joints[i].end);
  m.head = headChain[headChain.length - 1];
  m.pelvis = 0;
  return m;
}

function lca(bvh: BvhData, a: number, b: number): number {
  const anc = new Set<number>();
  for (let k = a; k >= 0; k = bvh.joints[k].parent) anc.add(k);
  for (let k = b; k >= 0; k = bvh.joints[k].parent) if (anc.has(k)) return k;
  return 0;
}

// ---- import -----------------------------------------------------------------------------------------

/** Metres per unit for common BVH units; the one that gives the most human-like height wins. */
const UNIT_CANDIDATES: { scale: number; unit: string }[] = [
  { scale: 1, unit: 'm' },
  { scale: 0.01, unit: 'cm' },
  { scale: 0.001, unit: 'mm' },
  { scale: 0.0254, unit: 'inch' },
  { scale: 0.056444, unit: 'CMU unit (0.056444 m)' },
  { scale: 0.3048, unit: 'foot' },
  { scale: 0.1, unit: 'dm' },
];

export function importBvh(file: string, opts: BvhOptions = {}, input?: InputFile): PoseTrack {
  const inp = input ?? readInput(file);
  const bvh = parseBvh(inp.bytes.toString('utf8'), file);
  const J = bvh.joints.length;
  const all = bvhPositions(bvh);

  const tpose = hasSyntheticTPose(bvh);
  const drop = tpose && !opts.keepTPose ? 1 : 0;
  const T = bvh.frames - drop;
  if (T < 1) throw new UserError('no motion frames left after dropping the T-pose frame', file);

  // Mapping and up axis: first try names; the up axis is the direction from pelvis to head.
  let m = mapByName(bvh);
  const headIdx = m ? m.head : -1;
  let upAxis: Axis;
  if (opts.up) upAxis = opts.up;
  else {
    if (headIdx >= 0) {
      const d: [number, number, number] = [0, 0, 0];
      for (let a = 0; a < 3; a++) {
        const vals: number[] = [];
        for (let f = drop; f < bvh.frames; f++) vals.push(all[3 * (f * J + headIdx) + a] - all[3 * (f * J + m!.pelvis) + a]);
        d[a] = quantile(vals, 0.5);
      }
      upAxis = dominantAxis(d);
    } else {
      // No names: in the rest pose the legs hang down from the root and left/right limbs cancel, so the
      // sum of all OFFSETs points down.
      const sum: [number, number, number] = [0, 0, 0];
      for (const j of bvh.joints) for (let a = 0; a < 3; a++) sum[a] -= j.offset[a];
      upAxis = dominantAxis(sum);
    }
  }
  const upK = 'xyz'.indexOf(upAxis[upAxis.length - 1]);
  const upSign = upAxis.startsWith('-') ? -1 : 1;
  // Conventional forward for each up axis (BVH: Y up, Z forward, X left; Z-up files: X forward).
  const forward: Axis = upK === 1 ? 'z' : upK === 2 ? 'x' : 'z';
  const R = frameRotation(upAxis, forward);
  // The source axis that becomes +Y (left).
  const leftK = [0, 1, 2].find((k) => R[3 + k] !== 0)!;
  const leftSign = R[3 + leftK];
  if (!m) m = mapByStructure(bvh, upK, upSign, leftK, leftSign, file);
  const mappedBy = headIdx >= 0 ? 'names' : 'structure';

  // Height in file units → scale.
  const rawHeight = rawBodyHeight(bvh, all, m, drop, upK, upSign);
  let scale: number;
  let scaleSource: string;
  let unit: string | undefined;
  if (opts.scale !== undefined) {
    if (!(opts.scale > 0) || !Number.isFinite(opts.scale)) throw new UserError(`--scale must be a positive number, got ${opts.scale}`, file);
    scale = opts.scale;
    scaleSource = 'stated';
  } else {
    if (!(rawHeight > 0)) throw new UserError('cannot detect units (no measurable body height); state --scale (metres per unit)', file);
    let best = UNIT_CANDIDATES[0];
    for (const c of UNIT_CANDIDATES) if (Math.abs(Math.log((c.scale * rawHeight) / 1.7)) < Math.abs(Math.log((best.scale * rawHeight) / 1.7))) best = c;
    const h = best.scale * rawHeight;
    if (h < 1.0 || h > 2.5) throw new UserError(`cannot detect units: body height is ${rawHeight.toPrecision(4)} file units, which fits no common unit; state --scale (metres per unit)`, file);
    scale = best.scale;
    unit = best.unit;
    scaleSource = 'detected';
  }

  // Series for every BVH joint and End Site, converted to metres, Z up.
  const series: JointSeries[] = bvh.joints.map((j, ji) => {
    const s = newSeries(j.name, j.parent >= 0 ? bvh.joints[j.parent].name : null, T);
    for (let t = 0; t < T; t++) {
      const o = 3 * ((t + drop) * J + ji);
      s.pos[3 * t] = all[o]; s.pos[3 * t + 1] = all[o + 1]; s.pos[3 * t + 2] = all[o + 2];
      s.conf[t] = 1;
    }
    transformPoints(s.pos, R, scale);
    return s;
  });

  const canonical = new Map<string, JointSeries>();
  const put = (name: string, idx: number | undefined) => { if (idx !== undefined && idx >= 0) canonical.set(name, renamed(series[idx], name, null)); };
  for (const k of ['pelvis', 'left_shoulder', 'left_elbow', 'left_wrist', 'right_shoulder', 'right_elbow', 'right_wrist',
    'left_hip', 'left_knee', 'left_ankle', 'right_hip', 'right_knee', 'right_ankle']) put(k, m[k]);
  for (const side of ['left', 'right']) {
    let toe = m[`${side}_toe`];
    if (toe === undefined) toe = children(bvh, m[`${side}_ankle`])[0];
    put(`${side}_toe`, toe);
  }
  const neck = placed(bvh, bvh.joints[m.head].parent);
  const chest = placed(bvh, lca(bvh, m.left_shoulder, m.right_shoulder));
  put('neck', neck === chest ? undefined : neck);
  put('chest', chest);
  // Spine: the middle placed joint between pelvis and chest, or their midpoint.
  const chain: number[] = [];
  for (let k = bvh.joints[chest].parent; k > m.pelvis && k >= 0; k = bvh.joints[k].parent) if (offLen(bvh.joints[k]) > 1e-9) chain.unshift(k);
  if (chain.length) put('spine', chain[Math.floor((chain.length - 1) / 2)]);
  else canonical.set('spine', midSeries('spine', null, series[m.pelvis], series[chest], T));
  if (neck === chest) canonical.set('neck', midSeries('neck', null, series[chest], series[m.head], T));
  // Head: centre of the head, midway between the Head joint and its End Site when there is one.
  const headEnd = children(bvh, m.head).find((c) => bvh.joints[c].end);
  canonical.set('head', headEnd !== undefined ? midSeries('head', null, series[m.head], series[headEnd], T) : renamed(series[m.head], 'head', null));

  const dt = bvh.frameTime;
  const fps = Math.round(1 / dt) > 0 && Math.abs(1 / dt - Math.round(1 / dt)) < 0.01 * (1 / dt) ? Math.round(1 / dt) : 1 / dt;
  const timestamps = new Float64Array(T);
  for (let t = 0; t < T; t++) timestamps[t] = t / fps;
  return assembleTrack({
    T, timestamps, fps, file,
    parts: { body: true, hands: [] },
    canonical,
    extras: series,
    source: baseSource(inp, 'bvh', {
      frame_time: dt,
      original_frames: bvh.frames,
      scale,
      scale_source: scaleSource,
      ...(unit ? { unit } : {}),
      raw_height: rawHeight,
      up_axis: upAxis,
      mapped_by: mappedBy,
      t_pose_frame: tpose ? (drop ? 'dropped' : 'kept') : 'none',
      joint_map: Object.fromEntries(Object.entries(m).map(([k, v]) => [k, bvh.joints[v].name])),
    }),
  });
}

/** Top of the head (Head End Site, or the head) to the lowest foot point, along up, 80th percentile over frames; file units. */
function rawBodyHeight(bvh: BvhData, all: Float64Array, m: Mapping, drop: number, upK: number, upSign: number): number {
  const J = bvh.joints.length;
  const headEnd = children(bvh, m.head).find((c) => bvh.joints[c].end);
  const top = headEnd ?? m.head;
  const feet: number[] = [];
  for (const side of ['left', 'right']) {
    const a = m[`${side}_ankle`];
    feet.push(a);
    for (let i = 0; i < J; i++) if (isAncestor(bvh, a, i)) feet.push(i);
  }
  const hs: number[] = [];
  for (let f = drop; f < bvh.frames; f++) {
    let lo = Infinity;
    for (const k of feet) lo = Math.min(lo, upSign * all[3 * (f * J + k) + upK]);
    hs.push(upSign * all[3 * (f * J + top) + upK] - lo);
  }
  return quantile(hs, 0.8);
}
