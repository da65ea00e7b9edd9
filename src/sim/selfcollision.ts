/**
 * Self-collision of a reference motion, kinematically: every collision shape is a Rapier collider (no rigid
 * body, no simulation step) placed at the motion's pose each frame; shape pairs of different bodies whose
 * bounding spheres overlap are asked for their contact (Rapier's shape query: GJK/EPA for convex shapes), and
 * the penetration depth of a body pair is its deepest shape contact. Bodies joined by a joint never count;
 * pairs that already overlap in the robot's neutral pose (all joints at 0, clamped into their limits) are
 * excluded and reported.
 *
 * Why queries and not a world step: the first World.step() of a process compiles Rapier's whole pipeline
 * (broad and narrow phase, solver, islands) from WebAssembly, about 0.5-1.5 s here; the shape query compiles
 * in tens of milliseconds, and our own sphere test replaces the broad phase.
 *
 * Rapier itself is loaded only when a query is needed (rapier.ts): placing the shapes, the sphere test and a
 * proof of separation are the project's own (separation.ts: GJK in double precision, a pair is cleared only when
 * a separating slab wider than 1 mm is found), so a motion whose non-adjacent parts stay more than 1 mm apart
 * — a standing H1 or G1 — is checked without loading it. Rapier is asked about every pair that cannot be
 * cleared, exactly as before. A cleared pair is more than 1 mm apart (the slab is a certificate, checked
 * independently in test/sim/selfcollision.test.ts); on the humanoid clips tested Rapier agrees, so the contacts
 * are the same to the bit with and without the proof. On the hands it does not always: Rapier's contact query
 * reports contact up to ≈ 4 mm deep between boxes, or a box and a hull, that are provably more than 1 mm apart
 * (and for a box and a hull its answer depends on the argument order); those artefacts are gone from the report.
 * A pair the 1 mm proof cannot clear is proved once more with a 1 µm slab (APART_MARGIN) before Rapier is asked,
 * so Rapier answers only for shapes that touch or overlap.
 * Colliders are moved only when a pair of theirs is queried.
 */
import type RAPIER from '@dimforge/rapier3d-compat';
import type { RobotGeometry, ShapeSpec } from './geometry.ts';
import { shapeSamplePoints } from './geometry.ts';
import { compose } from './math.ts';
import { matToQuat } from '../robot/kinematics.ts';
import { loadRapier } from './rapier.ts';
import { Separation, SHAPE_BALL, SHAPE_CAPSULE, SHAPE_CUBOID, SHAPE_CYLINDER, SHAPE_HULL, type SupportShape } from './separation.ts';

/** A pair of shapes is cleared without Rapier when a separating slab wider than this is found (m). */
export const SEPARATION_MARGIN = 1e-3;
/** A pair closer than SEPARATION_MARGIN is still not in contact when any separating slab (wider than this, m) is
 *  found: Rapier 0.21's contact query reports millimetres of penetration between a thin box and a hull that are
 *  apart (Shadow's palm box and little-finger knuckle hull: -2.36 mm one argument order, +0.56 mm the other, 1.7 mm
 *  apart by brute force; benchmarks/retarget/contact-brute.ts). Rapier is asked only when no slab exists. */
export const APART_MARGIN = 1e-6;

const IDENTITY = Float64Array.from([1, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0]);

export interface PairContact { a: number; b: number; depth: number }

