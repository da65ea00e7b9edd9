/**
 * Where `retarget`'s fixed cost goes, phase by phase in one process, on the compiled dist/ (as users run it):
 * importing the command's modules, reading the clip and the URDF, building the problem (mapping, targets,
 * collision proxies: capsules fitted to meshes, cached on disk), solving the sequence (the first frame from
 * five starts, then each frame; a second pass with the smoothed balance), the rest of retarget (smoothing, the
 * quality report), the physics stage and writing the motion. Wall and CPU per phase (this process).
 *
 *   npx tsx benchmarks/startup/retarget-phases.ts <clip.bvh> <robot.urdf> [checkout dir, default this one]
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { PROJECT_ROOT } from '../../test/helpers/shared.ts';

const [clip, urdf] = process.argv.slice(2);
if (!clip || !urdf) throw new Error('usage: retarget-phases.ts <clip> <robot.urdf> [checkout dir]');
const root = path.resolve(process.argv[4] ?? PROJECT_ROOT);
const cpu = (): number => { const u = process.cpuUsage(); return (u.user + u.system) / 1000; };
let w0 = performance.now(), c0 = cpu();
const lap = (what: string): void => {
  const w = performance.now(), c = cpu();
  console.log(`${what.padEnd(48)} ${(w - w0).toFixed(0).padStart(6)} ms wall ${(c - c0).toFixed(0).padStart(6)} ms CPU`);
  w0 = w; c0 = c;
};
const d = (m: string) => import(path.join(root, 'dist', m));
const [{ importPose }, { loadUrdf }, { buildProblem }, { solveSequence }, { retarget }, { fingerSolvers }, { physicsCorrect }, { saveMotion }] = await Promise.all([
  d('pose/import.js'), d('robot/urdf.js'), d('retarget/problem.js'), d('retarget/sequence.js'), d('retarget/index.js'), d('retarget/hand/index.js'), d('physics/index.js'), d('robot/motion.js'),
]);
lap('import the command\'s modules');
const track = importPose(clip);
lap('read the clip');
const robot = loadUrdf(urdf);
lap('read the URDF');
const opts = { fingers: (kin: unknown, map: { fingers: unknown }, tr: unknown) => fingerSolvers(kin, map.fingers, tr) };
const problem = buildProblem(track, robot, opts);
lap('build the problem (incl. collision proxies)');
solveSequence(problem, opts);
lap('solve the sequence (the same, once)');
const motion = retarget(track, robot, opts);
lap('retarget() again: problem, solve, report (warm)');
const p = await physicsCorrect(motion, robot, { file: clip });
lap('physics stage');
const out = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'r2r-phases-')), 'r.npz');
saveMotion(out, p.motion);
lap('write the motion');
fs.rmSync(path.dirname(out), { recursive: true, force: true });
