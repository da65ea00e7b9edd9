/**
 * Hands on dex-retargeting's own measure (issue 15): for each hand's `teleop_vector_*.yml` in
 * ../shared/data/hands/<hand>/dex_retargeting_configs/, the mean over frames and target vectors of
 * |robot (task link − origin link) − scaling_factor × human (landmark j1 − landmark j0)|, in mm, with
 * the robot at the URDF root frame and the human keypoints as stored (MANO wrist frame,
 * keypoints/dex_retargeting_human_joint_right.json). reel2real's motions come from `retargetHand` on the
 * same keypoints (its own hand configs), with its collision limit and without (`collision: false`). Also:
 * thumb–finger tip distance and distal surface gap in human pinches, velocity-limit violations, frames with
 * contact on the URDF collision geometry by `validate`'s check, frames with collision-proxy overlap, and
 * frames/s of the whole retargetHand call (one warm-up, then `--passes`, interleaved between the two).
 *
 * dex-retargeting itself is run on the same keypoints and configs when its source is given
 * (`--dex-src DIR`, the directory holding its `dex_retargeting` package, e.g. `src/` of a checkout;
 * `--dex-python` the interpreter with torch and nlopt, default python3) by benchmarks/retarget/dex_run.py,
 * whose output is evaluated here by the same functions; `--dex-results DIR` reads that script's
 * <hand>.json files from an earlier run instead.
 *
 * `--dex-variant LABEL=DIR` evaluates more dex_run.py outputs the same way (e.g. a config with
 * `target_joint_names` that leaves Shadow's wrist joints out).
 *
 *   npx tsx benchmarks/retarget/dex-vector.ts [--passes 3] [--dex-src DIR [--dex-python PY] | --dex-results DIR] [--dex-variant LABEL=DIR]
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { importPose } from '../../src/pose/import.ts';
import { loadUrdf } from '../../src/robot/urdf.ts';
import { Kinematics } from '../../src/robot/kinematics.ts';
import { retargetHand } from '../../src/retarget/hand/index.ts';
import { parseYaml } from '../../src/io/text.ts';
import { spawnSync } from 'node:child_process';
import { discoverHand } from '../../src/retarget/hand/index.ts';
import { buildCollisionProxies, CollisionEvaluator, HandCollisionLimit } from '../../src/retarget/hand/collision.ts';
import { robotGeometry } from '../../src/sim/geometry.ts';
import { SelfCollisionWorld } from '../../src/sim/selfcollision.ts';
import type { UrdfRobot } from '../../src/robot/urdf.ts';
import { SHARED_DATA } from '../../test/helpers/shared.ts';

const arg = (k: string) => { const i = process.argv.indexOf(k); return i >= 0 ? process.argv[i + 1] : undefined; };
const passes = Number(arg('--passes') ?? 3);
const dexSrc = arg('--dex-src'), dexPython = arg('--dex-python') ?? 'python3', dexResults = arg('--dex-results');
/** `--dex-variant LABEL=DIR` (repeatable): more dex_run.py outputs (<hand>.json, e.g. a config variant) to evaluate. */
const dexVariants = process.argv.flatMap((a, i) => (a === '--dex-variant' && process.argv[i + 1]?.includes('=') ? [process.argv[i + 1].split('=') as [string, string]] : []));
const kpFile = path.join(SHARED_DATA, 'keypoints/dex_retargeting_human_joint_right.json');
const raw = JSON.parse(fs.readFileSync(kpFile, 'utf8')) as { frames: (number[][] | null)[] };
const track = importPose(kpFile);

/** Mean vector error (m) of a hand motion on a dex-retargeting vector config. */
export function dexVectorError(kin: Kinematics, q: ArrayLike<number>, T: number, cfg: { origin: string[]; task: string[]; human: [number[], number[]]; scale: number }): number {
  const nq = kin.nq, qq = new Float64Array(nq);
  const o = cfg.origin.map((n) => kin.linkIndex(n)), k = cfg.task.map((n) => kin.linkIndex(n));
  let sum = 0, n = 0;
  for (let t = 0; t < T; t++) {
    const h = raw.frames[t];
    if (!h) continue;
    for (let d = 0; d < nq; d++) qq[d] = q[t * nq + d];
    kin.fk(qq);
    const P = kin.pose;
    for (let v = 0; v < o.length; v++) {
      const a = 12 * o[v], b = 12 * k[v], j0 = cfg.human[0][v], j1 = cfg.human[1][v];
      let e = 0;
      for (let c = 0; c < 3; c++) { const r = P[b + 9 + c] - P[a + 9 + c] - cfg.scale * (h[j1][c] - h[j0][c]); e += r * r; }
      sum += Math.sqrt(e); n++;
    }
  }
  return sum / Math.max(1, n);
}


