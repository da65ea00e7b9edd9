/**
 * DeepMimic motion files (`{"Loop", "Frames": [[dt, root xyz, root quat wxyz, per-joint quats/angles...]]}`)
 * played through a DeepMimic character file (`humanoid3d_character.json`: joints with types none /
 * spherical (quaternion w,x,y,z) / revolute (angle about z) / fixed, parents and attach offsets).
 * DeepMimic is Y up, X forward, Z right; the track is Z up, X forward, Y left.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { UserError } from '../errors.ts';
import { assembleTrack, baseSource, frameRotation, newSeries, parseJson, readInput, transformPoints, type InputFile, type JointSeries } from './common.ts';
import type { PoseTrack } from './track.ts';
import { quatToMat3 } from '../math/rotation.ts';

export interface DeepMimicOptions {
  /** Character file; default `humanoid3d_character.json` beside the motion. */
  character?: string;
}

interface DmJoint { name: string; type: string; parent: number; attach: [number, number, number] }

const DOF: Record<string, number> = { none: 7, spherical: 4, revolute: 1, fixed: 0 };

function readCharacter(file: string, motion: string): { joints: DmJoint[]; bodies: Map<string, [number, number, number]>; headRadius: number } {
  if (!fs.existsSync(file)) throw new UserError(`DeepMimic character file ${path.basename(file)} not found beside the motion (state --character)`, motion);
  const doc = parseJson(readInput(file)) as { Skeleton?: { Joints?: unknown[] }; BodyDefs?: unknown[] };
  const js = doc?.Skeleton?.Joints;
  if (!Array.isArray(js) || !js.length) throw new UserError('not a DeepMimic character (no Skeleton.Joints)', file);
  const joints = js.map((j, i) => {
    const o = j as Record<string, unknown>;
    const type = String(o.Type);
    if (!(type in DOF)) throw new UserError(`joint ${i} has unknown type '${type}'`, file);
    const attach = [o.AttachX, o.AttachY, o.AttachZ].map(Number) as [number, number, number];
    if (!attach.every(Number.isFinite)) throw new UserError(`joint ${i} has a non-numeric attach offset`, file);
    for (const k of ['AttachThetaX', 'AttachThetaY', 'AttachThetaZ']) {
      if (o[k] !== undefined && Number(o[k]) !== 0) throw new UserError(`joint ${String(o.Name)} has a rotated attachment (${k}), which is not supported`, file);
    }
    const parent = Number(o.Parent);
    if (!Number.isInteger(parent) || parent >= i || parent < -1) throw new UserError(`joint ${i} has parent ${String(o.Parent)}, which does not come before it`, file);
    return { name: String(o.Name), type, parent, attach };
  });
  const bodies = new Map<string, [number, number, number]>();
  let headRadius = 0.1;
  for (const b of (doc.BodyDefs ?? []) as Record<string, unknown>[]) {
    bodies.set(String(b.Name), [Number(b.AttachX), Number(b.AttachY), Number(b.AttachZ)]);
    if (b.Name === 'neck' && Number(b.Param0) > 0) headRadius = Number(b.Param0) / 2;
  }
  return { joints, bodies, headRadius };
}

function mul(a: number[], b: number[]): number[] {
  const o = new Array<number>(9);
  for (let r = 0; r < 3; r++) for (let c = 0; c < 3; c++) o[3 * r + c] = a[3 * r] * b[c] + a[3 * r + 1] * b[3 + c] + a[3 * r + 2] * b[6 + c];
  return o;
}

function apply(R: number[], v: number[]): number[] {
  return [R[0] * v[0] + R[1] * v[1] + R[2] * v[2], R[3] * v[0] + R[4] * v[1] + R[5] * v[2], R[6] * v[0] + R[7] * v[1] + R[8] * v[2]];
}