export class SelfCollisionWorld {
  readonly geom: RobotGeometry;
  /** Rapier's world and a collider per shape (null where Rapier makes none, e.g. a flat hull), once loaded. */
  private rapier: { world: RAPIER.World; colliders: (RAPIER.Collider | null)[] } | null = null;
  /** Per shape: the shape, its body, its pose in the body's top-link frame (3x4), bounding sphere (centre in that frame, radius). */
  private readonly shapes: ShapeSpec[] = [];
  private readonly body: Int32Array;
  private readonly local: Float64Array;
  private readonly center: Float64Array;
  private readonly radius: Float64Array;
  /** Shape pairs (i < j) of bodies that may collide: not joined by a joint, not excluded. */
  private pairs: Int32Array;
  /** World sphere centres of the current placement. */
  private readonly cw: Float64Array;
  /** Link poses of the current placement (as given to place()), and which placement each collider was last moved to. */
  private linkPose: Float64Array = new Float64Array(0);
  private offset = 0;
  private placement = 0;
  private readonly movedAt: Int32Array;
  private readonly skip = new Set<number>();
  /** Body pairs excluded because they overlap in the neutral pose. */
  excluded: [number, number][] = [];
  private readonly pose = new Float64Array(12);
  private readonly tr = { x: 0, y: 0, z: 0 };
  private readonly q4 = new Float64Array(4);
  private readonly rot = { w: 1, x: 0, y: 0, z: 0 };
  /** The separation proof: shapes as support functions, their world poses (12 each) and the placement each was posed at. */
  private readonly prove: boolean;
  private readonly support: SupportShape[] = [];
  private readonly shapePose: Float64Array;
  private readonly posedAt: Int32Array;
  /** Per shape pair (i * n + j): last separating direction (3 numbers), and the placement it was cleared at. */
  private readonly pairDir: Float64Array;
  private readonly clearedAt: Int32Array;
  private readonly sep = new Separation();
  /** Pair queries: cleared by the proof, and asked of Rapier (for tests and benchmarks). */
  readonly stats = { cleared: 0, apart: 0, queried: 0 };

  /**
   * The self-collision world of a robot, with the pairs that overlap in its neutral pose (all joints at 0,
   * clamped into their limits) excluded. Loads Rapier only if that pose needs a query.
   */
  static async create(geom: RobotGeometry, opts: { proveSeparation?: boolean } = {}): Promise<SelfCollisionWorld> {
    const sc = new SelfCollisionWorld(geom, opts.proveSeparation ?? true);
    const kin = geom.kin;
    const q = new Float64Array(kin.nq);
    for (let d = 0; d < kin.nq; d++) q[d] = Math.min(Math.max(0, kin.lower[d]), kin.upper[d]);
    kin.fk(q);
    sc.place(kin.pose, 0);
    if (sc.needsQueries()) await sc.loadQueries();
    for (const c of sc.contacts(0.001)) {
      sc.excluded.push([c.a, c.b]);
      sc.skip.add(sc.key(c.a, c.b));
    }
    sc.pairs = sc.candidatePairs();
    return sc;
  }

  private constructor(geom: RobotGeometry, prove: boolean) {
    this.geom = geom;
    this.prove = prove;
    const bodyOf: number[] = [], local: number[] = [], center: number[] = [], radius: number[] = [];
    geom.bodies.forEach((spec, b) => {
      for (const s of spec.shapes) {
        this.shapes.push(s);
        bodyOf.push(b);
        // Hull points are in the body frame already (pose identity); primitives carry their pose, and Rapier's
        // cylinders and capsules lie along Y where the URDF's lie along Z.
        const P = s.kind === 'hull' ? IDENTITY : s.kind === 'cylinder' || s.kind === 'capsule' ? composed(s.pose, Y_TO_Z) : s.pose;
        for (let k = 0; k < 12; k++) local.push(P[k]);
        const p = shapeSamplePoints(s);
        let lo = [Infinity, Infinity, Infinity], hi = [-Infinity, -Infinity, -Infinity];
        for (let i = 0; i < p.length; i += 3) for (let k = 0; k < 3; k++) { lo[k] = Math.min(lo[k], p[i + k]); hi[k] = Math.max(hi[k], p[i + k]); }
        if (!p.length) { lo = [0, 0, 0]; hi = [0, 0, 0]; }
        const c = [0, 1, 2].map((k) => (lo[k] + hi[k]) / 2);
        let r = 0;
        for (let i = 0; i < p.length; i += 3) r = Math.max(r, Math.hypot(p[i] - c[0], p[i + 1] - c[1], p[i + 2] - c[2]));
        center.push(...c);
        radius.push(r + 1e-3);
        this.support.push(supportShape(s));
      }
    });
    this.body = Int32Array.from(bodyOf);
    this.local = Float64Array.from(local);
    this.center = Float64Array.from(center);
    this.radius = Float64Array.from(radius);
    this.cw = new Float64Array(center.length);
    this.movedAt = new Int32Array(this.shapes.length);
    const n = this.shapes.length;
    this.shapePose = new Float64Array(12 * n);
    this.posedAt = new Int32Array(n).fill(-1);
    this.pairDir = new Float64Array(3 * n * n);
    this.clearedAt = new Int32Array(n * n).fill(-1);
    for (let b = 1; b < geom.bodies.length; b++) this.skip.add(this.key(b, geom.bodies[b].parent));
    this.pairs = this.candidatePairs();
  }