/**
 * Thumb-tip to finger-tip distance (m) of the robot (discovered fingertips) in the frames where the
 * person's thumb and that finger's tips are closer than `enter`, mean over fingers and frames.
 */
export function pinchDistance(kin: Kinematics, q: ArrayLike<number>, T: number, enter = 0.03): { frames: number; mean: number } {
  const model = discoverHand(kin);
  const nq = kin.nq, qq = new Float64Array(nq), a = new Float64Array(3), b = new Float64Array(3);
  const tipLm: Record<string, number> = { index: 8, middle: 12, ring: 16, pinky: 20 };
  let sum = 0, n = 0;
  for (let t = 0; t < T; t++) {
    const h = raw.frames[t];
    if (!h) continue;
    let fk = false;
    for (const f of model.fingers.slice(1)) {
      const j = tipLm[f.name];
      if (Math.hypot(h[j][0] - h[4][0], h[j][1] - h[4][1], h[j][2] - h[4][2]) >= enter) continue;
      if (!fk) { for (let d = 0; d < nq; d++) qq[d] = q[t * nq + d]; kin.fk(qq); fk = true; }
      kin.pointWorld(model.fingers[0].tipLinkIndex, model.fingers[0].tipLocal, a);
      kin.pointWorld(f.tipLinkIndex, f.tipLocal, b);
      sum += Math.hypot(a[0] - b[0], a[1] - b[1], a[2] - b[2]); n++;
    }
  }
  return { frames: n, mean: n ? sum / n : NaN };
}

/**
 * Surface gap (m) between the thumb's and a finger's distal parts (the last moving link of each and the
 * fixed links past it, on collision proxies fitted to the URDF's collision elements: src/retarget/hand/
 * collision.ts; negative = overlap) in the frames where the person's thumb and that finger's tips are
 * closer than `enter`, mean over fingers and frames.
 */
export function pinchSurfaceGap(kin: Kinematics, robot: UrdfRobot, q: ArrayLike<number>, T: number, enter = 0.03): { frames: number; mean: number } {
  const model = discoverHand(kin);
  const px = buildCollisionProxies(kin, robot, [], []);
  const ev = new CollisionEvaluator(kin, px);
  const distal = (f: (typeof model.fingers)[number]) => {
    const last = f.linkIndices[f.linkIndices.length - 1];
    return Array.from(px.link.keys()).filter((p) => { const l = px.link[p]; return kin.isAncestor(last, l) && (l === last || kin.linkDof(l) < 0); });
  };
  const thumb = distal(model.fingers[0]);
  const tipLm: Record<string, number> = { index: 8, middle: 12, ring: 16, pinky: 20 };
  const nq = kin.nq, qq = new Float64Array(nq);
  let sum = 0, n = 0;
  for (let t = 0; t < T; t++) {
    const h = raw.frames[t];
    if (!h) continue;
    let placed = false;
    for (const f of model.fingers.slice(1)) {
      const j = tipLm[f.name];
      if (Math.hypot(h[j][0] - h[4][0], h[j][1] - h[4][1], h[j][2] - h[4][2]) >= enter) continue;
      if (!placed) { for (let d = 0; d < nq; d++) qq[d] = q[t * nq + d]; kin.fk(qq); ev.place(kin.pose); placed = true; }
      let gap = Infinity;
      for (const a of thumb) for (const b of distal(f)) gap = Math.min(gap, ev.distance(a, b));
      sum += gap; n++;
    }
  }
  return { frames: n, mean: n ? sum / n : NaN };
}

/**
 * Frames where two parts of the hand not joined by a joint overlap by 0.5 mm or more on the URDF's own
 * collision geometry (meshes as convex hulls): the check `validate` makes (src/sim/selfcollision.ts,
 * pairs overlapping at the zero pose excluded), and the deepest overlap (mm). `framesNoMultiAxis` /
 * `deepestNoMultiAxisMm`: the same without the pairs joined by a multi-axis joint — two joints in a row
 * whose origins coincide at the zero pose (the link between them has zero length: Shadow's thumb base,
 * THJ5 then THJ4 at one point, joins the palm to the thumb's proximal phalanx), which collision checkers
 * treat as adjacent links; validate (src/sim) does not leave them out.
 */
