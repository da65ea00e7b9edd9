/**
 * A kinematic model built for speed: forward kinematics of every link and Jacobians of any point, on flat
 * typed arrays, with no allocation per call.
 *
 * Layout
 * - `q`: actuated joint positions, in `dofNames` order (revolute, continuous and prismatic joints that are
 *   not mimics, in URDF order). Mimic joints follow their leader: value = multiplier * q[leader] + offset.
 * - `pose`: one 3x4 transform per link, in `linkNames` order (root first, parents before children):
 *   `[r00 r01 r02 r10 r11 r12 r20 r21 r22 tx ty tz]`, the link frame in the world (or root) frame.
 * - Jacobians: 6 rows (vx vy vz wx wy wz) x columns, row-major; columns are the 6 floating-base coordinates
 *   (base linear velocity in world, base angular velocity in world) when asked, then the nq joints.
 *
 * `floating` and `planar` joints inside a URDF tree are treated as fixed at their origin (state it in
 * `notes`); the floating base of a humanoid is given separately as a root pose.
 */
import type { Joint, Origin, UrdfRobot } from './urdf.ts';
import { matToQuat, quatToTransform } from '../math/rotation.ts';

const FIXED = 0;
const REVOLUTE = 1;
const PRISMATIC = 2;

export interface BasePose {
  /** Position of the root link in the world, metres. */
  pos: ArrayLike<number>;
  /** Orientation of the root link, quaternion (w, x, y, z). */
  quat: ArrayLike<number>;
}

export class Kinematics {
  readonly robot: UrdfRobot;
  readonly nLinks: number;
  readonly linkNames: string[];
  /** Parent link index per link (-1 for the root). */
  readonly linkParent: Int32Array;
  /** The URDF joint that attaches each link to its parent (null for the root). */
  readonly linkJoint: (Joint | null)[];
  readonly dofNames: string[];
  readonly nq: number;
  readonly lower: Float64Array;
  readonly upper: Float64Array;
  readonly velocityLimit: Float64Array;
  readonly effortLimit: Float64Array;
  /** Link transforms after the last fk() call (see layout above). */
  readonly pose: Float64Array;
  readonly notes: string[] = [];

  // Per link: motion type, dof index driving it (-1 none), multiplier, offset, axis, origin transform.
  private readonly type: Uint8Array;
  private readonly dof: Int32Array;
  private readonly mult: Float64Array;
  private readonly offs: Float64Array;
  private readonly axis: Float64Array;
  private readonly origin: Float64Array;
  // Ancestor chain per link (moving links only, from the link up to the root), CSR layout.
  private readonly chainStart: Int32Array;
  private readonly chain: Int32Array;
  private readonly nameToLink = new Map<string, number>();
  private readonly nameToDof = new Map<string, number>();
  // Scratch.
  private readonly tmp = new Float64Array(12);
  private readonly base = new Float64Array(12);

