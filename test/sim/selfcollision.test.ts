/**
 * The self-collision check's separation proof (src/sim/separation.ts) clears shape pairs without Rapier. Its
 * properties: it is sound (a pair it clears is more than the margin apart: by Rapier's own distance query on
 * random shape pairs, and by a separating plane checked in closed form on the real hands, where Rapier's query
 * itself is sometimes wrong), it is useful (pairs clearly apart are cleared), and the check's contacts are the
 * same, frame by frame and to the bit, with and without it on real humanoids and real retargeted clips.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { loadUrdf } from '../../src/robot/urdf.ts';
import { loadMotion } from '../../src/robot/motion.ts';
import { importPose } from '../../src/pose/import.ts';
import { retarget } from '../../src/retarget/index.ts';
import { robotGeometry, type ShapeSpec } from '../../src/sim/geometry.ts';
import { buildReference } from '../../src/sim/reference.ts';
import { standingMotion } from '../../src/sim/synthetic.ts';
import { APART_MARGIN, SelfCollisionWorld, SEPARATION_MARGIN, type PairContact } from '../../src/sim/selfcollision.ts';
import { Separation, SHAPE_BALL, SHAPE_CAPSULE, SHAPE_CUBOID, SHAPE_CYLINDER, SHAPE_HULL, type SupportShape } from '../../src/sim/separation.ts';
import { loadRapier, type Rapier } from '../../src/sim/rapier.ts';
import { matToQuat } from '../../src/robot/kinematics.ts';
import type { RobotMotion } from '../../src/robot/motion.ts';
import { describeShared, shared } from '../helpers/shared.ts';

const G1 = 'robots/unitree_g1/g1_29dof_rev_1_0.urdf';
const H1 = 'robots/unitree_h1/urdf/h1.urdf';
const T1 = 'robots/booster_t1/T1_serial.urdf';
const DIG = 'motions/cmu_small_gods_game/cmu_79_04_digging.bvh';
const DANCE = 'motions/cmu_small_gods_game/cmu_05_02_dance_expressive_arms_pirouette.bvh';
const GOLDEN = new URL('./golden/', import.meta.url).pathname;

/** Deterministic pseudo-random numbers (xorshift). */
function rng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => { s ^= s << 13; s >>>= 0; s ^= s >>> 17; s ^= s << 5; s >>>= 0; return s / 2 ** 32; };
}

/** A random rotation (3x4 with translation t) from a random unit quaternion. */
function randomPose(r: () => number, t: [number, number, number]): Float64Array {
  let w = r() - 0.5, x = r() - 0.5, y = r() - 0.5, z = r() - 0.5;
  const n = Math.hypot(w, x, y, z); w /= n; x /= n; y /= n; z /= n;
  return Float64Array.from([
    1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y),
    2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x),
    2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y),
    ...t,
  ]);
}

function randomShape(r: () => number): { s: SupportShape; desc: (R: Rapier) => InstanceType<Rapier['ColliderDesc']> | null } {
  const k = Math.floor(r() * 5);
  const none = new Float32Array(0);
  const a = 0.02 + 0.1 * r(), b = 0.02 + 0.1 * r(), c = 0.02 + 0.1 * r();
  if (k === SHAPE_CUBOID) return { s: { kind: k, p0: a, p1: b, p2: c, points: none }, desc: (R) => R.ColliderDesc.cuboid(a, b, c) };
  if (k === SHAPE_BALL) return { s: { kind: k, p0: a, p1: 0, p2: 0, points: none }, desc: (R) => R.ColliderDesc.ball(a) };
  if (k === SHAPE_CYLINDER) return { s: { kind: k, p0: a, p1: b, p2: 0, points: none }, desc: (R) => R.ColliderDesc.cylinder(a, b) };
  if (k === SHAPE_CAPSULE) return { s: { kind: k, p0: a, p1: b, p2: 0, points: none }, desc: (R) => R.ColliderDesc.capsule(a, b) };
  const pts = new Float32Array(3 * 40);
  for (let i = 0; i < pts.length; i += 3) { pts[i] = a * (2 * r() - 1); pts[i + 1] = b * (2 * r() - 1); pts[i + 2] = c * (2 * r() - 1); }
  return { s: { kind: SHAPE_HULL, p0: 0, p1: 0, p2: 0, points: pts }, desc: (R) => R.ColliderDesc.convexHull(pts) };
}

