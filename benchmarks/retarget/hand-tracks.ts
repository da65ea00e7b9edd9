/**
 * Hands on other tracks than dex-retargeting's keypoints (issue 15): a hand track captured by `reel2real capture
 * --hands` (e.g. from ../shared/data/videos/mediapipe_*.mp4) retargeted onto Inspire, LEAP and Shadow by this checkout
 * and by a baseline checkout (`--baseline DIR`, e.g. `git archive <commit> src configs package.json tsconfig.json`
 * unpacked with node_modules linked), each with its own configs/hands. Per hand and version: the report's error of the
 * configured vectors (palm frame, `fingertip_error_mean_m`), the thumb–finger tip distance in the frames where the
 * person's thumb and that finger's tips are closer than 3 cm (from the track's right-hand landmarks and our FK), the
 * report's velocity-limit violations, validate's contact frames (dex-vector.ts's urdfContactFrames), proxy overlap,
 * lag and CPU seconds of the retargetHand call.
 *
 *   npx tsx benchmarks/retarget/hand-tracks.ts [--baseline DIR] [--options JSON] track.npz [track2.npz ...]
 */
import * as os from 'node:os';
import * as path from 'node:path';
import { loadUrdf } from '../../src/robot/urdf.ts';
import { Kinematics } from '../../src/robot/kinematics.ts';
import { importPose } from '../../src/pose/import.ts';
import { discoverHand, handLandmarks } from '../../src/retarget/hand/index.ts';
import { urdfContactFrames } from './dex-vector.ts';
import { SHARED_DATA } from '../../test/helpers/shared.ts';

const args = process.argv.slice(2);
/** `--options JSON`: retargetHand options for this checkout (e.g. '{"planRefine":{"rounds":2,"pull":0.01}}'). */
const oi = args.indexOf('--options');
const opts = oi >= 0 ? JSON.parse(args.splice(oi, 2)[1]) : {};
const bi = args.indexOf('--baseline');
const baseline = bi >= 0 ? path.resolve(args[bi + 1]) : undefined;
const tracks = args.filter((_, i) => bi < 0 || (i !== bi && i !== bi + 1));
if (!tracks.length) { console.error('usage: hand-tracks.ts [--baseline DIR] track.npz [...]'); process.exit(2); }
const here = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..', '..');
const versions: [string, string][] = [...(baseline ? [['baseline', baseline] as [string, string]] : []), ['this', here]];

console.log(`machine: ${os.cpus()[0]?.model} x${os.cpus().length}, node ${process.version}, load average ${os.loadavg().map((x) => x.toFixed(1)).join(' ')}, ${new Date().toISOString()}`);
console.log('| track | hand | version | configured vectors error (mm) | thumb–finger tip distance in human pinches (mm, finger-frames) | velocity-limit violations | validate contact frames (deepest mm); without pairs joined by a multi-axis joint | proxy overlap frames (deepest mm) | lag median (frames) | CPU s |');
console.log('|---|---|---|---|---|---|---|---|---|---|');
const TIP: Record<string, number> = { index: 8, middle: 12, ring: 16, pinky: 20 };
for (const file of tracks) {
  const lm = handLandmarks(importPose(file), 'right');
  if (!lm) throw new Error(`${file}: no right-hand landmarks`);
  const T = lm.length / 63;
  for (const h of ['inspire', 'leap', 'shadow']) {
    const urdf = path.join(SHARED_DATA, 'hands', `${h}_right`, `${h}_hand_right.urdf`);
    const robot = loadUrdf(urdf), kin = new Kinematics(robot), model = discoverHand(kin);
    for (const [label, dir] of versions) {
      // Each version's own code, configs and loaders.
      const { retargetHand } = await import(path.join(dir, 'src/retarget/hand/index.ts'));
      const ip = (await import(path.join(dir, 'src/pose/import.ts'))).importPose;
      const lu = (await import(path.join(dir, 'src/robot/urdf.ts'))).loadUrdf;
      const c0 = process.cpuUsage();
      const m = retargetHand(ip(file), lu(urdf), label === 'this' ? opts : {});
      const c = process.cpuUsage(c0);
      const q = m.quality as Record<string, any>;
      const qq = new Float64Array(kin.nq), a = new Float64Array(3), b = new Float64Array(3);
      let sum = 0, n = 0;
      for (let t = 0; t < T; t++) {
        const o = 63 * t;
        let placed = false;
        for (const f of model.fingers.slice(1)) {
          const j = TIP[f.name];
          const d = Math.hypot(lm[o + 3 * j] - lm[o + 12], lm[o + 3 * j + 1] - lm[o + 13], lm[o + 3 * j + 2] - lm[o + 14]);
          if (!(d < 0.03)) continue;
          if (!placed) { for (let k = 0; k < kin.nq; k++) qq[k] = m.q[t * kin.nq + k]; kin.fk(qq); placed = true; }
          kin.pointWorld(model.fingers[0].tipLinkIndex, model.fingers[0].tipLocal, a);
          kin.pointWorld(f.tipLinkIndex, f.tipLocal, b);
          sum += Math.hypot(a[0] - b[0], a[1] - b[1], a[2] - b[2]); n++;
        }
      }
      const uc = await urdfContactFrames(robot, m.q, T);
      console.log(`| ${path.basename(file)} | ${h} | ${label} | ${(q.fingertip_error_mean_m * 1000).toFixed(2)} | ${n ? (sum / n * 1000).toFixed(1) : '-'} (${n}) | ${q.velocity_limit_violations} | ${uc.frames} (${uc.deepestMm.toFixed(1)}); without multi-axis pairs ${uc.framesNoMultiAxis} (${uc.deepestNoMultiAxisMm.toFixed(1)}) | ${q.collision_frames} (${(q.collision_max_depth_m * 1000).toFixed(1)}) | ${q.lag?.median_frames} | ${((c.user + c.system) / 1e6).toFixed(2)} |`);
    }
  }
}
console.log(`load average at the end: ${os.loadavg().map((x) => x.toFixed(1)).join(' ')}`);
