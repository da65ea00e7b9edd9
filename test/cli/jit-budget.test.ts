/**
 * bin/reel2real.js raises V8's optimisation budget (less compiler time for short commands). What code V8 runs a
 * function in must not change a result: a real 2-frame retarget onto G1 (physics stage included) writes the same
 * motion with the CLI's budget and with node's default one (given to node, which the CLI then keeps).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { afterAll, expect, it } from 'vitest';
import { loadMotion } from '../../src/robot/motion.ts';
import { describeShared, PROJECT_ROOT, shared } from '../helpers/shared.ts';

const G1 = 'robots/unitree_g1/g1_29dof_rev_1_0.urdf';
const WALK = 'motions/cmu_small_gods_game/cmu_104_02_neutral_male_walk.bvh';
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'r2r-jit-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describeShared('the CLI\'s V8 budget', [G1, WALK], () => {
  it('a G1 retarget of a real clip writes the same motion with node\'s default budget and the CLI\'s', () => {
    // The BVH's header and its first three frames (the first, a T-pose, is dropped by the reader): 2 frames.
    const lines = fs.readFileSync(shared(WALK), 'utf8').split('\n');
    const at = lines.findIndex((l) => l.startsWith('Frame Time'));
    const clip = path.join(dir, 'walk3f.bvh');
    fs.writeFileSync(clip, [...lines.slice(0, at).map((l) => (l.startsWith('Frames:') ? 'Frames: 3' : l)), ...lines.slice(at, at + 4)].join('\n') + '\n');
    const run = (nodeArgs: string[], out: string) => {
      const r = spawnSync(process.execPath, [...nodeArgs, path.join(PROJECT_ROOT, 'bin', 'reel2real.js'), 'retarget', clip, '--robot', shared(G1), '--out', out], { encoding: 'utf8' });
      expect(r.status, r.stderr).toBe(0);
      return loadMotion(out);
    };
    const cli = run([], path.join(dir, 'cli.npz'));
    const dflt = run(['--interrupt-budget=67584'], path.join(dir, 'default.npz'));
    expect(cli.timestamps.length).toBe(2);
    expect(Array.from(cli.q)).toEqual(Array.from(dflt.q));
    expect(Array.from(cli.rootPos)).toEqual(Array.from(dflt.rootPos));
    expect(Array.from(cli.rootQuat)).toEqual(Array.from(dflt.rootQuat));
    expect(Object.keys(cli.extras ?? {}).sort()).toEqual(Object.keys(dflt.extras ?? {}).sort());
    for (const k of Object.keys(cli.extras ?? {})) expect(Array.from(cli.extras![k].data as ArrayLike<number>), k).toEqual(Array.from(dflt.extras![k].data as ArrayLike<number>));
    expect(cli.meta?.physics).toEqual(dflt.meta?.physics);
  }, 60_000);
});