describe('separation proof against Rapier on random shape pairs', () => {
  it('sound (every cleared pair is more than the margin apart by Rapier) and useful (pairs 0.5 mm beyond the margin are cleared)', async () => {
    const R = await loadRapier();
    const world = new R.World({ x: 0, y: 0, z: 0 });
    const sep = new Separation();
    const r = rng(17);
    const dir = new Float64Array(3);
    let cleared = 0, clearlyApart = 0, missed = 0, n = 0;
    const margin = SEPARATION_MARGIN;
    try {
      for (let trial = 0; trial < 3000; trial++) {
        const A = randomShape(r), B = randomShape(r);
        const pa = randomPose(r, [0, 0, 0]);
        // Centres 0.02–0.35 m apart: from deep overlap to clearly apart.
        const d = 0.02 + 0.33 * r();
        const u = [r() - 0.5, r() - 0.5, r() - 0.5], un = Math.hypot(u[0], u[1], u[2]);
        const pb = randomPose(r, [d * u[0] / un, d * u[1] / un, d * u[2] / un]);
        const ca = A.desc(R), cb = B.desc(R);
        if (!ca || !cb) continue;
        const qa = new Float64Array(4), qb = new Float64Array(4);
        matToQuat(pa, 0, qa); matToQuat(pb, 0, qb);
        const a = world.createCollider(ca.setTranslation(pa[9], pa[10], pa[11]).setRotation({ w: qa[0], x: qa[1], y: qa[2], z: qa[3] }));
        const b = world.createCollider(cb.setTranslation(pb[9], pb[10], pb[11]).setRotation({ w: qb[0], x: qb[1], y: qb[2], z: qb[3] }));
        const c = a.contactCollider(b, 1);
        world.removeCollider(a, false); world.removeCollider(b, false);
        const dist = c ? c.distance : Infinity;
        dir.fill(0); // no warm start
        const ok = sep.separated(A.s, pa, 0, B.s, pb, 0, margin, dir, 0);
        n++;
        if (ok) {
          cleared++;
          expect(dist, `trial ${trial}: cleared but Rapier's distance is ${dist}`).toBeGreaterThan(margin - 1e-6);
        }
        // (Rapier gives no answer at all for a few cylinder pairs, though centres are < 1 m apart: not counted.)
        if (c && dist > margin + 5e-4) { clearlyApart++; if (!ok) missed++; }
      }
    } finally {
      world.free();
    }
    expect(n).toBeGreaterThan(2500);
    expect(cleared).toBeGreaterThan(n / 4);
    expect(clearlyApart - missed).toBe(clearlyApart); // every pair clearly apart was cleared
  });

  it('two balls: cleared just beyond the margin, not at or within it', () => {
    const sep = new Separation();
    const ball: SupportShape = { kind: SHAPE_BALL, p0: 0.05, p1: 0, p2: 0, points: new Float32Array(0) };
    const at = (x: number) => Float64Array.from([1, 0, 0, 0, 1, 0, 0, 0, 1, x, 0, 0]);
    const dir = new Float64Array(3);
    const I = at(0);
    expect(sep.separated(ball, I, 0, ball, at(0.1 + SEPARATION_MARGIN + 1e-5), 0, SEPARATION_MARGIN, dir.fill(0), 0)).toBe(true);
    expect(sep.separated(ball, I, 0, ball, at(0.1 + SEPARATION_MARGIN - 1e-5), 0, SEPARATION_MARGIN, dir.fill(0), 0)).toBe(false);
    expect(sep.separated(ball, I, 0, ball, at(0.05), 0, SEPARATION_MARGIN, dir.fill(0), 0)).toBe(false);
  });

  it('pairs closer than the margin: a thin box and a hull 0.02-0.9 mm apart are shown apart (APART_MARGIN, checked in closed form on every point), overlapping ones are not', () => {
    // validate asks Rapier only when no separating slab exists at all: Rapier 0.21 reports millimetres of contact
    // between thin boxes and hulls that are apart (benchmarks/retarget/contact-brute.ts).
    const sep = new Separation();
    const r = rng(5);
    const dir = new Float64Array(3);
    let shown = 0, overlapping = 0;
    for (let trial = 0; trial < 500; trial++) {
      // A 2 mm-thin box (half extents hx, hy, 1 mm) and a hull of random points above its top face by `gap`.
      const hx = 0.01 + 0.03 * r(), hy = 0.01 + 0.03 * r();
      const gap = trial % 5 === 4 ? -0.0005 : 0.00002 + 0.00088 * r(); // every fifth overlaps by 0.5 mm
      const pts = new Float32Array(3 * 30);
      for (let i = 0; i < pts.length; i += 3) { pts[i] = 0.02 * (2 * r() - 1); pts[i + 1] = 0.02 * (2 * r() - 1); pts[i + 2] = 0.03 * r(); }
      pts[0] = 0; pts[1] = 0; pts[2] = -0.001; // the hull's lowest point, over the box's centre
      const zmin = -0.001;
      // Both placed by one random rotation R: the box at the origin, the hull shifted so its lowest point is gap above.
      const R = randomPose(r, [0, 0, 0]);
      const lift = 0.001 + gap - zmin;
      const pb = Float64Array.from(R);
      for (let k = 0; k < 3; k++) pb[9 + k] = R[3 * k + 2] * lift;
      const box: SupportShape = { kind: SHAPE_CUBOID, p0: hx, p1: hy, p2: 0.001, points: new Float32Array(0) };
      const hull: SupportShape = { kind: SHAPE_HULL, p0: 0, p1: 0, p2: 0, points: pts };
      const apart = sep.separated(box, R, 0, hull, pb, 0, APART_MARGIN, dir.fill(0), 0);
      if (gap < 0) { expect(apart).toBe(false); overlapping++; continue; }
      expect(apart, `gap ${gap}`).toBe(true);
      shown++;
      // Certificate: along the returned direction every box corner lies below every hull point.
      const n = Math.hypot(dir[0], dir[1], dir[2]), d = [-dir[0] / n, -dir[1] / n, -dir[2] / n];
      const hi = extent({ kind: 'cuboid', half: [hx, hy, 0.001] } as ShapeSpec, R, 0, d);
      const lo = -extent({ kind: 'hull', points: pts } as unknown as ShapeSpec, pb, 0, d.map((x) => -x));
      expect(lo - hi).toBeGreaterThan(0);
    }
    expect(shown).toBe(400);
    expect(overlapping).toBe(100);
  });
});