  private key(a: number, b: number): number {
    return a < b ? a * 4096 + b : b * 4096 + a;
  }

  private candidatePairs(): Int32Array {
    const out: number[] = [];
    const n = this.shapes.length;
    for (let i = 0; i < n; i++) for (let j = i + 1; j < n; j++) {
      const a = this.body[i], b = this.body[j];
      if (a !== b && !this.skip.has(this.key(a, b))) out.push(i, j);
    }
    return Int32Array.from(out);
  }

  /** Place every shape from link poses (12 per kinematics link, starting at offset; read until the next place()). */
  place(linkPose: Float64Array, offset: number): void {
    this.linkPose = linkPose;
    this.offset = offset;
    this.placement++;
    const c = this.center;
    for (let i = 0; i < this.shapes.length; i++) {
      const o = offset + 12 * this.geom.bodies[this.body[i]].top;
      for (let r = 0; r < 3; r++) {
        this.cw[3 * i + r] = linkPose[o + 3 * r] * c[3 * i] + linkPose[o + 3 * r + 1] * c[3 * i + 1] + linkPose[o + 3 * r + 2] * c[3 * i + 2] + linkPose[o + 9 + r];
      }
    }
  }

  private spheresMeet(k: number): boolean {
    const i = this.pairs[k], j = this.pairs[k + 1], cw = this.cw;
    const dx = cw[3 * i] - cw[3 * j], dy = cw[3 * i + 1] - cw[3 * j + 1], dz = cw[3 * i + 2] - cw[3 * j + 2];
    const rr = this.radius[i] + this.radius[j];
    return dx * dx + dy * dy + dz * dz <= rr * rr;
  }

  /** Shape i's world pose at the current placement (computed once per placement). */
  private posed(i: number): void {
    if (this.posedAt[i] === this.placement) return;
    this.posedAt[i] = this.placement;
    compose(this.linkPose, this.offset + 12 * this.geom.bodies[this.body[i]].top, this.local, 12 * i, this.shapePose, 12 * i);
  }

  /** Is pair k (index into pairs) cleared by the separation proof at the current placement? */
  private cleared(k: number): boolean {
    if (!this.prove) return false;
    const i = this.pairs[k], j = this.pairs[k + 1], key = i * this.shapes.length + j;
    if (this.clearedAt[key] === this.placement) return true;
    this.posed(i);
    this.posed(j);
    if (!this.sep.separated(this.support[i], this.shapePose, 12 * i, this.support[j], this.shapePose, 12 * j, SEPARATION_MARGIN, this.pairDir, 3 * key)) return false;
    this.clearedAt[key] = this.placement;
    return true;
  }

  /** Is pair k apart at all (a separating slab wider than APART_MARGIN) at the current placement? */
  private apart(k: number): boolean {
    if (!this.prove) return false;
    const i = this.pairs[k], j = this.pairs[k + 1], key = i * this.shapes.length + j;
    this.posed(i);
    this.posed(j);
    return this.sep.separated(this.support[i], this.shapePose, 12 * i, this.support[j], this.shapePose, 12 * j, APART_MARGIN, this.pairDir, 3 * key);
  }

  /** Must contacts() ask Rapier at the current placement: do two shapes' bounding spheres meet, and the proof not show them apart? */
  needsQueries(): boolean {
    for (let k = 0; k < this.pairs.length; k += 2) if (this.spheresMeet(k) && !this.cleared(k) && !this.apart(k)) return true;
    return false;
  }