export async function urdfContactFrames(robot: UrdfRobot, q: ArrayLike<number>, T: number): Promise<{ frames: number; deepestMm: number; framesNoMultiAxis: number; deepestNoMultiAxisMm: number; multiAxisPairs: string[] }> {
  const geom = await robotGeometry(robot);
  const kin = geom.kin, nq = kin.nq, L = kin.nLinks;
  // Body pairs joined by a multi-axis joint: body b's joint and its parent body's joint at one point.
  kin.fk(Float64Array.from({ length: nq }, (_, d) => Math.min(Math.max(0, kin.lower[d]), kin.upper[d])));
  const at = (b: number) => { const o = 12 * geom.bodies[b].top; return [kin.pose[o + 9], kin.pose[o + 10], kin.pose[o + 11]]; };
  const multi = new Set<string>();
  const multiNames: string[] = [];
  geom.bodies.forEach((spec, b) => {
    const p = spec.parent;
    if (p < 0 || geom.bodies[p].parent < 0) return;
    const u = at(b), v = at(p);
    if (Math.hypot(u[0] - v[0], u[1] - v[1], u[2] - v[2]) < 1e-6) {
      const pp = geom.bodies[p].parent;
      multi.add(`${Math.min(b, pp)},${Math.max(b, pp)}`);
      multiNames.push(`${geom.bodies[pp].name}–${spec.name}`);
    }
  });
  const pose = new Float64Array(T * L * 12), qq = new Float64Array(nq);
  for (let t = 0; t < T; t++) {
    for (let d = 0; d < nq; d++) qq[d] = q[t * nq + d];
    kin.fk(qq);
    pose.set(kin.pose.subarray(0, L * 12), t * L * 12);
  }
  // validate's check as it is (with its separation proof, d930a80). Without the proof (Rapier on every near pair,
  // as before) the counts on these hands are higher: Rapier reports contact between Shadow's palm boxes and the
  // thumb's proximal / little-finger knuckle hulls where the shapes are 0.5-2.3 mm apart (RESULTS.md, 22:15).
  const sc = await SelfCollisionWorld.create(geom);
  let frames = 0, deepest = 0, framesNm = 0, deepestNm = 0;
  try {
    for (let t = 0; t < T; t++) {
      sc.place(pose, t * L * 12);
      if (!sc.needsQueries()) continue;
      await sc.loadQueries();
      const cs = sc.contacts(0.0005);
      if (cs.length) { frames++; deepest = Math.max(deepest, cs[0].depth); }
      const nm = cs.filter((c) => !multi.has(`${Math.min(c.a, c.b)},${Math.max(c.a, c.b)}`));
      if (nm.length) { framesNm++; for (const c of nm) deepestNm = Math.max(deepestNm, c.depth); }
    }
  } finally {
    sc.free();
  }
  return { frames, deepestMm: deepest * 1000, framesNoMultiAxis: framesNm, deepestNoMultiAxisMm: deepestNm * 1000, multiAxisPairs: multiNames };
}

/** Frames × dofs whose step exceeds the URDF velocity limit at the clip's frame rate. */
function velocityViolations(kin: Kinematics, q: ArrayLike<number>, T: number, fps: number): number {
  const nq = kin.nq;
  let v = 0;
  for (let t = 1; t < T; t++) for (let d = 0; d < nq; d++) if (Math.abs(q[t * nq + d] - q[(t - 1) * nq + d]) * fps > kin.velocityLimit[d] * (1 + 1e-4) + 1e-6) v++;
  return v;
}

interface DexOut { joint_names: string[]; qpos: number[][]; frames: number; seconds_cpu: number; check: Record<string, number[]> }

