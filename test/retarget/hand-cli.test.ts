/**
 * `reel2real retarget` with a hand-only track and a hand URDF goes to the hand retargeter: real CLI in a
 * child process, output read back by our loader and by numpy alone.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeShared, shared } from '../helpers/shared.ts';
import { runCli } from '../helpers/cli.ts';
import { pythonWith, runPython } from '../helpers/python.ts';
import { loadMotion } from '../../src/robot/motion.ts';
import { loadUrdf } from '../../src/robot/urdf.ts';
import { Kinematics } from '../../src/robot/kinematics.ts';

const KEYPOINTS = 'keypoints/dex_retargeting_human_joint_right.json';
const INSPIRE = 'hands/inspire_right/inspire_hand_right.urdf';
const BVH = 'motions/cmu_01_01_forward_jumps_turn_around.bvh';

describeShared('reel2real retarget: hand track onto a hand URDF', [KEYPOINTS, INSPIRE, BVH], () => {
  let dir: string;
  beforeAll(() => { dir = fs.mkdtempSync(path.join(os.tmpdir(), 'r2r-handcli-')); });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('writes a fixed-base motion of the actuated joints (mimic joints derived) and prints the hand quality report', (ctx) => {
    const out = path.join(dir, 'inspire.npz');
    const r = runCli(['retarget', shared(KEYPOINTS), '--robot', shared(INSPIRE), '--out', out, '--json']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const rep = JSON.parse(r.stdout);
    expect(rep.kind).toBe('hand');
    expect(rep.quality.kind).toBe('hand');
    expect(rep.quality.frames).toBe(621);
    expect(rep.quality.joint_limit_violations).toBe(0);
    expect(rep.quality.velocity_limit_violations).toBe(0);
    expect(rep.mapping.palm_link).toBe('hand_base_link');

    const m = loadMotion(out);
    const kin = new Kinematics(loadUrdf(shared(INSPIRE), { checkMeshes: false }));
    // Inspire: 12 revolute joints, 6 of them mimics → 6 columns.
    expect(m.jointNames).toEqual(kin.dofNames);
    expect(m.jointNames.length).toBe(6);
    expect(m.q.length).toBe(621 * 6);
    expect(Array.from(m.rootPos).every((v) => v === 0)).toBe(true);
    expect((m.quality as any).joint_limit_violations).toBe(0);
    // The fingers move: every finger's actuated joint spans a real range over the clip.
    for (let d = 0; d < 6; d++) {
      let lo = Infinity, hi = -Infinity;
      for (let t = 0; t < 621; t++) { lo = Math.min(lo, m.q[t * 6 + d]); hi = Math.max(hi, m.q[t * 6 + d]); }
      expect(hi - lo, m.jointNames[d]).toBeGreaterThan(0.2);
    }

    const py = pythonWith(['numpy']);
    if (!py) return ctx.skip('numpy check: no python3 with numpy (the checks above ran)');
    const txt = runPython(py, [
      'import sys, json, numpy as np',
      'f = np.load(sys.argv[1])',
      'meta = json.loads(f["meta.json"])',
      'print(json.dumps({"q": list(f["q"].shape), "dtype": str(f["q"].dtype), "quat0": f["root_quat"][0].tolist(), "kind": meta["kind"], "joints": meta["joint_names"]}))',
    ].join('\n'), [out]);
    const info = JSON.parse(txt);
    expect(info).toEqual({ q: [621, 6], dtype: 'float32', quat0: [1, 0, 0, 0], kind: 'robot-motion', joints: kin.dofNames });
  });

  it('a body-only track onto a hand URDF is a one-line user error and writes nothing', () => {
    const out = path.join(dir, 'bad.npz');
    const r = runCli(['retarget', shared(BVH), '--robot', shared(INSPIRE), '--out', out]);
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split('\n').length).toBe(1);
    expect(r.stderr).toMatch(/^reel2real: .*hand landmarks/);
    expect(fs.existsSync(out)).toBe(false);
  });
});