  constructor(robot: UrdfRobot) {
    this.robot = robot;
    const jointByChild = new Map<string, Joint>();
    const childrenOf = new Map<string, Joint[]>();
    for (const j of robot.joints) {
      jointByChild.set(j.child, j);
      if (!childrenOf.has(j.parent)) childrenOf.set(j.parent, []);
      childrenOf.get(j.parent)!.push(j);
    }
    // Topological order: breadth-first from the root, children in URDF order.
    const order: string[] = [robot.rootLink];
    for (let i = 0; i < order.length; i++) for (const j of childrenOf.get(order[i]) ?? []) order.push(j.child);
    this.linkNames = order;
    this.nLinks = order.length;
    order.forEach((n, i) => this.nameToLink.set(n, i));

    // Actuated dofs, URDF order.
    const dofJoints = robot.joints.filter((j) => (j.type === 'revolute' || j.type === 'continuous' || j.type === 'prismatic') && !j.mimic);
    this.dofNames = dofJoints.map((j) => j.name);
    this.nq = dofJoints.length;
    dofJoints.forEach((j, i) => this.nameToDof.set(j.name, i));
    this.lower = new Float64Array(this.nq);
    this.upper = new Float64Array(this.nq);
    this.velocityLimit = new Float64Array(this.nq);
    this.effortLimit = new Float64Array(this.nq);
    dofJoints.forEach((j, i) => {
      this.lower[i] = j.type === 'continuous' ? -Infinity : j.limit?.lower ?? -Infinity;
      this.upper[i] = j.type === 'continuous' ? Infinity : j.limit?.upper ?? Infinity;
      this.velocityLimit[i] = j.limit?.velocity ?? Infinity;
      this.effortLimit[i] = j.limit?.effort ?? Infinity;
    });
    const jointByName = new Map(robot.joints.map((j) => [j.name, j]));

    const n = this.nLinks;
    this.linkParent = new Int32Array(n);
    this.linkJoint = new Array(n).fill(null);
    this.type = new Uint8Array(n);
    this.dof = new Int32Array(n).fill(-1);
    this.mult = new Float64Array(n).fill(1);
    this.offs = new Float64Array(n);
    this.axis = new Float64Array(3 * n);
    this.origin = new Float64Array(12 * n);
    this.pose = new Float64Array(12 * n);
    for (let i = 0; i < n; i++) {
      const j = jointByChild.get(order[i]) ?? null;
      this.linkJoint[i] = j;
      this.linkParent[i] = j ? this.nameToLink.get(j.parent)! : -1;
      setIdentity(this.origin, 12 * i);
      if (!j) continue;
      originToTransform(j.origin, this.origin, 12 * i);
      this.axis.set(j.axis, 3 * i);
      if (j.type === 'floating' || j.type === 'planar') this.notes.push(`joint ${j.name} (${j.type}) is treated as fixed`);
      if (j.type === 'revolute' || j.type === 'continuous') this.type[i] = REVOLUTE;
      else if (j.type === 'prismatic') this.type[i] = PRISMATIC;
      else this.type[i] = FIXED;
      if (this.type[i] === FIXED) continue;
      // Resolve a mimic chain to its actuated leader, composing multipliers and offsets.
      let m = 1;
      let o = 0;
      let k: Joint = j;
      while (k.mimic) {
        o = m * k.mimic.offset + o;
        m = m * k.mimic.multiplier;
        k = jointByName.get(k.mimic.joint)!;
      }
      const d = this.nameToDof.get(k.name);
      if (d === undefined) {
        // Mimic of a fixed joint: it does not move.
        this.type[i] = FIXED;
        continue;
      }
      this.dof[i] = d;
      this.mult[i] = m;
      this.offs[i] = o;
    }
    // Ancestor chains of moving links.
    const starts = new Int32Array(n + 1);
    const flat: number[] = [];
    for (let i = 0; i < n; i++) {
      starts[i] = flat.length;
      for (let k = i; k >= 0; k = this.linkParent[k]) if (this.type[k] !== FIXED) flat.push(k);
    }
    starts[n] = flat.length;
    this.chainStart = starts;
    this.chain = Int32Array.from(flat);
    setIdentity(this.base, 0);
  }

  linkIndex(name: string): number {
    const i = this.nameToLink.get(name);
    if (i === undefined) throw new Error(`robot ${this.robot.name} has no link "${name}"`);
    return i;
  }

  hasLink(name: string): boolean {
    return this.nameToLink.has(name);
  }

  dofIndex(name: string): number {
    const i = this.nameToDof.get(name);
    if (i === undefined) throw new Error(`robot ${this.robot.name} has no actuated joint "${name}"`);
    return i;
  }

  /** The dof index that drives a link's joint (its leader for a mimic), or -1 for fixed joints. */
  linkDof(link: number): number {
    return this.dof[link];
  }

  /** q for named joint values (missing joints 0; mimic and fixed joints ignored). */
  qFromNames(values: Record<string, number>, out = new Float64Array(this.nq)): Float64Array {
    out.fill(0);
    for (const [name, v] of Object.entries(values)) {
      const d = this.nameToDof.get(name);
      if (d !== undefined) out[d] = v;
    }
    return out;
  }

  /** Value of any joint (actuated or mimic) for a configuration q. */
  jointValue(q: ArrayLike<number>, link: number): number {
    const d = this.dof[link];
    return d < 0 ? 0 : this.mult[link] * q[d] + this.offs[link];
  }

