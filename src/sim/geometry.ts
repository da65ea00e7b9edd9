/**
 * Robot geometry for simulation, independent of any pose: links merged into rigid bodies across fixed
 * joints, combined mass properties, and collision shapes (primitives kept as primitives, meshes as convex
 * hulls or a few hulls when one is too coarse). Computed once per URDF and cached.
 *
 * Everything here is expressed in the frame of each body's top link (the link whose joint is not fixed).
 */
import type RAPIER from '@dimforge/rapier3d-compat';
import type { UrdfRobot, Origin } from '../robot/urdf.ts';
import { Kinematics, originToTransform } from '../robot/kinematics.ts';
import { loadMesh, meshVolume, type TriMesh } from '../robot/mesh.ts';
import { decimatePoints, splitByPrincipalAxis } from './hull.ts';
import { compose, invert, transformPoint } from './math.ts';
import { rotateTensor } from '../math/rotation.ts';
import { loadRapier, rapier } from './rapier.ts';
import { hullCacheEnabled, hullCacheFile, readHulls, writeHulls } from './hullcache.ts';

/** Thrown by a cache-only build at the first mesh whose hulls are not cached. */
const HULL_MISS = new Error('hull cache miss');

export type ShapeSpec =
  | { kind: 'cuboid'; half: [number, number, number]; pose: Float64Array; link: number }
  | { kind: 'ball'; radius: number; pose: Float64Array; link: number }
  | { kind: 'cylinder'; halfHeight: number; radius: number; pose: Float64Array; link: number }
  | { kind: 'capsule'; halfHeight: number; radius: number; pose: Float64Array; link: number }
  /** Hull points in the body (top link) frame; pose is identity. */
  | { kind: 'hull'; points: Float32Array; pose: Float64Array; link: number; source: string };

export interface BodySpec {
  name: string;
  /** Kinematics link indices merged into this body (top link first). */
  links: number[];
  top: number;
  /** Parent body index (-1 for the root body). */
  parent: number;
  /** Mass (kg), centre of mass and inertia tensor (about the COM), in the top link frame. */
  mass: number;
  com: [number, number, number];
  inertia: number[]; // 3x3 row-major
  /** True when the URDF gave this body no mass and the default was used. */
  defaultedMass: boolean;
  /** Armature added about the joint axis (kg m^2). */
  armature: number;
  shapes: ShapeSpec[];
}

export interface GeometryOptions {
  /** Mass for links without inertial data (kg). */
  defaultMass: number;
  /** Grid cell for hull point decimation, relative to the mesh's bounding-box diagonal. */
  decimateCell: number;
  /** Split a mesh into more hulls while hull volume / mesh volume exceeds this. */
  hullVolumeRatio: number;
  maxHullsPerMesh: number;
  /** Links without collision geometry: 'none' or 'visual' (hull of the visual mesh). */
  missingCollision: 'none' | 'visual';
  /**
   * Actuator rotor inertia reflected through the gearbox ("armature"), which URDFs do not carry: per joint
   * min(armatureMax, armaturePerEffort * effort limit) kg m^2, added to the moving body's inertia about its
   * joint axis. (MuJoCo models of G1 give about 2e-4 kg m^2 per Nm of effort: 0.007 ankle, 0.01 hip,
   * 0.025 knee.) It also lets explicit PD stay stiff at a 5 ms step on robots with very light links.
   */
  armaturePerEffort: number;
  armatureMax: number;
}

export const DEFAULT_GEOMETRY: GeometryOptions = {
  defaultMass: 0.05,
  decimateCell: 1 / 12,
  hullVolumeRatio: 1.5,
  maxHullsPerMesh: 4,
  missingCollision: 'none',
  armaturePerEffort: 0,
  armatureMax: 0,
};

export interface RobotGeometry {
  robot: UrdfRobot;
  kin: Kinematics;
  bodies: BodySpec[];
  /** Body index per kinematics link. */
  bodyOfLink: Int32Array;
  /** Top link -> link transform (3x4) per kinematics link. */
  linkInBody: Float64Array;
  notes: string[];
  hullStats: { meshes: number; hulls: number; points: number };
}

const cache = new Map<string, RobotGeometry>();

/** Does building the geometry hull a mesh (the only step that needs Rapier: hull volumes)? */
function hasMeshShapes(robot: UrdfRobot, o: GeometryOptions): boolean {
  return robot.links.some((l) => l.collisions.some((c) => c.geometry.kind === 'mesh')
    || (!l.collisions.length && o.missingCollision === 'visual' && l.visuals.some((v) => v.geometry.kind === 'mesh')));
}