/** dex-retargeting's motion for a hand: run it (or read an earlier run), map its joints to ours, check its FK. */
function dexMotion(h: string, kin: Kinematics, urdf: string, yml: string, dir = dexResults): { q: Float64Array; cpuFps: number; fkCheckMm: number } | string {
  let file: string;
  if (dir) file = path.join(dir, `${h}.json`);
  else if (dexSrc) {
    file = path.join(os.tmpdir(), `r2r-dex-${process.pid}-${h}.json`);
    const r = spawnSync(dexPython, [path.join(path.dirname(new URL(import.meta.url).pathname), 'dex_run.py'), '--src', dexSrc, '--urdf', urdf, '--config', yml, '--keypoints', kpFile, '--out', file], { encoding: 'utf8' });
    if (r.status !== 0) return `skipped: dex_run.py failed (${(r.stderr || r.error?.message || '').trim().split('\n').pop()})`;
  } else return 'skipped: no --dex-src / --dex-results given';
  if (!fs.existsSync(file)) return `skipped: ${file} not found`;
  const d = JSON.parse(fs.readFileSync(file, 'utf8')) as DexOut;
  const T = d.qpos.length, nq = kin.nq, q = new Float64Array(T * nq);
  const col = kin.dofNames.map((n) => d.joint_names.indexOf(n));
  if (col.some((c) => c < 0)) return `skipped: joints ${kin.dofNames.filter((_, i) => col[i] < 0).join(', ')} missing from dex output`;
  for (let t = 0; t < T; t++) for (let k = 0; k < nq; k++) q[t * nq + k] = d.qpos[t][col[k]];
  // The stand-in FK of dex_run.py against ours, at its last frame.
  const qq = q.subarray((T - 1) * nq, T * nq);
  kin.fk(Float64Array.from(qq));
  let worst = 0;
  for (const [nm, p] of Object.entries(d.check)) {
    const o = 12 * kin.linkIndex(nm);
    worst = Math.max(worst, Math.hypot(kin.pose[o + 9] - p[0], kin.pose[o + 10] - p[1], kin.pose[o + 11] - p[2]));
  }
  return { q, cpuFps: d.frames / d.seconds_cpu, fkCheckMm: worst * 1000 };
}

const HANDS = ['allegro', 'inspire', 'leap', 'shadow'];
if (import.meta.url === `file://${process.argv[1]}` || process.argv[1]?.endsWith('dex-vector.ts')) await main();

