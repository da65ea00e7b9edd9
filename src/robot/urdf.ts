/**
 * URDF → a plain, typed description of the robot (links, joints, inertials, geometry, materials).
 *
 * Everything the format carries that later stages use is kept: joint types (revolute, continuous,
 * prismatic, fixed, floating, planar), axes, origins, limits (position, velocity, effort), <mimic>,
 * <dynamics>, inertials, visual and collision geometry (box, cylinder, sphere, mesh with scale), and named
 * materials declared at top level and referenced by name. Mesh URIs (`package://`, `file://`, relative)
 * are resolved against the URDF's directory and a search path, and must exist.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { createHash } from 'node:crypto';
import { parseXml, type XmlElement as XElement } from '../io/xml.ts';
import { readFileBounded } from '../io/text.ts';
import { UserError, wrapFileError } from '../errors.ts';

export type Vec3 = [number, number, number];

export interface Origin {
  xyz: Vec3;
  rpy: Vec3;
}

export type Geometry =
  | { kind: 'box'; size: Vec3 }
  | { kind: 'cylinder'; radius: number; length: number }
  | { kind: 'sphere'; radius: number }
  | { kind: 'capsule'; radius: number; length: number }
  | { kind: 'mesh'; uri: string; file: string; scale: Vec3 };

export interface Material {
  name?: string;
  color?: [number, number, number, number];
  texture?: string;
}

export interface Visual {
  name?: string;
  origin: Origin;
  geometry: Geometry;
  material?: Material;
}

export interface Collision {
  name?: string;
  origin: Origin;
  geometry: Geometry;
}

export interface Inertial {
  origin: Origin;
  mass: number;
  /** ixx, ixy, ixz, iyy, iyz, izz about the inertial origin, in its frame. */
  inertia: { ixx: number; ixy: number; ixz: number; iyy: number; iyz: number; izz: number };
}

export interface Link {
  name: string;
  inertial?: Inertial;
  visuals: Visual[];
  collisions: Collision[];
}

export type JointType = 'revolute' | 'continuous' | 'prismatic' | 'fixed' | 'floating' | 'planar';

export interface JointLimit {
  lower: number;
  upper: number;
  velocity: number;
  effort: number;
}

export interface Joint {
  name: string;
  type: JointType;
  parent: string;
  child: string;
  origin: Origin;
  /** Unit axis in the joint frame. */
  axis: Vec3;
  limit?: JointLimit;
  mimic?: { joint: string; multiplier: number; offset: number };
  dynamics?: { damping: number; friction: number };
}

export interface UrdfRobot {
  name: string;
  /** Absolute path of the URDF file, when loaded from disk. */
  file?: string;
  /** sha256 of the URDF text. */
  sha256: string;
  rootLink: string;
  links: Link[];
  joints: Joint[];
  materials: Record<string, Material>;
}

export interface LoadUrdfOptions {
  /** Directories searched for `package://<pkg>/...` URIs (the package dir itself or its parent). */
  packagePaths?: string[];
  /** Check that mesh files exist (default true). */
  checkMeshes?: boolean;
}

/** Parse a URDF file from disk. Throws UserError naming the file on any problem. */
export function loadUrdf(file: string, opts: LoadUrdfOptions = {}): UrdfRobot {
  const text = readFileBounded(file, 256 * 2 ** 20).toString('utf8');
  return parseUrdf(text, { ...opts, file: path.resolve(file) });
}