export async function robotGeometry(robot: UrdfRobot, opts: Partial<GeometryOptions> = {}): Promise<RobotGeometry> {
  const o = { ...DEFAULT_GEOMETRY, ...opts };
  const key = `${robot.sha256}:${robot.file ?? ''}:${JSON.stringify(o)}`;
  const hit = cache.get(key);
  if (hit) return hit;
  let g: RobotGeometry;
  if (!hasMeshShapes(robot, o)) g = buildGeometry(robot, o, false);
  else {
    // Every mesh's hulls cached on disk: no mesh is read and Rapier (hull volumes) is not loaded.
    try {
      g = buildGeometry(robot, o, true);
    } catch (e) {
      if (e !== HULL_MISS) throw e;
      await loadRapier();
      g = buildGeometry(robot, o, false);
    }
  }
  cache.set(key, g);
  return g;
}

function buildGeometry(robot: UrdfRobot, o: GeometryOptions, cachedHullsOnly: boolean): RobotGeometry {
  const kin = new Kinematics(robot);
  const n = kin.nLinks;
  const notes: string[] = [];
  // Merge across fixed joints.
  const bodyOfLink = new Int32Array(n).fill(-1);
  const bodies: BodySpec[] = [];
  for (let i = 0; i < n; i++) {
    const j = kin.linkJoint[i];
    const moving = j !== null && kin.linkDof(i) >= 0;
    if (i === 0 || moving) {
      bodyOfLink[i] = bodies.length;
      bodies.push({
        name: kin.linkNames[i], links: [i], top: i, parent: i === 0 ? -1 : bodyOfLink[kin.linkParent[i]],
        mass: 0, com: [0, 0, 0], inertia: [0, 0, 0, 0, 0, 0, 0, 0, 0], defaultedMass: false, armature: 0, shapes: [],
      });
    } else {
      const b = bodyOfLink[kin.linkParent[i]];
      bodyOfLink[i] = b;
      bodies[b].links.push(i);
    }
  }
  // Link transforms relative to their body's top link (constant: only fixed joints in between).
  const q0 = new Float64Array(kin.nq);
  kin.fk(q0);
  const linkInBody = new Float64Array(12 * n);
  const inv = new Float64Array(12);
  for (let i = 0; i < n; i++) {
    const top = bodies[bodyOfLink[i]].top;
    invert(kin.pose, 12 * top, inv, 0);
    compose(inv, 0, kin.pose, 12 * i, linkInBody, 12 * i);
  }
  const T = new Float64Array(12);
  const meshCache = new Map<string, TriMesh>();
  const stats = { meshes: 0, hulls: 0, points: 0 };
  for (const b of bodies) {
    // Mass properties.
    let m = 0;
    const c = [0, 0, 0];
    const parts: { m: number; c: number[]; I: number[] }[] = [];
    for (const li of b.links) {
      const inertial = robot.links.find((l) => l.name === kin.linkNames[li])!.inertial;
      if (!inertial || !(inertial.mass > 0)) continue;
      originToTransform(inertial.origin, T, 0);
      const L = compose(linkInBody, 12 * li, T, 0, new Float64Array(12), 0);
      const R = [L[0], L[1], L[2], L[3], L[4], L[5], L[6], L[7], L[8]];
      const { ixx, ixy, ixz, iyy, iyz, izz } = inertial.inertia;
      const Il = [ixx, ixy, ixz, ixy, iyy, iyz, ixz, iyz, izz];
      parts.push({ m: inertial.mass, c: [L[9], L[10], L[11]], I: rotateTensor(R, Il) });
      m += inertial.mass;
      for (let k = 0; k < 3; k++) c[k] += inertial.mass * L[9 + k];
    }
    if (m > 0) {
      for (let k = 0; k < 3; k++) c[k] /= m;
      const I = [0, 0, 0, 0, 0, 0, 0, 0, 0];
      for (const p of parts) {
        const d = [p.c[0] - c[0], p.c[1] - c[1], p.c[2] - c[2]];
        const dd = d[0] * d[0] + d[1] * d[1] + d[2] * d[2];
        for (let r = 0; r < 3; r++) for (let s = 0; s < 3; s++) I[3 * r + s] += p.I[3 * r + s] + p.m * ((r === s ? dd : 0) - d[r] * d[s]);
      }
      b.mass = m;
      b.com = [c[0], c[1], c[2]];
      b.inertia = I;
    } else {
      // Stated default: a 2 cm solid sphere of defaultMass at the top link's origin.
      const r = 0.02;
      const i = 0.4 * o.defaultMass * r * r;
      b.mass = o.defaultMass;
      b.com = [0, 0, 0];
      b.inertia = [i, 0, 0, 0, i, 0, 0, 0, i];
      b.defaultedMass = true;
      notes.push(`body ${b.name} has no mass in the URDF: default ${o.defaultMass} kg sphere used`);
    }
    if (o.armaturePerEffort > 0 && b.parent >= 0) {
      const j = kin.linkJoint[b.top]!;
      const e = kin.effortLimit[kin.linkDof(b.top)];
      const arm = Number.isFinite(e) ? Math.min(o.armatureMax, o.armaturePerEffort * e) : 0;
      if (j.type !== 'prismatic' && arm > 0) {
        const a = j.axis;
        for (let r = 0; r < 3; r++) for (let c2 = 0; c2 < 3; c2++) b.inertia[3 * r + c2] += arm * a[r] * a[c2];
        b.armature = arm;
      }
    }
    // Collision shapes.
    for (const li of b.links) {
      const link = robot.links.find((l) => l.name === kin.linkNames[li])!;
      let geoms: { origin: Origin; geometry: (typeof link.collisions)[number]['geometry'] }[] = link.collisions;
      if (!geoms.length && o.missingCollision === 'visual') geoms = link.visuals.filter((v) => v.geometry.kind === 'mesh');
      for (const col of geoms) {
        originToTransform(col.origin, T, 0);
        const pose = compose(linkInBody, 12 * li, T, 0, new Float64Array(12), 0);
        const g = col.geometry;
        switch (g.kind) {
          case 'box': b.shapes.push({ kind: 'cuboid', half: [g.size[0] / 2, g.size[1] / 2, g.size[2] / 2], pose, link: li }); break;
          case 'sphere': b.shapes.push({ kind: 'ball', radius: g.radius, pose, link: li }); break;
          case 'cylinder': b.shapes.push({ kind: 'cylinder', halfHeight: g.length / 2, radius: g.radius, pose, link: li }); break;
          case 'capsule': b.shapes.push({ kind: 'capsule', halfHeight: g.length / 2, radius: g.radius, pose, link: li }); break;
          case 'mesh': {
            const cached = hullCacheEnabled() ? hullCacheFile(g.file, g.scale, pose, [o.decimateCell, o.hullVolumeRatio, o.maxHullsPerMesh]) : null;
            let hulls = cached ? readHulls(cached) : null;
            if (!hulls) {
              if (cachedHullsOnly) throw HULL_MISS;
              const key = `${g.file}|${g.scale.join(',')}`;
              let mesh = meshCache.get(key);
              if (!mesh) { mesh = loadMesh(g.file, g.scale); meshCache.set(key, mesh); }
              hulls = meshHulls(mesh, pose, o);
              if (cached) writeHulls(cached, hulls);
            }
            stats.meshes++;
            for (const h of hulls) {
              stats.hulls++;
              stats.points += h.length / 3;
              b.shapes.push({ kind: 'hull', points: h, pose: identity(), link: li, source: g.file });
            }
            break;
          }
        }
      }
    }
  }
  return { robot, kin, bodies, bodyOfLink, linkInBody, notes, hullStats: stats };
}