  /**
   * Forward kinematics of every link into `this.pose`. With `base`, poses are in the world frame with the
   * root link at the base pose; without, in the root link's frame. Allocates nothing.
   */
  fk(q: ArrayLike<number>, base?: BasePose): Float64Array {
    const P = this.pose;
    const O = this.origin;
    const A = this.axis;
    const t = this.tmp;
    if (base) {
      quatToTransform(base.quat, base.pos, P, 0);
    } else {
      setIdentity(P, 0);
    }
    for (let i = 1; i < this.nLinks; i++) {
      const p = this.linkParent[i] * 12;
      const o = 12 * i;
      // t = origin_i * motion(q)
      const ty = this.type[i];
      if (ty === FIXED) {
        for (let k = 0; k < 12; k++) t[k] = O[o + k];
      } else {
        const v = this.mult[i] * q[this.dof[i]] + this.offs[i];
        const ax = A[3 * i], ay = A[3 * i + 1], az = A[3 * i + 2];
        if (ty === REVOLUTE) {
          const c = Math.cos(v), s = Math.sin(v), C = 1 - c;
          const m00 = c + ax * ax * C, m01 = ax * ay * C - az * s, m02 = ax * az * C + ay * s;
          const m10 = ay * ax * C + az * s, m11 = c + ay * ay * C, m12 = ay * az * C - ax * s;
          const m20 = az * ax * C - ay * s, m21 = az * ay * C + ax * s, m22 = c + az * az * C;
          const r00 = O[o], r01 = O[o + 1], r02 = O[o + 2];
          const r10 = O[o + 3], r11 = O[o + 4], r12 = O[o + 5];
          const r20 = O[o + 6], r21 = O[o + 7], r22 = O[o + 8];
          t[0] = r00 * m00 + r01 * m10 + r02 * m20; t[1] = r00 * m01 + r01 * m11 + r02 * m21; t[2] = r00 * m02 + r01 * m12 + r02 * m22;
          t[3] = r10 * m00 + r11 * m10 + r12 * m20; t[4] = r10 * m01 + r11 * m11 + r12 * m21; t[5] = r10 * m02 + r11 * m12 + r12 * m22;
          t[6] = r20 * m00 + r21 * m10 + r22 * m20; t[7] = r20 * m01 + r21 * m11 + r22 * m21; t[8] = r20 * m02 + r21 * m12 + r22 * m22;
          t[9] = O[o + 9]; t[10] = O[o + 10]; t[11] = O[o + 11];
        } else {
          for (let k = 0; k < 9; k++) t[k] = O[o + k];
          t[9] = O[o + 9] + (O[o] * ax + O[o + 1] * ay + O[o + 2] * az) * v;
          t[10] = O[o + 10] + (O[o + 3] * ax + O[o + 4] * ay + O[o + 5] * az) * v;
          t[11] = O[o + 11] + (O[o + 6] * ax + O[o + 7] * ay + O[o + 8] * az) * v;
        }
      }
      // pose_i = pose_parent * t
      const a00 = P[p], a01 = P[p + 1], a02 = P[p + 2];
      const a10 = P[p + 3], a11 = P[p + 4], a12 = P[p + 5];
      const a20 = P[p + 6], a21 = P[p + 7], a22 = P[p + 8];
      P[o] = a00 * t[0] + a01 * t[3] + a02 * t[6]; P[o + 1] = a00 * t[1] + a01 * t[4] + a02 * t[7]; P[o + 2] = a00 * t[2] + a01 * t[5] + a02 * t[8];
      P[o + 3] = a10 * t[0] + a11 * t[3] + a12 * t[6]; P[o + 4] = a10 * t[1] + a11 * t[4] + a12 * t[7]; P[o + 5] = a10 * t[2] + a11 * t[5] + a12 * t[8];
      P[o + 6] = a20 * t[0] + a21 * t[3] + a22 * t[6]; P[o + 7] = a20 * t[1] + a21 * t[4] + a22 * t[7]; P[o + 8] = a20 * t[2] + a21 * t[5] + a22 * t[8];
      P[o + 9] = a00 * t[9] + a01 * t[10] + a02 * t[11] + P[p + 9];
      P[o + 10] = a10 * t[9] + a11 * t[10] + a12 * t[11] + P[p + 10];
      P[o + 11] = a20 * t[9] + a21 * t[10] + a22 * t[11] + P[p + 11];
    }
    return P;
  }

  /** World position of a point given in a link's frame (after fk), written to out[off..off+3]. */
  pointWorld(link: number, local: ArrayLike<number> | null, out: Float64Array | Float32Array, off = 0): void {
    const P = this.pose;
    const o = 12 * link;
    const x = local ? local[0] : 0, y = local ? local[1] : 0, z = local ? local[2] : 0;
    out[off] = P[o] * x + P[o + 1] * y + P[o + 2] * z + P[o + 9];
    out[off + 1] = P[o + 3] * x + P[o + 4] * y + P[o + 5] * z + P[o + 10];
    out[off + 2] = P[o + 6] * x + P[o + 7] * y + P[o + 8] * z + P[o + 11];
  }

  /** Orientation of a link (after fk) as a quaternion (w, x, y, z), written to out[off..off+4]. */
  linkQuat(link: number, out: Float64Array | Float32Array | number[], off = 0): void {
    matToQuat(this.pose, 12 * link, out, off);
  }

