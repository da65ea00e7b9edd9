/**
 * The mesh-hull cache (src/sim/hullcache.ts): a geometry built from cached hulls is the geometry built from the
 * meshes, a damaged entry is recomputed, and an entry is keyed by the mesh file's size and modification time.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadUrdf } from '../../src/robot/urdf.ts';
import { robotGeometry, type RobotGeometry } from '../../src/sim/geometry.ts';
import { hullCacheFile, readHulls, writeHulls } from '../../src/sim/hullcache.ts';
import { describeShared, shared } from '../helpers/shared.ts';

const G1 = 'robots/unitree_g1/g1_29dof_rev_1_0.urdf';
let dir = '';
const saved = { dir: process.env.REEL2REAL_CACHE_DIR, off: process.env.REEL2REAL_NO_HULL_CACHE };
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'r2r-hulls-'));
  process.env.REEL2REAL_CACHE_DIR = dir;
});
afterAll(() => {
  if (saved.dir === undefined) delete process.env.REEL2REAL_CACHE_DIR; else process.env.REEL2REAL_CACHE_DIR = saved.dir;
  if (saved.off === undefined) delete process.env.REEL2REAL_NO_HULL_CACHE; else process.env.REEL2REAL_NO_HULL_CACHE = saved.off;
  fs.rmSync(dir, { recursive: true, force: true });
});

const hullsOf = (g: RobotGeometry): Float32Array[] => g.bodies.flatMap((b) => b.shapes.flatMap((s) => (s.kind === 'hull' ? [s.points] : [])));
const entries = (): string[] => (fs.existsSync(path.join(dir, 'hulls')) ? fs.readdirSync(path.join(dir, 'hulls')).filter((f) => f.endsWith('.bin')) : []);

describe('hull cache entries', () => {
  it('round-trip exactly; a truncated or foreign file reads as a miss; the key follows the file\'s size and mtime', () => {
    const file = path.join(dir, 'x.bin');
    const hulls = [Float32Array.from([0, 1, 2, 3.5, -4, 5e-7]), Float32Array.from([9, 8, 7])];
    writeHulls(file, hulls);
    expect(readHulls(file)).toEqual(hulls);
    const bytes = fs.readFileSync(file);
    fs.writeFileSync(file, bytes.subarray(0, bytes.length - 2));
    expect(readHulls(file)).toBeNull();
    fs.writeFileSync(file, 'not a hull file');
    expect(readHulls(file)).toBeNull();
    const mesh = path.join(dir, 'm.stl');
    fs.writeFileSync(mesh, 'solid x');
    const k1 = hullCacheFile(mesh, [1, 1, 1], [1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0], [1]);
    fs.utimesSync(mesh, new Date(), new Date(Date.now() + 5000));
    const k2 = hullCacheFile(mesh, [1, 1, 1], [1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0], [1]);
    expect(k1).not.toBeNull();
    expect(k2).not.toBe(k1);
    expect(hullCacheFile(path.join(dir, 'missing.stl'), [1, 1, 1], [], [1])).toBeNull();
  });
});

describeShared('hull cache on a real robot (G1)', [G1], () => {
  it('the geometry from cached hulls equals the one from the meshes; damaged entries are recomputed', async () => {
    const robot = loadUrdf(shared(G1));
    // Distinct defaultMass values only defeat the in-process geometry cache; hulls do not depend on them.
    process.env.REEL2REAL_NO_HULL_CACHE = '1';
    const ref = hullsOf(await robotGeometry(robot, { defaultMass: 0.0501 }));
    expect(ref.length).toBeGreaterThan(10);
    expect(entries()).toEqual([]);
    delete process.env.REEL2REAL_NO_HULL_CACHE;
    const cold = hullsOf(await robotGeometry(robot, { defaultMass: 0.0502 }));
    const written = entries();
    expect(written.length).toBeGreaterThan(10);
    expect(cold).toEqual(ref);
    const warm = hullsOf(await robotGeometry(robot, { defaultMass: 0.0503 }));
    expect(warm).toEqual(ref);
    for (const f of written) fs.writeFileSync(path.join(dir, 'hulls', f), 'damaged');
    const again = hullsOf(await robotGeometry(robot, { defaultMass: 0.0504 }));
    expect(again).toEqual(ref);
    for (const f of written) expect(readHulls(path.join(dir, 'hulls', f))).not.toBeNull();
  });
});