export function parseUrdf(text: string, opts: LoadUrdfOptions & { file?: string } = {}): UrdfRobot {
  const file = opts.file;
  const where = file ?? 'urdf';
  if (!text.trim()) throw new UserError('empty file', where);
  let robotEl: XElement;
  try {
    robotEl = parseXml(text);
  } catch (err) {
    throw new UserError(`malformed XML: ${firstLine((err as Error).message)}`, where);
  }
  if (robotEl.name !== 'robot') throw new UserError(`not a URDF: root element is <${robotEl.name}>, expected <robot>`, where);

  const baseDir = file ? path.dirname(file) : process.cwd();
  const ctx: Ctx = { where, baseDir, packagePaths: opts.packagePaths ?? [], checkMeshes: opts.checkMeshes ?? true };

  const materials: Record<string, Material> = {};
  for (const m of children(robotEl, 'material')) {
    const mat = parseMaterial(m, ctx);
    if (mat.name) materials[mat.name] = mat;
  }

  const links: Link[] = [];
  const linkNames = new Set<string>();
  for (const l of children(robotEl, 'link')) {
    const name = attr(l, 'name');
    if (!name) throw new UserError('a <link> has no name', where);
    if (linkNames.has(name)) throw new UserError(`link "${name}" is declared twice`, where);
    linkNames.add(name);
    links.push(parseLink(l, name, materials, ctx));
  }
  if (!links.length) throw new UserError('URDF has no links', where);

  const joints: Joint[] = [];
  const jointNames = new Set<string>();
  const childOf = new Map<string, string>();
  for (const j of children(robotEl, 'joint')) {
    const joint = parseJoint(j, ctx);
    if (jointNames.has(joint.name)) throw new UserError(`joint "${joint.name}" is declared twice`, where);
    jointNames.add(joint.name);
    if (!linkNames.has(joint.parent)) throw new UserError(`joint "${joint.name}" names parent link "${joint.parent}", which does not exist`, where);
    if (!linkNames.has(joint.child)) throw new UserError(`joint "${joint.name}" names child link "${joint.child}", which does not exist`, where);
    if (childOf.has(joint.child)) throw new UserError(`link "${joint.child}" is the child of two joints ("${childOf.get(joint.child)}" and "${joint.name}")`, where);
    childOf.set(joint.child, joint.name);
    joints.push(joint);
  }
  for (const j of joints) {
    if (j.mimic && !jointNames.has(j.mimic.joint)) throw new UserError(`joint "${j.name}" mimics "${j.mimic.joint}", which does not exist`, where);
  }
  // Mimic chains must end at a real joint (no mimic cycles).
  const byName = new Map(joints.map((j) => [j.name, j]));
  for (const j of joints) {
    let k: Joint | undefined = j;
    for (let steps = 0; k?.mimic; steps++) {
      if (steps > joints.length) throw new UserError(`mimic joints form a cycle through "${j.name}"`, where);
      k = byName.get(k.mimic.joint);
    }
  }

  // Exactly one root; no cycles.
  const roots = links.filter((l) => !childOf.has(l.name));
  if (roots.length === 0) throw new UserError('joint cycle: every link is the child of a joint (no root link)', where);
  const parentOf = new Map(joints.map((j) => [j.child, j.parent]));
  for (const l of links) {
    let k: string | undefined = l.name;
    for (let steps = 0; k !== undefined; steps++) {
      if (steps > links.length) throw new UserError(`joint cycle through link "${l.name}"`, where);
      k = parentOf.get(k);
    }
  }
  if (roots.length > 1) {
    throw new UserError(`URDF is not one tree: ${roots.length} root links (${roots.slice(0, 4).map((r) => r.name).join(', ')}${roots.length > 4 ? ', ...' : ''})`, where);
  }

  return {
    name: attr(robotEl, 'name') ?? 'robot',
    file,
    sha256: createHash('sha256').update(text).digest('hex'),
    rootLink: roots[0].name,
    links,
    joints,
    materials,
  };
}

// ---- parsing helpers --------------------------------------------------------------------------------

interface Ctx {
  where: string;
  baseDir: string;
  packagePaths: string[];
  checkMeshes: boolean;
}

function firstLine(s: string): string {
  return String(s).split('\n').map((x) => x.trim()).filter(Boolean)[0] ?? String(s);
}

function children(el: XElement, tag: string): XElement[] {
  return el.children.filter((c) => c.name === tag);
}

function child(el: XElement, tag: string): XElement | undefined {
  return children(el, tag)[0];
}