function identity(): Float64Array {
  return Float64Array.from([1, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0]);
}

/** Volume of the convex hull of points (Rapier computes the hull; loadRapier() first). */
export function hullVolume(points: Float32Array): number {
  const desc = rapier('hullVolume').ColliderDesc.convexHull(points);
  if (!desc) return 0;
  const w = scratchWorld();
  const c = w.createCollider(desc);
  const v = c.volume();
  w.removeCollider(c, false);
  return v;
}

let scratch: RAPIER.World | null = null;
function scratchWorld(): RAPIER.World {
  if (!scratch) scratch = new (rapier('hullVolume').World)({ x: 0, y: 0, z: 0 });
  return scratch;
}

/**
 * Convex hull point sets for a mesh placed at `pose`: one hull when it is a good fit (hull volume within
 * `hullVolumeRatio` of the mesh's own volume), else split along principal axes into up to
 * `maxHullsPerMesh` parts. Points are decimated on a grid first (hulls of 200k-triangle meshes in
 * milliseconds, shape kept to ~1/40 of the mesh size).
 */
function meshHulls(mesh: TriMesh, pose: Float64Array, o: GeometryOptions): Float32Array[] {
  const P = mesh.positions;
  const nv = P.length / 3;
  const placed = new Float32Array(P.length);
  const tmp = new Float64Array(3);
  for (let i = 0; i < nv; i++) {
    transformPoint(pose, 0, P[3 * i], P[3 * i + 1], P[3 * i + 2], tmp);
    placed[3 * i] = tmp[0]; placed[3 * i + 1] = tmp[1]; placed[3 * i + 2] = tmp[2];
  }
  const meshVol = meshVolume({ positions: placed, indices: mesh.indices });
  let parts: Float32Array[] = [decimatePoints(placed, o.decimateCell)];
  let vols = parts.map(hullVolume);
  const total = (): number => vols.reduce((a, b) => a + b, 0);
  // A mesh whose own volume is not meaningful (open, or smaller than nothing) keeps one hull.
  if (!(meshVol > 0) || total() < meshVol * 0.95) return parts;
  while (total() > o.hullVolumeRatio * meshVol && parts.length < o.maxHullsPerMesh) {
    // Split the part with the largest hull.
    let k = 0;
    for (let i = 1; i < parts.length; i++) if (vols[i] > vols[k]) k = i;
    const halves = splitByPrincipalAxis(parts[k]);
    if (!halves) break;
    const hv = halves.map(hullVolume);
    if (hv[0] + hv[1] > vols[k] * 0.97) break; // splitting does not tighten it
    parts = [...parts.slice(0, k), ...halves, ...parts.slice(k + 1)];
    vols = [...vols.slice(0, k), ...hv, ...vols.slice(k + 1)];
  }
  return parts;
}

