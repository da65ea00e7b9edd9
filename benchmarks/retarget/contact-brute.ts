/**
 * One pair of a hand's parts at one frame, three ways (issue 15's contact counts): validate's Rapier query alone
 * (`proveSeparation: false`), validate as it is (its separation proof first), and brute force on the same shapes
 * (src/sim/geometry.ts's, as validate builds them): the deepest point of body B's shapes inside one of body A's
 * boxes, B sampled on a 25³ grid (boxes) or on every segment between two of its hull points, 17 points each
 * (hulls: their edges and much of their inside). Negative = the nearest sample is that far outside (a lower bound
 * on the gap along the box's axes). Body A's shapes must be boxes. Also Rapier's contact query on each near shape
 * pair in both argument orders (it is not symmetric for a box and a convex hull).
 *
 *   npx tsx benchmarks/retarget/contact-brute.ts --hand shadow --motion reel2real|<dex_run.py output .json> --frame 478 --a palm --b lfknuckle
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { importPose } from '../../src/pose/import.ts';
import { loadUrdf } from '../../src/robot/urdf.ts';
import { retargetHand } from '../../src/retarget/hand/index.ts';
import { robotGeometry, type ShapeSpec } from '../../src/sim/geometry.ts';
import { SelfCollisionWorld } from '../../src/sim/selfcollision.ts';
import { colliderDesc } from '../../src/sim/world.ts';
import { loadRapier } from '../../src/sim/rapier.ts';
import { compose } from '../../src/sim/math.ts';
import { matToQuat } from '../../src/robot/kinematics.ts';
import { SHARED_DATA } from '../../test/helpers/shared.ts';

const arg = (k: string, d?: string) => { const i = process.argv.indexOf(k); return i >= 0 ? process.argv[i + 1] : d; };
const hand = arg('--hand', 'shadow')!, motion = arg('--motion', 'reel2real')!, t = Number(arg('--frame', '0')), an = arg('--a')!, bn = arg('--b')!;
const robot = loadUrdf(path.join(SHARED_DATA, 'hands', `${hand}_right`, `${hand}_hand_right.urdf`));
const geom = await robotGeometry(robot);
const kin = geom.kin, nq = kin.nq, q = new Float64Array(nq);
if (motion === 'reel2real') {
  const m = retargetHand(importPose(path.join(SHARED_DATA, 'keypoints/dex_retargeting_human_joint_right.json')), robot);
  for (let d = 0; d < nq; d++) q[d] = m.q[t * nq + d];
} else {
  const d = JSON.parse(fs.readFileSync(motion, 'utf8')) as { joint_names: string[]; qpos: number[][] };
  kin.dofNames.forEach((n, k) => { q[k] = d.qpos[t][d.joint_names.indexOf(n)]; });
}
const A = geom.bodies.findIndex((b) => b.name === an), B = geom.bodies.findIndex((b) => b.name === bn);
if (A < 0 || B < 0) throw new Error(`no body ${A < 0 ? an : bn}`);
kin.fk(q);
const P = Float64Array.from(kin.pose);
for (const prove of [false, true]) {
  const sc = await SelfCollisionWorld.create(geom, { proveSeparation: prove });
  sc.place(P, 0);
  if (sc.needsQueries()) await sc.loadQueries();
  const c = sc.contacts(0).find((x) => (x.a === A && x.b === B) || (x.a === B && x.b === A));
  console.log(`validate${prove ? ' (with its separation proof)' : ', Rapier alone'}: ${c ? `contact ${(c.depth * 1000).toFixed(2)} mm deep` : 'no contact'}`);
  sc.free();
}
// Rapier's contact query on each shape pair, in both argument orders (validate asks it as shape i, shape j with i < j).
{
  const RAPIER = await loadRapier();
  const world = new RAPIER.World({ x: 0, y: 0, z: 0 });
  const I = Float64Array.from([1, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0]), T = new Float64Array(12), q4 = new Float64Array(4);
  const make = (body: number, s: ShapeSpec) => {
    const c = world.createCollider(colliderDesc(s, I)!);
    // Hulls are in the body frame; primitives carry their pose (cylinders and capsules are not used here).
    if (s.kind === 'hull') T.set(P.subarray(12 * geom.bodies[body].top, 12 * geom.bodies[body].top + 12));
    else compose(P, 12 * geom.bodies[body].top, s.pose, 0, T, 0);
    matToQuat(T, 0, q4);
    c.setTranslation({ x: T[9], y: T[10], z: T[11] });
    c.setRotation({ w: q4[0], x: q4[1], y: q4[2], z: q4[3] });
    return c;
  };
  const ca = (geom.bodies[A].shapes as ShapeSpec[]).map((s) => make(A, s)), cb = (geom.bodies[B].shapes as ShapeSpec[]).map((s) => make(B, s));
  ca.forEach((x, i) => cb.forEach((y, j) => {
    const ab = x.contactCollider(y, 0), ba = y.contactCollider(x, 0), far = x.contactCollider(y, 0.01);
    if (!ab && !ba && (!far || far.distance > 0.003)) return;
    const mm = (c: { distance: number } | null) => (c ? `${(c.distance * 1000).toFixed(2)} mm` : 'none');
    console.log(`Rapier contactCollider, ${an} shape ${i} (${geom.bodies[A].shapes[i].kind}) with ${bn} shape ${j} (${geom.bodies[B].shapes[j].kind}): distance ${mm(ab)}; other order ${mm(ba)}; with prediction 1 cm ${mm(far)}`);
  }));
  world.free();
}
// Brute force: B's samples in A's body frame, tested against A's boxes.
const ta = 12 * geom.bodies[A].top, tb = 12 * geom.bodies[B].top;
const inA = (x: number, y: number, z: number): number[] => {
  const w = [0, 1, 2].map((r) => P[tb + 3 * r] * x + P[tb + 3 * r + 1] * y + P[tb + 3 * r + 2] * z + P[tb + 9 + r]);
  const d = [w[0] - P[ta + 9], w[1] - P[ta + 10], w[2] - P[ta + 11]];
  return [0, 1, 2].map((r) => P[ta + r] * d[0] + P[ta + 3 + r] * d[1] + P[ta + 6 + r] * d[2]);
};
const samples: number[][] = [];
for (const s of geom.bodies[B].shapes as ShapeSpec[]) {
  if (s.kind === 'hull') {
    const p = s.points;
    for (let i = 0; i < p.length; i += 3) for (let j = i; j < p.length; j += 3) for (let k = 0; k <= 16; k++) {
      const u = k / 16;
      samples.push(inA(p[i] + u * (p[j] - p[i]), p[i + 1] + u * (p[j + 1] - p[i + 1]), p[i + 2] + u * (p[j + 2] - p[i + 2])));
    }
  } else if (s.kind === 'cuboid') {
    for (let i = 0; i <= 24; i++) for (let j = 0; j <= 24; j++) for (let k = 0; k <= 24; k++) {
      const l = [(-1 + i / 12) * s.half[0], (-1 + j / 12) * s.half[1], (-1 + k / 12) * s.half[2]];
      const p = s.pose;
      samples.push(inA(p[0] * l[0] + p[1] * l[1] + p[2] * l[2] + p[9], p[3] * l[0] + p[4] * l[1] + p[5] * l[2] + p[10], p[6] * l[0] + p[7] * l[1] + p[8] * l[2] + p[11]));
    }
  } else throw new Error(`body ${bn}: ${s.kind} shapes are not sampled here`);
}
let deepest = -Infinity, which = -1;
(geom.bodies[A].shapes as ShapeSpec[]).forEach((s, si) => {
  if (s.kind !== 'cuboid') throw new Error(`body ${an}: shape ${si} is a ${s.kind}, not a box`);
  const p = s.pose;
  for (const b of samples) {
    const e = [b[0] - p[9], b[1] - p[10], b[2] - p[11]];
    const c = [0, 1, 2].map((r) => p[r] * e[0] + p[3 + r] * e[1] + p[6 + r] * e[2]);
    const inside = Math.min(s.half[0] - Math.abs(c[0]), s.half[1] - Math.abs(c[1]), s.half[2] - Math.abs(c[2]));
    if (inside > deepest) { deepest = inside; which = si; }
  }
});
console.log(`brute force: deepest of ${samples.length} samples of ${bn} inside ${an}'s box ${which}: ${(deepest * 1000).toFixed(2)} mm${deepest < 0 ? ' (outside)' : ''}`);