function attr(el: XElement | undefined, name: string): string | undefined {
  return el ? el.attrs[name] : undefined;
}

function num(s: string | undefined, what: string, ctx: Ctx, dflt?: number): number {
  if (s === undefined || s.trim() === '') {
    if (dflt !== undefined) return dflt;
    throw new UserError(`${what} is missing`, ctx.where);
  }
  const v = Number(s.trim());
  if (!Number.isFinite(v)) throw new UserError(`${what} is not a finite number: "${s}"`, ctx.where);
  return v;
}

function nums(s: string | undefined, n: number, what: string, ctx: Ctx, dflt?: number[]): number[] {
  if (s === undefined || s.trim() === '') {
    if (dflt) return dflt.slice();
    throw new UserError(`${what} is missing`, ctx.where);
  }
  const parts = s.trim().split(/\s+/);
  if (parts.length !== n) throw new UserError(`${what} needs ${n} numbers, got "${s}"`, ctx.where);
  return parts.map((p) => num(p, what, ctx));
}

function parseOrigin(el: XElement | undefined, what: string, ctx: Ctx): Origin {
  return {
    xyz: nums(attr(el, 'xyz'), 3, `${what} origin xyz`, ctx, [0, 0, 0]) as Vec3,
    rpy: nums(attr(el, 'rpy'), 3, `${what} origin rpy`, ctx, [0, 0, 0]) as Vec3,
  };
}

function parseMaterial(el: XElement, ctx: Ctx): Material {
  const m: Material = {};
  const name = attr(el, 'name');
  if (name) m.name = name;
  const c = child(el, 'color');
  if (c) m.color = nums(attr(c, 'rgba'), 4, `material ${name ?? ''} color`, ctx) as [number, number, number, number];
  const t = child(el, 'texture');
  if (t && attr(t, 'filename')) m.texture = attr(t, 'filename');
  return m;
}

function parseGeometry(el: XElement | undefined, what: string, ctx: Ctx): Geometry {
  if (!el) throw new UserError(`${what} has no <geometry>`, ctx.where);
  const g = [...children(el, 'box'), ...children(el, 'cylinder'), ...children(el, 'sphere'), ...children(el, 'mesh'), ...children(el, 'capsule')][0];
  if (!g) throw new UserError(`${what} <geometry> has no box, cylinder, sphere or mesh`, ctx.where);
  switch (g.name) {
    case 'box': {
      const size = nums(attr(g, 'size'), 3, `${what} box size`, ctx) as Vec3;
      if (size.some((v) => v < 0)) throw new UserError(`${what} box size is negative`, ctx.where);
      return { kind: 'box', size };
    }
    case 'cylinder':
    case 'capsule':
      return { kind: g.name, radius: num(attr(g, 'radius'), `${what} ${g.name} radius`, ctx), length: num(attr(g, 'length'), `${what} ${g.name} length`, ctx) };
    case 'sphere':
      return { kind: 'sphere', radius: num(attr(g, 'radius'), `${what} sphere radius`, ctx) };
    default: {
      const uri = attr(g, 'filename');
      if (!uri) throw new UserError(`${what} mesh has no filename`, ctx.where);
      const scaleAttr = attr(g, 'scale');
      let scale: Vec3 = [1, 1, 1];
      if (scaleAttr !== undefined) {
        const parts = scaleAttr.trim().split(/\s+/);
        scale = (parts.length === 1 ? [parts[0], parts[0], parts[0]] : parts).map((p) => num(p, `${what} mesh scale`, ctx)) as Vec3;
        if (scale.length !== 3) throw new UserError(`${what} mesh scale needs 1 or 3 numbers`, ctx.where);
      }
      return { kind: 'mesh', uri, file: resolveUri(uri, what, ctx), scale };
    }
  }
}