/**
 * The largest d·x over a shape's points x (d a unit world direction; P its collider's world pose at o), in closed
 * form and without separation.ts: box corners and hull points enumerated; a ball, capsule or cylinder (axis = the
 * pose's Y, as the self-collision world places them) from its centre, axis, half height and radius.
 */
function extent(s: ShapeSpec, P: Float64Array, o: number, d: number[]): number {
  const world = (x: number, y: number, z: number) => [0, 1, 2].map((r) => P[o + 3 * r] * x + P[o + 3 * r + 1] * y + P[o + 3 * r + 2] * z + P[o + 9 + r]);
  const dot = (p: number[]) => d[0] * p[0] + d[1] * p[1] + d[2] * p[2];
  const c = dot([P[o + 9], P[o + 10], P[o + 11]]), ay = dot([P[o + 1], P[o + 4], P[o + 7]]);
  switch (s.kind) {
    case 'cuboid': {
      let m = -Infinity;
      for (const x of [-1, 1]) for (const y of [-1, 1]) for (const z of [-1, 1]) m = Math.max(m, dot(world(x * s.half[0], y * s.half[1], z * s.half[2])));
      return m;
    }
    case 'hull': {
      let m = -Infinity;
      for (let i = 0; i < s.points.length; i += 3) m = Math.max(m, dot(world(s.points[i], s.points[i + 1], s.points[i + 2])));
      return m;
    }
    case 'ball': return c + s.radius;
    case 'capsule': return c + s.halfHeight * Math.abs(ay) + s.radius;
    case 'cylinder': return c + s.halfHeight * Math.abs(ay) + s.radius * Math.sqrt(Math.max(0, 1 - ay * ay));
  }
}