export function importDeepMimic(file: string, opts: DeepMimicOptions = {}, input?: InputFile): PoseTrack {
  const inp = input ?? readInput(file);
  const doc = parseJson(inp) as Record<string, unknown>;
  const frames = doc?.Frames;
  if (!Array.isArray(frames) || !frames.length) throw new UserError('not a DeepMimic motion (no "Frames" list)', file);
  const charFile = opts.character ?? path.join(path.dirname(file), 'humanoid3d_character.json');
  const ch = readCharacter(charFile, file);
  const width = 1 + ch.joints.reduce((a, j) => a + DOF[j.type], 0);
  const T = frames.length;
  const series: JointSeries[] = ch.joints.map((j) => newSeries(j.name, j.parent >= 0 ? ch.joints[j.parent].name : null, T));
  const head = newSeries('head', 'neck', T);
  const headTop = newSeries('head_top', 'head', T);
  const toes = { left: newSeries('left_toe', 'left_ankle', T), right: newSeries('right_toe', 'right_ankle', T) };
  const timestamps = new Float64Array(T);
  let time = 0;
  for (let t = 0; t < T; t++) {
    const f = frames[t];
    if (!Array.isArray(f) || f.length !== width) throw new UserError(`frame ${t} has ${Array.isArray(f) ? f.length : 'no'} values, expected ${width} for this character`, file);
    for (let k = 0; k < width; k++) if (typeof f[k] !== 'number' || !Number.isFinite(f[k])) throw new UserError(`frame ${t} value ${k} is not a finite number`, file);
    timestamps[t] = time;
    const dt = f[0] as number;
    if (!(dt > 0) && t < T - 1) throw new UserError(`frame ${t} has duration ${dt}; must be positive`, file);
    time += dt;
    let k = 1;
    const rot: number[][] = [];
    const pos: number[][] = [];
    ch.joints.forEach((j, i) => {
      let local = [1, 0, 0, 0, 1, 0, 0, 0, 1];
      let p: number[];
      if (j.type === 'none') {
        p = [f[k], f[k + 1], f[k + 2]];
        local = quatToMat3(f[k + 3], f[k + 4], f[k + 5], f[k + 6]);
      } else {
        if (j.type === 'spherical') local = quatToMat3(f[k], f[k + 1], f[k + 2], f[k + 3]);
        else if (j.type === 'revolute') { const c = Math.cos(f[k]), s = Math.sin(f[k]); local = [c, -s, 0, s, c, 0, 0, 0, 1]; }
        p = [0, 0, 0];
      }
      k += DOF[j.type];
      if (j.parent < 0) { rot[i] = local; pos[i] = p.map((v, a) => v + j.attach[a]); }
      else {
        const a = apply(rot[j.parent], j.attach);
        pos[i] = [0, 1, 2].map((c) => pos[j.parent][c] + a[c]);
        rot[i] = mul(rot[j.parent], local);
      }
      series[i].pos.set(pos[i], 3 * t);
      series[i].conf[t] = 1;
    });
    const neck = ch.joints.findIndex((j) => j.name === 'neck');
    if (neck >= 0) {
      const hc = ch.bodies.get('neck') ?? [0, 0.175, 0];
      const c = apply(rot[neck], hc);
      head.pos.set([0, 1, 2].map((a) => pos[neck][a] + c[a]), 3 * t); head.conf[t] = 1;
      const top = apply(rot[neck], [hc[0], hc[1] + ch.headRadius, hc[2]]);
      headTop.pos.set([0, 1, 2].map((a) => pos[neck][a] + top[a]), 3 * t); headTop.conf[t] = 1;
    }
    for (const side of ['left', 'right'] as const) {
      const a = ch.joints.findIndex((j) => j.name === `${side}_ankle`);
      if (a < 0) continue;
      const o = apply(rot[a], [0.11, -0.045, 0]);
      toes[side].pos.set([0, 1, 2].map((c) => pos[a][c] + o[c]), 3 * t); toes[side].conf[t] = 1;
    }
  }
  const R = frameRotation('y', 'x');
  for (const s of [...series, head, headTop, toes.left, toes.right]) transformPoints(s.pos, R);
  const byName = new Map(series.map((s) => [s.name, s]));
  const canonical = new Map<string, JointSeries>();
  const pick = (canon: string, src: string) => { const s = byName.get(src); if (s) canonical.set(canon, { ...s, name: canon }); };
  pick('pelvis', 'root');
  pick('chest', 'chest');
  pick('neck', 'neck');
  for (const side of ['left', 'right']) for (const p of ['hip', 'knee', 'ankle', 'shoulder', 'elbow', 'wrist']) pick(`${side}_${p}`, `${side}_${p}`);
  if (head.conf[0] > 0) canonical.set('head', head);
  canonical.set('left_toe', toes.left);
  canonical.set('right_toe', toes.right);
  // Spine: DeepMimic has none; midway between root and chest.
  const sp = newSeries('spine', null, T);
  const root = byName.get('root'), chest = byName.get('chest');
  if (root && chest) for (let t = 0; t < T; t++) { for (let a = 0; a < 3; a++) sp.pos[3 * t + a] = (root.pos[3 * t + a] + chest.pos[3 * t + a]) / 2; sp.conf[t] = 1; }
  canonical.set('spine', sp);
  const dt = (frames[0] as number[])[0];
  const fps = Math.abs(1 / dt - Math.round(1 / dt)) < 0.01 ? Math.round(1 / dt) : 1 / dt;
  return assembleTrack({
    T, timestamps, fps, file, parts: { body: true, hands: [] }, canonical,
    extras: [...series.map((s) => ({ ...s, name: `dm_${s.name}`, parent: s.parent ? `dm_${s.parent}` : 'pelvis' })), headTop],
    source: baseSource(inp, 'deepmimic', { character: path.basename(charFile), loop: doc.Loop ?? null }),
  });
}