/** Resolve a mesh URI to an absolute path: package://pkg/rest, file://, absolute or relative to the URDF. */
export function resolveMeshUri(uri: string, baseDir: string, packagePaths: string[] = []): string | null {
  if (uri.startsWith('package://')) {
    const rest = uri.slice('package://'.length);
    const slash = rest.indexOf('/');
    const pkg = slash < 0 ? rest : rest.slice(0, slash);
    const sub = slash < 0 ? '' : rest.slice(slash + 1);
    const candidates: string[] = [];
    for (const p of packagePaths) {
      candidates.push(path.join(p, pkg, sub), path.join(p, sub));
    }
    // Walk up from the URDF: the package is commonly an ancestor directory (…/<pkg>/urdf/robot.urdf),
    // or the URDF sits beside the package's contents.
    let dir = baseDir;
    for (let i = 0; i < 6; i++) {
      candidates.push(path.join(dir, sub));
      if (path.basename(dir) === pkg) candidates.push(path.join(dir, sub));
      candidates.push(path.join(dir, pkg, sub));
      const up = path.dirname(dir);
      if (up === dir) break;
      dir = up;
    }
    return candidates.find((c) => fs.existsSync(c)) ?? null;
  }
  const p = uri.startsWith('file://') ? decodeURIComponent(uri.slice('file://'.length)) : uri;
  const abs = path.isAbsolute(p) ? p : path.join(baseDir, p);
  return fs.existsSync(abs) ? abs : null;
}

function resolveUri(uri: string, what: string, ctx: Ctx): string {
  const r = resolveMeshUri(uri, ctx.baseDir, ctx.packagePaths);
  if (r) return r;
  if (ctx.checkMeshes) throw new UserError(`${what} mesh "${uri}" not found (searched beside the URDF and the package path)`, ctx.where);
  return uri;
}

function parseLink(el: XElement, name: string, materials: Record<string, Material>, ctx: Ctx): Link {
  const link: Link = { name, visuals: [], collisions: [] };
  const inertialEl = child(el, 'inertial');
  if (inertialEl) {
    const massEl = child(inertialEl, 'mass');
    const mass = num(attr(massEl, 'value'), `link "${name}" mass`, ctx, massEl ? undefined : 0);
    if (mass < 0) throw new UserError(`link "${name}" has negative mass ${mass}`, ctx.where);
    // No robot link weighs a thousand tonnes: 1e308 kg overflows every force computed from it.
    if (mass > 1e6) throw new UserError(`link "${name}" has a mass of ${mass.toExponential(2)} kg (over 1e6 kg: not a physical robot link)`, ctx.where);
    const i = child(inertialEl, 'inertia');
    const w = `link "${name}" inertia`;
    link.inertial = {
      origin: parseOrigin(child(inertialEl, 'origin'), `link "${name}" inertial`, ctx),
      mass,
      inertia: {
        ixx: num(attr(i, 'ixx'), `${w} ixx`, ctx, 0), ixy: num(attr(i, 'ixy'), `${w} ixy`, ctx, 0), ixz: num(attr(i, 'ixz'), `${w} ixz`, ctx, 0),
        iyy: num(attr(i, 'iyy'), `${w} iyy`, ctx, 0), iyz: num(attr(i, 'iyz'), `${w} iyz`, ctx, 0), izz: num(attr(i, 'izz'), `${w} izz`, ctx, 0),
      },
    };
    for (const [k, v] of Object.entries(link.inertial.inertia)) {
      if (Math.abs(v) > 1e6) throw new UserError(`${w} ${k} is ${v.toExponential(2)} kg·m² (over 1e6: not a physical robot link)`, ctx.where);
    }
  }
  for (const v of children(el, 'visual')) {
    const what = `link "${name}" visual`;
    const visual: Visual = { origin: parseOrigin(child(v, 'origin'), what, ctx), geometry: parseGeometry(child(v, 'geometry'), what, ctx) };
    const vn = attr(v, 'name');
    if (vn) visual.name = vn;
    const m = child(v, 'material');
    if (m) {
      const local = parseMaterial(m, ctx);
      const named = local.name ? materials[local.name] : undefined;
      visual.material = { ...named, ...local, color: local.color ?? named?.color, texture: local.texture ?? named?.texture };
    }
    link.visuals.push(visual);
  }
  for (const c of children(el, 'collision')) {
    const what = `link "${name}" collision`;
    const col: Collision = { origin: parseOrigin(child(c, 'origin'), what, ctx), geometry: parseGeometry(child(c, 'geometry'), what, ctx) };
    const cn = attr(c, 'name');
    if (cn) col.name = cn;
    link.collisions.push(col);
  }
  return link;
}