/**
 * Points on each shape's surface (in its body's top-link frame) used for ground contact, support polygons
 * and penetration: box corners, cylinder/capsule end rims, sphere poles and rim, hull points.
 */
export function shapeSamplePoints(s: ShapeSpec): Float32Array {
  const local: number[] = [];
  switch (s.kind) {
    case 'cuboid':
      for (const x of [-1, 1]) for (const y of [-1, 1]) for (const z of [-1, 1]) local.push(x * s.half[0], y * s.half[1], z * s.half[2]);
      break;
    case 'ball':
      for (const [x, y, z] of [[0, 0, -1], [0, 0, 1], [1, 0, 0], [-1, 0, 0], [0, 1, 0], [0, -1, 0]]) local.push(x * s.radius, y * s.radius, z * s.radius);
      break;
    case 'cylinder':
    case 'capsule': {
      const r = s.radius, h = s.halfHeight;
      for (let k = 0; k < 12; k++) {
        const a = (2 * Math.PI * k) / 12;
        for (const z of [-h, h]) local.push(r * Math.cos(a), r * Math.sin(a), z);
      }
      if (s.kind === 'capsule') local.push(0, 0, -h - r, 0, 0, h + r);
      break;
    }
    case 'hull':
      return s.points;
  }
  const out = new Float32Array(local.length);
  const p = s.pose;
  for (let i = 0; i < local.length; i += 3) {
    const x = local[i], y = local[i + 1], z = local[i + 2];
    out[i] = p[0] * x + p[1] * y + p[2] * z + p[9];
    out[i + 1] = p[3] * x + p[4] * y + p[5] * z + p[10];
    out[i + 2] = p[6] * x + p[7] * y + p[8] * z + p[11];
  }
  return out;
}

/** All sample points of a body (top-link frame), concatenated. */
export function bodySamplePoints(b: BodySpec): Float32Array {
  const parts = b.shapes.map(shapeSamplePoints);
  const n = parts.reduce((a, p) => a + p.length, 0);
  const out = new Float32Array(n);
  let o = 0;
  for (const p of parts) { out.set(p, o); o += p.length; }
  return out;
}

/**
 * PD gains per dof. Stiffness from the actuator: kp = effort / saturationAngle (the motor reaches its
 * effort limit at that tracking error), kd = kdRatio * kp. For explicit PD (multibody joints, torques
 * computed outside the solver) both are capped for stability at time step dt by the inertia the joint
 * moves when the rest of the robot is held (its subtree, about the joint axis): kp <= I (w dt)^-2 with
 * w dt = 0.9, kd <= 0.8 I / dt. Joints with no effort limit get kp = I (2 pi 10 Hz)^2.
 */
export interface GainOptions { saturationAngle: number; kdRatio: number; dt: number; explicit: boolean }

