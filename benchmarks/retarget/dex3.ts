/**
 * The hand collision limit on the G1 with Dex3 hands (issue 15): the right Dex3 hand's 7 finger joints solved
 * from the real MediaPipe keypoints of the dex-retargeting clip (621 frames, 30 fps; the hand retargeter is
 * palm-relative, so the arm stays at the G1's zero pose), once without the collision limit (today's default
 * inside a larger robot) and once with it (`collision: {}`). Reported per variant: frames where two parts of the
 * right hand (the palm link and the links below it) overlap by ≥ 0.5 mm on the URDF's own collision geometry
 * (validate's check, src/sim/selfcollision.ts, meshes as convex hulls, pairs touching at the zero pose left out)
 * and the deepest, frames with collision-proxy overlap (the limit's own measure), fingertip error, thumb–finger
 * tip distance in human pinches, velocity-limit violations, frames/s (CPU, solve loop only, median of passes).
 * Then the built-in pick-and-place (body + both hands) through `retargetFile` as the CLI runs it, with the
 * same contact count over both hands.
 *
 *   npx tsx benchmarks/retarget/dex3.ts [--passes 3]
 */
import * as os from 'node:os';
import * as path from 'node:path';
import { importPose } from '../../src/pose/import.ts';
import { loadUrdf } from '../../src/robot/urdf.ts';
import { Kinematics } from '../../src/robot/kinematics.ts';
import { createHandRetargeter, handLandmarks, measureHumanHand, type HandRetargeterOptions } from '../../src/retarget/hand/index.ts';
import { builtinMotion } from '../../src/pose/builtin.ts';
import { retargetFile } from '../../src/retarget/run.ts';
import { robotGeometry } from '../../src/sim/geometry.ts';
import { SelfCollisionWorld } from '../../src/sim/selfcollision.ts';
import { SHARED_DATA } from '../../test/helpers/shared.ts';

const arg = (k: string) => { const i = process.argv.indexOf(k); return i >= 0 ? process.argv[i + 1] : undefined; };
const passes = Number(arg('--passes') ?? 3);
const G1 = path.join(SHARED_DATA, 'robots/unitree_g1/g1_29dof_with_hand_rev_1_0.urdf');
const robot = loadUrdf(G1);
const kin = new Kinematics(robot);
const geom = await robotGeometry(robot);
const sc = await SelfCollisionWorld.create(geom);

/** Links at or below a link. */
const below = (link: string) => new Set(Array.from({ length: kin.nLinks }, (_, l) => l).filter((l) => kin.isAncestor(kin.linkIndex(link), l)));
/** Bodies (of validate's geometry) holding any of the given links (the palm is merged into the wrist link's body). */
const bodiesOf = (links: Set<number>) => new Set(geom.bodies.map((b, i) => [b, i] as const).filter(([b]) => b.links.some((l) => links.has(l))).map(([, i]) => i));

/** Frames (of a [T × nq] motion) with a contact ≥ 0.5 mm between two bodies of `bodies`, the deepest (mm), and per pair. */
async function handContacts(q: ArrayLike<number>, T: number, bodies: Set<number>): Promise<{ frames: number; deepestMm: number; pairs: Map<string, number> }> {
  const nq = kin.nq, qq = new Float64Array(nq);
  let frames = 0, deepest = 0;
  const pairs = new Map<string, number>();
  for (let t = 0; t < T; t++) {
    for (let d = 0; d < nq; d++) qq[d] = q[t * nq + d];
    kin.fk(qq);
    sc.place(kin.pose, 0);
    if (!sc.needsQueries()) continue;
    await sc.loadQueries();
    const cs = sc.contacts(0.0005).filter((c) => bodies.has(c.a) && bodies.has(c.b));
    if (!cs.length) continue;
    frames++;
    for (const c of cs) {
      deepest = Math.max(deepest, c.depth);
      const k = `${geom.bodies[c.a].name}–${geom.bodies[c.b].name}`;
      pairs.set(k, (pairs.get(k) ?? 0) + 1);
    }
  }
  return { frames, deepestMm: deepest * 1000, pairs };
}

const med = (x: number[]) => x.slice().sort((a, b) => a - b)[x.length >> 1];
console.log(`machine: ${os.cpus()[0]?.model} x${os.cpus().length}, node ${process.version}, load average ${os.loadavg().map((x) => x.toFixed(1)).join(' ')}, ${new Date().toISOString()}`);
console.log('');