const JOINT_TYPES = new Set(['revolute', 'continuous', 'prismatic', 'fixed', 'floating', 'planar']);

function parseJoint(el: XElement, ctx: Ctx): Joint {
  const name = attr(el, 'name');
  if (!name) throw new UserError('a <joint> has no name', ctx.where);
  const type = attr(el, 'type');
  if (!type || !JOINT_TYPES.has(type)) throw new UserError(`joint "${name}" has unknown type "${type ?? ''}"`, ctx.where);
  const parent = attr(child(el, 'parent'), 'link');
  const childLink = attr(child(el, 'child'), 'link');
  if (!parent) throw new UserError(`joint "${name}" has no <parent link=...>`, ctx.where);
  if (!childLink) throw new UserError(`joint "${name}" has no <child link=...>`, ctx.where);
  const axisRaw = nums(attr(child(el, 'axis'), 'xyz'), 3, `joint "${name}" axis`, ctx, [1, 0, 0]);
  const norm = Math.hypot(axisRaw[0], axisRaw[1], axisRaw[2]);
  if (type !== 'fixed' && type !== 'floating' && norm < 1e-12) throw new UserError(`joint "${name}" has a zero axis`, ctx.where);
  const axis = (norm > 0 ? axisRaw.map((v) => v / norm) : [1, 0, 0]) as Vec3;
  const joint: Joint = { name, type: type as JointType, parent, child: childLink, origin: parseOrigin(child(el, 'origin'), `joint "${name}"`, ctx), axis };
  const lim = child(el, 'limit');
  if (lim) {
    const w = `joint "${name}" limit`;
    const limit: JointLimit = {
      lower: num(attr(lim, 'lower'), `${w} lower`, ctx, 0),
      upper: num(attr(lim, 'upper'), `${w} upper`, ctx, 0),
      velocity: num(attr(lim, 'velocity'), `${w} velocity`, ctx, Infinity),
      effort: num(attr(lim, 'effort'), `${w} effort`, ctx, Infinity),
    };
    if ((type === 'revolute' || type === 'prismatic') && limit.lower > limit.upper) {
      throw new UserError(`joint "${name}" has lower limit ${limit.lower} above upper limit ${limit.upper}`, ctx.where);
    }
    if (type === 'continuous') { limit.lower = -Infinity; limit.upper = Infinity; }
    joint.limit = limit;
  } else if (type === 'revolute' || type === 'prismatic') {
    throw new UserError(`joint "${name}" (${type}) has no <limit>`, ctx.where);
  }
  const mim = child(el, 'mimic');
  if (mim) {
    const leader = attr(mim, 'joint');
    if (!leader) throw new UserError(`joint "${name}" <mimic> names no joint`, ctx.where);
    joint.mimic = { joint: leader, multiplier: num(attr(mim, 'multiplier'), `joint "${name}" mimic multiplier`, ctx, 1), offset: num(attr(mim, 'offset'), `joint "${name}" mimic offset`, ctx, 0) };
  }
  const dyn = child(el, 'dynamics');
  if (dyn) joint.dynamics = { damping: num(attr(dyn, 'damping'), `joint "${name}" damping`, ctx, 0), friction: num(attr(dyn, 'friction'), `joint "${name}" friction`, ctx, 0) };
  return joint;
}

/** Total mass of all links. */
export function totalMass(r: UrdfRobot): number {
  return r.links.reduce((s, l) => s + (l.inertial?.mass ?? 0), 0);
}