async function main(): Promise<void> {
  console.log(`machine: ${os.cpus()[0]?.model} x${os.cpus().length}, node ${process.version}, load average ${os.loadavg().map((x) => x.toFixed(1)).join(' ')}, ${new Date().toISOString()}`);
  console.log('');
  console.log('| hand | version | vector error (mm) | thumb–finger tip distance in human pinches (mm, frames) | thumb–finger surface gap in human pinches (mm, proxies) | velocity-limit violations | frames with contact on the URDF collision geometry, validate\'s check (deepest mm) | the same without pairs joined by a multi-axis joint (deepest mm) | frames with proxy overlap ≥ 0.5 mm (deepest mm) | frames/s (CPU, whole retargetHand call, median) | lag median (frames) | dex FK stand-in vs ours (mm) |');
  console.log('|---|---|---|---|---|---|---|---|---|---|---|---|');
  const multiAxis: string[] = [];
  const med = (x: number[]) => x.slice().sort((a, b) => a - b)[x.length >> 1];
  for (const h of HANDS) {
    const dir = path.join(SHARED_DATA, 'hands', `${h}_right`);
    const yml = path.join(dir, 'dex_retargeting_configs', `teleop_vector_${h}_hand_right.yml`);
    const y = parseYaml(fs.readFileSync(yml, 'utf8'), yml) as { retargeting: Record<string, any> };
    const r = y.retargeting;
    const urdf = path.join(dir, `${h}_hand_right.urdf`);
    const robot = loadUrdf(urdf);
    const kin = new Kinematics(robot);
    const cfg = { origin: r.target_origin_link_names, task: r.target_task_link_names, human: r.target_link_human_indices, scale: r.scaling_factor };
    const variants: [string, { collision?: false }][] = [['reel2real', {}], ['reel2real, collision: false', { collision: false }]];
    // Warm-up, then passes interleaved between the two variants.
    const cpu: number[][] = variants.map(() => []);
    const motions = variants.map(([, o]) => retargetHand(track, robot, o));
    for (let p = 0; p < passes; p++) variants.forEach(([, o], i) => {
      const c0 = process.cpuUsage();
      motions[i] = retargetHand(track, robot, o);
      const c = process.cpuUsage(c0);
      cpu[i].push(motions[i].timestamps.length / ((c.user + c.system) / 1e6));
    });
    const T = motions[0].timestamps.length;
    for (let i = 0; i < variants.length; i++) {
      const m = motions[i], q = m.quality as any;
      const pin = pinchDistance(kin, m.q, T), gap = pinchSurfaceGap(kin, robot, m.q, T);
      const uc = await urdfContactFrames(robot, m.q, T);
      if (i === 0) multiAxis.push(`${h}: ${uc.multiAxisPairs.join(', ') || 'none'}`);
      console.log(`| ${h} | ${variants[i][0]} | ${(dexVectorError(kin, m.q, T, cfg) * 1000).toFixed(1)} | ${(pin.mean * 1000).toFixed(1)} (${pin.frames}) | ${(gap.mean * 1000).toFixed(1)} | ${q.velocity_limit_violations} | ${uc.frames} (${uc.deepestMm.toFixed(1)}) | ${uc.framesNoMultiAxis} (${uc.deepestNoMultiAxisMm.toFixed(1)}) | ${q.collision_frames} (${(q.collision_max_depth_m * 1000).toFixed(1)}) | ${Math.round(med(cpu[i]))} | ${q.lag?.median_frames} | - |`);
    }
    const dx = dexMotion(h, kin, urdf, yml);
    if (typeof dx === 'string') { console.log(`| ${h} | dex-retargeting | ${dx} | | | | | | | | | |`); continue; }
    const pin = pinchDistance(kin, dx.q, T), gap = pinchSurfaceGap(kin, robot, dx.q, T);
    const dc = await urdfContactFrames(robot, dx.q, T);
    const pc = proxyOverlapFrames(kin, robot, dx.q, T);
    for (const [label, dir] of dexVariants) {
      if (!fs.existsSync(path.join(dir, `${h}.json`))) continue;
      const dv = dexMotion(h, kin, urdf, yml, dir);
      if (typeof dv === 'string') continue;
      const pv = pinchDistance(kin, dv.q, T), gv = pinchSurfaceGap(kin, robot, dv.q, T);
      const cv = await urdfContactFrames(robot, dv.q, T);
      const ov = proxyOverlapFrames(kin, robot, dv.q, T);
      console.log(`| ${h} | dex-retargeting, ${label} | ${(dexVectorError(kin, dv.q, T, cfg) * 1000).toFixed(1)} | ${(pv.mean * 1000).toFixed(1)} (${pv.frames}) | ${(gv.mean * 1000).toFixed(1)} | ${velocityViolations(kin, dv.q, T, track.fps)} | ${cv.frames} (${cv.deepestMm.toFixed(1)}) | ${cv.framesNoMultiAxis} (${cv.deepestNoMultiAxisMm.toFixed(1)}) | ${ov.frames} (${ov.deepestMm.toFixed(1)}) | (stand-in FK) | - | ${dv.fkCheckMm.toFixed(4)} |`);
    }
    console.log(`| ${h} | dex-retargeting | ${(dexVectorError(kin, dx.q, T, cfg) * 1000).toFixed(1)} | ${(pin.mean * 1000).toFixed(1)} (${pin.frames}) | ${(gap.mean * 1000).toFixed(1)} | ${velocityViolations(kin, dx.q, T, track.fps)} | ${dc.frames} (${dc.deepestMm.toFixed(1)}) | ${dc.framesNoMultiAxis} (${dc.deepestNoMultiAxisMm.toFixed(1)}) | ${pc.frames} (${pc.deepestMm.toFixed(1)}) | (stand-in FK) | - | ${dx.fkCheckMm.toFixed(4)} |`);
  }
  console.log('');
  console.log(`pairs joined by a multi-axis joint (left out of the second contact column): ${multiAxis.join('; ')}`);
  console.log(`load average at the end: ${os.loadavg().map((x) => x.toFixed(1)).join(' ')}`);
}

/** Frames whose collision proxies (the same pairs reel2real's limit keeps apart) overlap by ≥ 0.5 mm, and the deepest. */
function proxyOverlapFrames(kin: Kinematics, robot: UrdfRobot, q: ArrayLike<number>, T: number): { frames: number; deepestMm: number } {
  const model = discoverHand(kin);
  const neutral = Float64Array.from({ length: kin.nq }, (_, d) => Math.min(Math.max(0, kin.lower[d]), kin.upper[d]));
  const lim = new HandCollisionLimit(kin, buildCollisionProxies(kin, robot, model.dofs, [neutral, model.qRef], undefined, 0.001), 0.001);
  const nq = kin.nq, qq = new Float64Array(nq);
  let frames = 0, deepest = 0;
  for (let t = 0; t < T; t++) {
    for (let d = 0; d < nq; d++) qq[d] = q[t * nq + d];
    kin.fk(qq);
    const d = lim.evaluate();
    if (d >= 5e-4) frames++;
    deepest = Math.max(deepest, d);
  }
  return { frames, deepestMm: deepest * 1000 };
}