describeShared('where Rapier and the proof disagree, the proof is right', ['hands/leap_right/leap_hand_right.urdf', 'hands/shadow_right/shadow_hand_right.urdf'], () => {
  it('LEAP and Shadow hands in 300 random poses each: every pair the proof clears has a separating plane wider than 1 mm (checked in closed form on the shapes), also where Rapier reports contact', async () => {
    const r = rng(5);
    let disagreements = 0, cleared = 0;
    for (const hand of ['leap', 'shadow']) {
      const geom = await robotGeometry(loadUrdf(shared(`hands/${hand}_right/${hand}_hand_right.urdf`)));
      const kin = geom.kin;
      // Test-only introspection of the world's per-placement state (shapes, their world poses, each pair's direction).
      const sc = (await SelfCollisionWorld.create(geom)) as unknown as {
        place(p: Float64Array, o: number): void; loadQueries(): Promise<void>; free(): void; spheresMeet(k: number): boolean; cleared(k: number): boolean; moveCollider(i: number, c: unknown): void;
        pairs: Int32Array; shapes: ShapeSpec[]; shapePose: Float64Array; pairDir: Float64Array; rapier: { colliders: ({ contactCollider(o: unknown, p: number): { distance: number } | null } | null)[] };
      };
      await sc.loadQueries();
      const q = new Float64Array(kin.nq);
      try {
        for (let n = 0; n < 300; n++) {
          for (let d = 0; d < kin.nq; d++) q[d] = kin.lower[d] + r() * (kin.upper[d] - kin.lower[d]);
          kin.fk(q);
          sc.place(kin.pose, 0);
          for (let k = 0; k < sc.pairs.length; k += 2) {
            if (!sc.spheresMeet(k) || !sc.cleared(k)) continue;
            const i = sc.pairs[k], j = sc.pairs[k + 1], key = 3 * (i * sc.shapes.length + j);
            // The proof's direction v points from shape j towards shape i: the gap is min over i of v̂·x − max over j.
            const vn = Math.hypot(sc.pairDir[key], sc.pairDir[key + 1], sc.pairDir[key + 2]);
            const v = [sc.pairDir[key] / vn, sc.pairDir[key + 1] / vn, sc.pairDir[key + 2] / vn];
            const gap = -extent(sc.shapes[i], sc.shapePose, 12 * i, v.map((x) => -x)) - extent(sc.shapes[j], sc.shapePose, 12 * j, v);
            expect(gap, `${hand} pose ${n}: shapes ${i} / ${j}`).toBeGreaterThan(SEPARATION_MARGIN);
            cleared++;
            const ci = sc.rapier.colliders[i], cj = sc.rapier.colliders[j];
            if (!ci || !cj) continue;
            sc.moveCollider(i, ci);
            sc.moveCollider(j, cj);
            const c = ci.contactCollider(cj, 0);
            if (c && c.distance < 0) disagreements++;
          }
        }
      } finally {
        sc.free();
      }
    }
    expect(cleared).toBeGreaterThan(1000);
    // Rapier's contact query does report contact for some of these pairs (boxes against boxes or hulls): those
    // were its artefacts, which the proof removes from the report.
    expect(disagreements).toBeGreaterThan(0);
    console.log(`separation proof on LEAP and Shadow: ${cleared} pairs cleared, ${disagreements} of them reported in contact by Rapier`);
  }, 60_000);
});