// 1. Right Dex3 hand on the real keypoints.
const track = importPose(path.join(SHARED_DATA, 'keypoints/dex_retargeting_human_joint_right.json'));
const lm = handLandmarks(track, 'right')!;
const T = track.timestamps.length;
const dofs = kin.dofNames.filter((n) => n.startsWith('right_hand_'));
const rightBodies = bodiesOf(below('right_hand_palm_link'));
const variants: [string, HandRetargeterOptions][] = [['no collision limit (default inside a larger robot)', {}], ['collision limit on', { collision: {} }]];
console.log('| variant | frames with contact within the right hand, validate\'s check (deepest mm) | contact pairs (frames) | frames with proxy overlap ≥ 0.5 mm (deepest mm) | fingertip error mean (mm) | thumb–finger tip distance in human pinches (mm, frames) | velocity-limit violations | frames/s (CPU, solve loop, median) |');
console.log('|---|---|---|---|---|---|---|---|');
for (const [name, o] of variants) {
  const cpu: number[] = [];
  let Q = new Float64Array(0), overlap = 0, overlapMax = 0, tipSum = 0, tipN = 0, pinSum = 0, pinN = 0, vel = 0;
  for (let p = 0; p <= passes; p++) {
    const hr = createHandRetargeter(kin, { side: 'right', dofs, ...o });
    hr.calibrate(measureHumanHand(lm, T));
    const q = new Float64Array(kin.nq), out = new Float64Array(T * kin.nq);
    overlap = 0; overlapMax = 0; tipSum = 0; tipN = 0; pinSum = 0; pinN = 0;
    const c0 = process.cpuUsage();
    for (let t = 0; t < T; t++) {
      const ok = hr.solveFrame(lm.subarray(63 * t, 63 * t + 63), q, t ? track.timestamps[t] - track.timestamps[t - 1] : undefined);
      out.set(q, t * kin.nq);
      if (!ok) continue;
      const s = hr.stats;
      if (s.collisionDepth >= 5e-4) overlap++;
      overlapMax = Math.max(overlapMax, s.collisionDepth);
      for (let i = 0; i < s.tipError.length; i++) { tipSum += s.tipError[i]; tipN++; }
      for (let i = 1; i < s.tipError.length; i++) if (s.humanPinchDist[i] < 0.03) { pinSum += s.robotPinchDist[i]; pinN++; }
    }
    const c = process.cpuUsage(c0);
    if (p > 0) cpu.push(T / ((c.user + c.system) / 1e6)); // pass 0: warm-up
    Q = out;
  }
  vel = 0;
  for (let t = 1; t < T; t++) for (const n of dofs) { const d = kin.dofIndex(n); if (Math.abs(Q[t * kin.nq + d] - Q[(t - 1) * kin.nq + d]) * track.fps > kin.velocityLimit[d] * (1 + 1e-4) + 1e-6) vel++; }
  const hc = await handContacts(Q, T, rightBodies);
  console.log(`| ${name} | ${hc.frames} (${hc.deepestMm.toFixed(1)}) | ${[...hc.pairs].map(([k, n]) => `${k} ${n}`).join(', ') || '-'} | ${overlap} (${(overlapMax * 1000).toFixed(1)}) | ${((tipSum / tipN) * 1000).toFixed(1)} | ${((pinSum / pinN) * 1000).toFixed(1)} (${pinN}) | ${vel} | ${Math.round(med(cpu))} |`);
}

// 2. Built-in pick-and-place, body + both hands, as `reel2real retarget` runs it.
const pp = builtinMotion('pick-and-place');
const { motion } = retargetFile(pp, robot, {});
const handBodies = new Set([...bodiesOf(below('right_hand_palm_link')), ...bodiesOf(below('left_hand_palm_link'))]);
// The motion's joint order is the Kinematics order (retargetFile writes kin.dofNames).
const hc = await handContacts(motion.q, motion.timestamps.length, handBodies);
console.log('');
console.log(`built-in pick-and-place (${motion.timestamps.length} frames, body + both Dex3 hands, retargetFile defaults): frames with contact within a hand ${hc.frames} (deepest ${hc.deepestMm.toFixed(1)} mm)${hc.pairs.size ? `; pairs: ${[...hc.pairs].map(([k, n]) => `${k} ${n}`).join(', ')}` : ''}`);
console.log(`load average at the end: ${os.loadavg().map((x) => x.toFixed(1)).join(' ')}`);
sc.free();
