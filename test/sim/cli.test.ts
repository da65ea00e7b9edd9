/** `reel2real validate` as a user runs it: real CLI process, real motion file, real URDF. */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { loadUrdf } from '../../src/robot/urdf.ts';
import { saveMotion } from '../../src/robot/motion.ts';
import { setJoints, standingMotion } from '../../src/sim/synthetic.ts';
import { moduleLog, runCli } from '../helpers/cli.ts';
import { describeShared, shared } from '../helpers/shared.ts';

const H1 = 'robots/unitree_h1/urdf/h1.urdf';
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'r2r-validate-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

describeShared('reel2real validate (CLI)', [H1], () => {
  let good = '', bad = '';
  let stand: Awaited<ReturnType<typeof standingMotion>>;
  beforeAll(async () => {
    const robot = loadUrdf(shared(H1));
    stand = await standingMotion(robot, 0.5, 50);
    good = path.join(tmp, 'stand.npz');
    saveMotion(good, stand);
    bad = path.join(tmp, 'knee.npz');
    saveMotion(bad, setJoints(stand, { left_knee_joint: 2.6 }, 0, 0));
  });

  it('--json prints the full report; a feasible motion exits 0', () => {
    const r = runCli(['validate', good, '--robot', shared(H1), '--mode', 'assisted', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const rep = JSON.parse(r.stdout);
    expect(rep.feasible).toBe(true);
    expect(rep.reasons).toEqual([]);
    expect(Object.keys(rep).sort()).toEqual(['events', 'feasible', 'metrics', 'reasons', 'sim']);
    for (const k of ['dt', 'substeps', 'steps_per_second', 'realtime_factor', 'joint_drift_mm']) expect(typeof rep.sim[k], k).toBe('number');
    expect(rep.sim.steps_per_second).toBeGreaterThan(0);
  });

  it('Rapier is loaded only when a check needs it: not for a standing H1 (primitive shapes, no parts near each other), yes for an arm through the pelvis', () => {
    const log = moduleLog(tmp);
    const rapierLoaded = (stderr: string): boolean => log.loaded(stderr).some((m) => m.includes('/@dimforge/rapier3d-compat/'));
    const r = runCli(['validate', good, '--robot', shared(H1), '--mode', 'assisted', '--json'], { env: log.env });
    expect(r.code).toBe(0);
    expect(log.loaded(r.stderr).some((m) => m.includes('/sim/selfcollision.'))).toBe(true); // the hook saw the modules
    expect(rapierLoaded(r.stderr)).toBe(false);
    const rep = JSON.parse(r.stdout);
    expect(rep.feasible).toBe(true);
    expect(rep.metrics.self_collision.max_depth_m).toBe(0);
    const arm = path.join(tmp, 'arm.npz');
    saveMotion(arm, setJoints(stand, { left_shoulder_roll_joint: -0.34, left_shoulder_yaw_joint: 1.3, left_elbow_joint: 2.0 }, 0, 0));
    const a = runCli(['validate', arm, '--robot', shared(H1), '--mode', 'assisted', '--json'], { env: log.env });
    expect(a.code).toBe(0);
    expect(rapierLoaded(a.stderr)).toBe(true);
    const ra = JSON.parse(a.stdout);
    expect(ra.feasible).toBe(false);
    expect(ra.reasons.map((x: { kind: string }) => x.kind)).toContain('self_collision');
    expect(ra.metrics.self_collision.pair).toBe('pelvis / left_elbow_link');
    expect(ra.metrics.self_collision.max_depth_m).toBeGreaterThan(0.02);
  });

  it('an infeasible motion also exits 0, with reasons and events naming frames', () => {
    const r = runCli(['validate', bad, '--robot', shared(H1), '--mode', 'assisted', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const rep = JSON.parse(r.stdout);
    expect(rep.feasible).toBe(false);
    const jp = rep.reasons.find((x: { kind: string }) => x.kind === 'joint_position');
    expect(jp.message).toMatch(/left_knee_joint/);
    expect(jp.frames).toEqual([[0, 25]]);
    expect(rep.events[0]).toMatchObject({ frame: 0, kind: 'joint_position' });
  });

  it('bad input is one error line naming the file, exit 1, nothing on stdout', () => {
    const missing = runCli(['validate', path.join(tmp, 'nope.npz'), '--robot', shared(H1)]);
    expect(missing.code).toBe(1);
    expect(missing.stdout).toBe('');
    expect(missing.stderr.trim()).toMatch(/^reel2real: .*nope\.npz: no such file$/);
    // A motion for another robot: its root link (and joints) are not the URDF's.
    const other = path.join(tmp, 'other.npz');
    fs.copyFileSync(good, other);
    const wrongRobot = runCli(['validate', other, '--robot', shared('hands/allegro_right/allegro_hand_right.urdf')]);
    expect(wrongRobot.code).toBe(1);
    // (The motion records the URDF it was made for: that mismatch is named first, issue 16 item 14.)
    expect(wrongRobot.stderr).toMatch(/other\.npz: the motion was made for robot h1_description with a URDF of sha256 \w+…, not this URDF \(allegro_right/);
    const cfg = path.join(tmp, 'typo.yaml');
    fs.writeFileSync(cfg, 'checks:\n  torqe: { factor: 2 }\n');
    const typo = runCli(['validate', good, '--robot', shared(H1), '--config', cfg]);
    expect(typo.code).toBe(1);
    expect(typo.stderr).toMatch(/typo\.yaml: unknown setting "checks\.torqe"/);
  });

  it('--config overrides a threshold (text summary): a looser joint tolerance drops the joint-limit reason', () => {
    const cfg = path.join(tmp, 'loose.yaml');
    fs.writeFileSync(cfg, 'checks:\n  joint_position: { tolerance: 1.0 }\n');
    const r = runCli(['validate', bad, '--robot', shared(H1), '--mode', 'assisted', '--config', cfg]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^\S*knee\.npz: (NOT )?FEASIBLE\n/);
    expect(r.stdout).not.toMatch(/joint position beyond/);
    expect(r.stdout).toMatch(/sim: articulated engine \(no self-contact\), dt 0\.005 s, \d+ steps, \d+ steps\/s/);
  });
});