/** Contacts at every frame, with and without the proof; the counts of pair queries each asked of Rapier. */
async function bothWays(urdf: string, motion: RobotMotion): Promise<{ same: boolean; frames: number; contactFrames: number; rapierFrames: number; queried: [number, number]; excluded: [string, string] }> {
  const robot = loadUrdf(shared(urdf));
  const geom = await robotGeometry(robot);
  const ref = buildReference(motion, geom.kin);
  const a = await SelfCollisionWorld.create(geom);
  const b = await SelfCollisionWorld.create(geom, { proveSeparation: false });
  const L = geom.kin.nLinks;
  let same = true, contactFrames = 0, rapierFrames = 0;
  const key = (cs: PairContact[]) => cs.map((c) => `${c.a}/${c.b}/${c.depth}`).join(' ');
  try {
    for (let t = 0; t < ref.T; t++) {
      a.place(ref.pose, t * L * 12);
      b.place(ref.pose, t * L * 12);
      if (a.needsQueries()) { rapierFrames++; await a.loadQueries(); }
      if (b.needsQueries()) await b.loadQueries();
      const ca = a.contacts(0.0005), cb = b.contacts(0.0005);
      if (cb.length) contactFrames++;
      if (key(ca) !== key(cb)) same = false;
    }
  } finally {
    a.free();
    b.free();
  }
  return { same, frames: ref.T, contactFrames, rapierFrames, queried: [a.stats.queried, b.stats.queried], excluded: [JSON.stringify(a.excluded), JSON.stringify(b.excluded)] };
}

describeShared('self-collision with and without the separation proof, real robots and clips', [G1, H1, T1, DIG, DANCE], () => {
  let dig: { g1: RobotMotion; t1: RobotMotion };
  beforeAll(() => {
    dig = {
      g1: retarget(importPose(shared(DIG)), loadUrdf(shared(G1)), { fps: 50, start: 0, duration: 4 }),
      t1: retarget(importPose(shared(DANCE)), loadUrdf(shared(T1)), { fps: 50, start: 0, duration: 4 }),
    };
  });

  it('G1 digging and T1 dancing (parts touch in some frames): the same contacts at every frame, Rapier asked about far fewer pairs', async () => {
    for (const [urdf, m] of [[G1, dig.g1], [T1, dig.t1]] as const) {
      const r = await bothWays(urdf, m);
      expect(r.same, urdf).toBe(true);
      expect(r.excluded[0]).toBe(r.excluded[1]);
      expect(r.contactFrames, urdf).toBeGreaterThan(0); // the clip does exercise contacts
      expect(r.queried[0] * 20, urdf).toBeLessThan(r.queried[1]);
    }
  }, 60_000);

  it('the golden clips (H1 and T1 walking, G1 hammering): same contacts; G1 hammering and a standing G1 never need Rapier', async () => {
    for (const [urdf, name] of [[H1, 'h1_cmu_104_02_walk'], [G1, 'g1_cmu_62_07_hammering'], [T1, 't1_cmu_104_02_walk']] as const) {
      const r = await bothWays(urdf, loadMotion(`${GOLDEN}${name}.npz`));
      expect(r.same, name).toBe(true);
      if (urdf === G1) expect(r.rapierFrames, name).toBe(0);
    }
    const g1 = loadUrdf(shared(G1));
    const stand = await bothWays(G1, await standingMotion(g1, 1, 50));
    expect(stand.same).toBe(true);
    expect(stand.rapierFrames).toBe(0);
    expect(stand.queried[0]).toBe(0);
    expect(stand.queried[1]).toBeGreaterThan(0); // without the proof, Rapier is asked (so it would be loaded)
  }, 60_000);
});