  /**
   * Jacobian of a point fixed in `link` (local coordinates, null = link origin) after fk(). Writes a
   * 6 x cols row-major matrix into `out`, cols = nq (+6 first when withBase). Mimic joints add their
   * multiplier times their column to their leader's. Allocates nothing.
   */
  jacobian(link: number, local: ArrayLike<number> | null, out: Float64Array, withBase = false): Float64Array {
    const P = this.pose;
    const A = this.axis;
    const cols = this.nq + (withBase ? 6 : 0);
    out.fill(0, 0, 6 * cols);
    const o = 12 * link;
    const lx = local ? local[0] : 0, ly = local ? local[1] : 0, lz = local ? local[2] : 0;
    const px = P[o] * lx + P[o + 1] * ly + P[o + 2] * lz + P[o + 9];
    const py = P[o + 3] * lx + P[o + 4] * ly + P[o + 5] * lz + P[o + 10];
    const pz = P[o + 6] * lx + P[o + 7] * ly + P[o + 8] * lz + P[o + 11];
    const c0 = withBase ? 6 : 0;
    if (withBase) {
      // Base linear velocity moves every point one to one; base angular velocity w gives w x (p - root).
      const rx = px - P[9], ry = py - P[10], rz = pz - P[11];
      out[0] = 1; out[cols + 1] = 1; out[2 * cols + 2] = 1;
      // linear rows: [w]x r  ->  v = w x r = -r x w
      out[3] = 0; out[4] = rz; out[5] = -ry;
      out[cols + 3] = -rz; out[cols + 4] = 0; out[cols + 5] = rx;
      out[2 * cols + 3] = ry; out[2 * cols + 4] = -rx; out[2 * cols + 5] = 0;
      out[3 * cols + 3] = 1; out[4 * cols + 4] = 1; out[5 * cols + 5] = 1;
    }
    for (let c = this.chainStart[link]; c < this.chainStart[link + 1]; c++) {
      const k = this.chain[c];
      const q = 12 * k;
      const ax = A[3 * k], ay = A[3 * k + 1], az = A[3 * k + 2];
      // Joint axis in world: the joint frame is the child link frame.
      const wx = P[q] * ax + P[q + 1] * ay + P[q + 2] * az;
      const wy = P[q + 3] * ax + P[q + 4] * ay + P[q + 5] * az;
      const wz = P[q + 6] * ax + P[q + 7] * ay + P[q + 8] * az;
      const col = c0 + this.dof[k];
      const m = this.mult[k];
      if (this.type[k] === REVOLUTE) {
        const rx = px - P[q + 9], ry = py - P[q + 10], rz = pz - P[q + 11];
        out[col] += m * (wy * rz - wz * ry);
        out[cols + col] += m * (wz * rx - wx * rz);
        out[2 * cols + col] += m * (wx * ry - wy * rx);
        out[3 * cols + col] += m * wx;
        out[4 * cols + col] += m * wy;
        out[5 * cols + col] += m * wz;
      } else {
        out[col] += m * wx;
        out[cols + col] += m * wy;
        out[2 * cols + col] += m * wz;
      }
    }
    return out;
  }

  /** True when `ancestor` is `link` or one of its ancestors. */
  isAncestor(ancestor: number, link: number): boolean {
    for (let k = link; k >= 0; k = this.linkParent[k]) if (k === ancestor) return true;
    return false;
  }
}

// ---- small transform helpers (3x4 row-major, quaternions w,x,y,z) ---------------------------------------

export function setIdentity(m: Float64Array, o: number): void {
  m[o] = 1; m[o + 1] = 0; m[o + 2] = 0;
  m[o + 3] = 0; m[o + 4] = 1; m[o + 5] = 0;
  m[o + 6] = 0; m[o + 7] = 0; m[o + 8] = 1;
  m[o + 9] = 0; m[o + 10] = 0; m[o + 11] = 0;
}

/** URDF origin (xyz, rpy = fixed-axis roll about X, pitch about Y, yaw about Z: R = Rz*Ry*Rx). */
export function originToTransform(origin: Origin, m: Float64Array, o: number): void {
  const [r, p, y] = origin.rpy;
  const cr = Math.cos(r), sr = Math.sin(r), cp = Math.cos(p), sp = Math.sin(p), cy = Math.cos(y), sy = Math.sin(y);
  m[o] = cy * cp; m[o + 1] = cy * sp * sr - sy * cr; m[o + 2] = cy * sp * cr + sy * sr;
  m[o + 3] = sy * cp; m[o + 4] = sy * sp * sr + cy * cr; m[o + 5] = sy * sp * cr - cy * sr;
  m[o + 6] = -sp; m[o + 7] = cp * sr; m[o + 8] = cp * cr;
  m[o + 9] = origin.xyz[0]; m[o + 10] = origin.xyz[1]; m[o + 11] = origin.xyz[2];
}

export { matToQuat, quatToTransform } from '../math/rotation.ts';