  /** Load Rapier and make the colliders (once). */
  async loadQueries(): Promise<void> {
    if (this.rapier) return;
    const R = await loadRapier();
    const { colliderDesc } = await import('./world.ts');
    const world = new R.World({ x: 0, y: 0, z: 0 });
    const colliders = this.shapes.map((s) => {
      const cd = colliderDesc(s, IDENTITY);
      return cd ? world.createCollider(cd) : null;
    });
    this.rapier = { world, colliders };
    this.movedAt.fill(0);
  }

  /** Move shape i's collider to the current placement. */
  private moveCollider(i: number, c: RAPIER.Collider): void {
    if (this.movedAt[i] === this.placement) return;
    this.movedAt[i] = this.placement;
    const P = this.pose, tr = this.tr, rot = this.rot, q = this.q4;
    compose(this.linkPose, this.offset + 12 * this.geom.bodies[this.body[i]].top, this.local, 12 * i, P, 0);
    tr.x = P[9]; tr.y = P[10]; tr.z = P[11];
    matToQuat(P, 0, q);
    rot.w = q[0]; rot.x = q[1]; rot.y = q[2]; rot.z = q[3];
    c.setTranslation(tr);
    c.setRotation(rot);
  }

  /**
   * Pairs (non-adjacent, not excluded) penetrating deeper than minDepth at the current placement. Needs
   * loadQueries() first when needsQueries() says so.
   */
  contacts(minDepth: number): PairContact[] {
    const best = new Map<number, number>();
    const pairs = this.pairs;
    for (let k = 0; k < pairs.length; k += 2) {
      if (!this.spheresMeet(k)) continue;
      if (this.cleared(k)) { this.stats.cleared++; continue; }
      if (this.apart(k)) { this.stats.apart++; continue; }
      this.stats.queried++;
      if (!this.rapier) throw new Error('self-collision: shapes are close enough to need a query: await loadQueries() first');
      const i = pairs[k], j = pairs[k + 1];
      const ci = this.rapier.colliders[i], cj = this.rapier.colliders[j];
      if (!ci || !cj) continue;
      this.moveCollider(i, ci);
      this.moveCollider(j, cj);
      const c = ci.contactCollider(cj, 0);
      if (!c) continue;
      const d = -c.distance;
      const key = this.key(this.body[i], this.body[j]);
      if (d > (best.get(key) ?? 0)) best.set(key, d);
    }
    const out: PairContact[] = [];
    for (const [k, d] of best) if (d > minDepth) out.push({ a: Math.floor(k / 4096), b: k % 4096, depth: d });
    return out.sort((x, y) => y.depth - x.depth || x.a - y.a || x.b - y.b);
  }

  free(): void {
    this.rapier?.world.free();
    this.rapier = null;
  }
}

/** A shape as the separation proof sees it, in the frame of its collider (cylinders and capsules along Y, as Rapier's). */
function supportShape(s: ShapeSpec): SupportShape {
  const none = new Float32Array(0);
  switch (s.kind) {
    case 'cuboid': return { kind: SHAPE_CUBOID, p0: s.half[0], p1: s.half[1], p2: s.half[2], points: none };
    case 'ball': return { kind: SHAPE_BALL, p0: s.radius, p1: 0, p2: 0, points: none };
    case 'cylinder': return { kind: SHAPE_CYLINDER, p0: s.halfHeight, p1: s.radius, p2: 0, points: none };
    case 'capsule': return { kind: SHAPE_CAPSULE, p0: s.halfHeight, p1: s.radius, p2: 0, points: none };
    case 'hull': return { kind: SHAPE_HULL, p0: 0, p1: 0, p2: 0, points: s.points };
  }
}

const Y_TO_Z = Float64Array.from([1, 0, 0, 0, 0, -1, 0, 1, 0, 0, 0, 0]);

function composed(a: Float64Array, b: Float64Array): Float64Array {
  const out = new Float64Array(12);
  compose(a, 0, b, 0, out, 0);
  return out;
}