export function pdGains(geom: RobotGeometry, q: ArrayLike<number>, g: GainOptions, minInertia = 1e-7): { kp: Float64Array; kd: Float64Array; inertia: Float64Array } {
  const kin = geom.kin;
  kin.fk(q);
  const P = kin.pose;
  const nq = kin.nq;
  const I = new Float64Array(nq);
  // Body COM and inertia in the root frame.
  const nb = geom.bodies.length;
  const com = new Float64Array(3 * nb);
  const inert: number[][] = [];
  geom.bodies.forEach((b, i) => {
    const o = 12 * b.top;
    for (let r = 0; r < 3; r++) com[3 * i + r] = P[o + 3 * r] * b.com[0] + P[o + 3 * r + 1] * b.com[1] + P[o + 3 * r + 2] * b.com[2] + P[o + 9 + r];
    inert.push(rotateTensor([P[o], P[o + 1], P[o + 2], P[o + 3], P[o + 4], P[o + 5], P[o + 6], P[o + 7], P[o + 8]], b.inertia));
  });
  const inSubtree = (b: number, root: number): boolean => {
    for (let k = b; k >= 0; k = geom.bodies[k].parent) if (k === root) return true;
    return false;
  };
  for (let jb = 1; jb < nb; jb++) {
    const top = geom.bodies[jb].top;
    const d = kin.linkDof(top);
    if (d < 0) continue;
    const j = kin.linkJoint[top]!;
    const o = 12 * top;
    const ax = P[o] * j.axis[0] + P[o + 1] * j.axis[1] + P[o + 2] * j.axis[2];
    const ay = P[o + 3] * j.axis[0] + P[o + 4] * j.axis[1] + P[o + 5] * j.axis[2];
    const az = P[o + 6] * j.axis[0] + P[o + 7] * j.axis[1] + P[o + 8] * j.axis[2];
    let sum = 0;
    for (let b = 0; b < nb; b++) {
      if (!inSubtree(b, jb)) continue;
      const m = geom.bodies[b].mass;
      if (j.type === 'prismatic') { sum += m; continue; }
      const Ic = inert[b];
      const a = [ax, ay, az];
      let aIa = 0;
      for (let r = 0; r < 3; r++) for (let s = 0; s < 3; s++) aIa += a[r] * Ic[3 * r + s] * a[s];
      const rx = com[3 * b] - P[o + 9], ry = com[3 * b + 1] - P[o + 10], rz = com[3 * b + 2] - P[o + 11];
      const along = rx * ax + ry * ay + rz * az;
      const perp2 = rx * rx + ry * ry + rz * rz - along * along;
      sum += aIa + m * perp2;
    }
    // A joint torque is a couple between the subtree and the parent side. The parent side resists with
    // the bodies it is rigidly tied to about this axis: walking up, a joint whose axis is not parallel to
    // this one transmits the couple (the constraint carries it); one that is parallel does not (only PD).
    const a = [ax, ay, az];
    let parentI = 0;
    for (let pb = geom.bodies[jb].parent; pb >= 0; pb = geom.bodies[pb].parent) {
      const Ip = inert[pb];
      for (let r = 0; r < 3; r++) for (let s2 = 0; s2 < 3; s2++) parentI += a[r] * Ip[3 * r + s2] * a[s2];
      parentI += 0.25 * geom.bodies[pb].mass * 0.05 * 0.05;
      if (pb === 0) break;
      const pt = geom.bodies[pb].top;
      const pj = kin.linkJoint[pt]!;
      const o2 = 12 * pt;
      const bx = P[o2] * pj.axis[0] + P[o2 + 1] * pj.axis[1] + P[o2 + 2] * pj.axis[2];
      const by = P[o2 + 3] * pj.axis[0] + P[o2 + 4] * pj.axis[1] + P[o2 + 5] * pj.axis[2];
      const bz = P[o2 + 6] * pj.axis[0] + P[o2 + 7] * pj.axis[1] + P[o2 + 8] * pj.axis[2];
      if (pj.type === 'prismatic' || Math.abs(bx * ax + by * ay + bz * az) > 0.7) break;
    }
    sum = j.type === 'prismatic' ? Math.min(sum, geom.bodies[geom.bodies[jb].parent].mass) : Math.min(sum, parentI);
    I[d] += sum;
  }
  const kp = new Float64Array(nq), kd = new Float64Array(nq);
  const w10 = 2 * Math.PI * 10;
  for (let d = 0; d < nq; d++) {
    const Ii = Math.max(I[d], minInertia);
    I[d] = Ii;
    const e = kin.effortLimit[d];
    let p = Number.isFinite(e) && e > 0 ? e / g.saturationAngle : Ii * w10 * w10;
    let v = g.kdRatio * p;
    if (g.explicit) {
      p = Math.min(p, (0.8 * Ii) / (g.dt * g.dt));
      v = Math.min(v, (0.8 * Ii) / g.dt);
    }
    kp[d] = p;
    kd[d] = v;
  }
  return { kp, kd, inertia: I };
}
