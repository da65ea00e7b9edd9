/**
 * The disk cache of capsules fitted to collision meshes (src/retarget/proxies.ts, entries under
 * $REEL2REAL_CACHE_DIR/capsules): a retarget with the cache cold, warm or damaged is the retarget without it, to
 * the bit, on real clips onto H1, G1 and T1 (H1's and T1's collision shapes are primitives: no entry is written;
 * G1's are meshes). Timings in the quality report are the only fields allowed to differ.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeShared, shared } from '../helpers/shared.ts';
import { importPose } from '../../src/pose/import.ts';
import { loadUrdf } from '../../src/robot/urdf.ts';
import { Kinematics } from '../../src/robot/kinematics.ts';
import { retarget } from '../../src/retarget/index.ts';
import { buildProxies, forgetMeshCapsules, readFit, writeFit } from '../../src/retarget/proxies.ts';
import type { RobotMotion } from '../../src/robot/motion.ts';

const CLIP = 'motions/cmu_small_gods_game/cmu_62_07_hammering_a_nail.bvh';
const ROBOTS = {
  h1: 'robots/unitree_h1/urdf/h1.urdf',
  g1: 'robots/unitree_g1/g1_29dof_rev_1_0.urdf',
  t1: 'robots/booster_t1/T1_serial.urdf',
};
let dir = '';
const saved = { dir: process.env.REEL2REAL_CACHE_DIR, off: process.env.REEL2REAL_NO_CAPSULE_CACHE };
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'r2r-capsules-'));
  process.env.REEL2REAL_CACHE_DIR = dir;
});
afterAll(() => {
  if (saved.dir === undefined) delete process.env.REEL2REAL_CACHE_DIR; else process.env.REEL2REAL_CACHE_DIR = saved.dir;
  if (saved.off === undefined) delete process.env.REEL2REAL_NO_CAPSULE_CACHE; else process.env.REEL2REAL_NO_CAPSULE_CACHE = saved.off;
  forgetMeshCapsules();
  fs.rmSync(dir, { recursive: true, force: true });
});

const entries = (): string[] => (fs.existsSync(path.join(dir, 'capsules')) ? fs.readdirSync(path.join(dir, 'capsules')).filter((f) => f.endsWith('.bin')) : []);
const TIMING = new Set(['solve_seconds', 'solve_cpu_seconds', 'frames_per_second', 'frames_per_cpu_second']);
/** Every typed array as its bytes, everything else as JSON without the timing fields. */
function fingerprint(m: RobotMotion): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(m)) {
    out[k] = ArrayBuffer.isView(v) ? Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('base64')
      : JSON.stringify(v, (key, x) => (TIMING.has(key) ? undefined : x));
  }
  return out;
}


describeShared('capsule cache: retarget outputs identical with and without it (H1, G1, T1, real clip)', [CLIP, ...Object.values(ROBOTS)], () => {
  const track = importPose(shared(CLIP));
  for (const [name, file] of Object.entries(ROBOTS)) {
    it(`${name}: no cache, cold cache, warm cache and damaged entries give the same motion to the bit`, () => {
      const robot = loadUrdf(shared(file));
      const run = (): Record<string, string> => { forgetMeshCapsules(); return fingerprint(retarget(track, robot, { duration: 0.5 })); };
      const before = new Set(entries());
      process.env.REEL2REAL_NO_CAPSULE_CACHE = '1';
      const ref = run();
      expect(entries().length).toBe(before.size);
      delete process.env.REEL2REAL_NO_CAPSULE_CACHE;
      const cold = run();
      const written = entries().filter((f) => !before.has(f));
      const meshes = robot.links.flatMap((l) => l.collisions).filter((c) => c.geometry.kind === 'mesh').length;
      if (name === 'g1') expect(written.length).toBeGreaterThan(10);
      else expect(meshes).toBe(0);
      expect(cold).toEqual(ref);
      const warm = run();
      expect(warm).toEqual(ref);
      if (written.length) {
        // Damaged entries: truncated, foreign, a plausible header with a non-finite radius. Each is a miss,
        // recomputed and rewritten.
        written.forEach((f, i) => {
          const p = path.join(dir, 'capsules', f);
          const bytes = fs.readFileSync(p);
          if (i % 3 === 0) fs.writeFileSync(p, bytes.subarray(0, bytes.length - 3));
          else if (i % 3 === 1) fs.writeFileSync(p, 'damaged');
          else { bytes.writeDoubleLE(Number.NaN, bytes.length - 8); fs.writeFileSync(p, bytes); }
          expect(readFit(p)).toBeNull();
        });
        expect(run()).toEqual(ref);
        for (const f of written) expect(readFit(path.join(dir, 'capsules', f))).not.toBeNull();
      }
    });
  }

  it('g1: the cache is what is read — a warm entry changed on disk changes the fitted capsule', () => {
    const robot = loadUrdf(shared(ROBOTS.g1));
    const kin = new Kinematics(robot);
    forgetMeshCapsules();
    const ref = buildProxies(kin);
    // Every entry changed (the directory's order is the file system's, and not every entry's mesh need end up a
    // capsule of its own): some fitted capsule must come back 0.5 m wider.
    const files = entries().map((f) => path.join(dir, 'capsules', f));
    expect(files.length).toBeGreaterThan(0);
    const fits = files.map((p) => readFit(p)!);
    files.forEach((p, i) => writeFit(p, { ...fits[i], radius: fits[i].radius + 0.5 }));
    forgetMeshCapsules();
    const changed = buildProxies(kin);
    expect(changed.capsules.some((c, i) => Math.abs(c.radius - (ref.capsules[i]?.radius + 0.5)) < 1e-9)).toBe(true);
    files.forEach((p, i) => writeFit(p, fits[i]));
    forgetMeshCapsules();
    expect(buildProxies(kin)).toEqual(ref);
  });
});
