import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.ts';
import { describeShared, shared, PROJECT_ROOT } from '../helpers/shared.ts';
import { loadUrdf } from '../../src/robot/urdf.ts';
import { Kinematics } from '../../src/robot/kinematics.ts';

const HUMANOID = path.join(PROJECT_ROOT, 'robots/r2r_humanoid/r2r_humanoid.urdf');
const HAND = path.join(PROJECT_ROOT, 'robots/r2r_hand/r2r_hand.urdf');
const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'r2r-robot-'));

describe('robot inspect / fk on the project robots', () => {
  it('inspect --json lists joints with limits and mimics, links with masses, total mass', () => {
    const r = runCli(['robot', 'inspect', HAND, '--json']);
    expect(r.code).toBe(0);
    const s = JSON.parse(r.stdout);
    expect(s.name).toBe('r2r_hand');
    expect(s.root_link).toBe('palm');
    expect(s.dof).toBe(16);
    const dip = s.joints.find((j: any) => j.name === 'index_dip_joint');
    expect(dip.mimic).toEqual({ joint: 'index_pip_joint', multiplier: 0.8, offset: 0 });
    expect(dip).toMatchObject({ type: 'revolute', parent: 'index_middle', child: 'index_distal', lower: 0, upper: 1.4 });
    const sum = s.links.reduce((a: number, l: any) => a + l.mass, 0);
    expect(s.total_mass).toBeCloseTo(sum, 9);
    expect(s.total_mass).toBeGreaterThan(0.5);
  });

  it('humanoid: plausible mass, 29 dof, feet below the pelvis, arms symmetric', () => {
    const s = JSON.parse(runCli(['robot', 'inspect', HUMANOID, '--json']).stdout);
    expect(s.dof).toBe(29);
    expect(s.total_mass).toBeGreaterThan(30);
    expect(s.total_mass).toBeLessThan(80);
  });

  it('fk computes mimic joints from their leader and takes a list of configurations', () => {
    const dir = tmp();
    const q = path.join(dir, 'q.json');
    fs.writeFileSync(q, JSON.stringify([{}, { index_pip_joint: 1.0 }]));
    const r = runCli(['robot', 'fk', HAND, '--q', q, '--json']);
    expect(r.code).toBe(0);
    const { frames } = JSON.parse(r.stdout);
    expect(frames).toHaveLength(2);
    const tip0 = frames[0].index_tip.position;
    const tip1 = frames[1].index_tip.position;
    // Zero pose: the finger points straight along +Z from the palm.
    expect(tip0[1]).toBeCloseTo(0, 9);
    // Flexing PIP by 1 rad also flexes DIP by 0.8 rad (mimic): the distal link turns by 1.8 rad in total.
    const qd = frames[1].index_distal.quaternion;
    const angle = 2 * Math.acos(Math.min(1, Math.abs(qd[0])));
    expect(angle).toBeCloseTo(1.8, 6);
    expect(tip1[1]).toBeLessThan(-0.02); // curled toward the palm side (-Y)
    // Setting a mimic joint directly is refused.
    fs.writeFileSync(q, JSON.stringify({ index_dip_joint: 0.3 }));
    const bad = runCli(['robot', 'fk', HAND, '--q', q]);
    expect(bad.code).toBe(1);
    expect(bad.stderr.trim()).toMatch(/q\.json: .*mimic joint "index_dip_joint"/);
  });
});

describeShared('robot inspect on real robots', ['robots/unitree_g1/g1_29dof_rev_1_0.urdf', 'hands/inspire_right/inspire_hand_right.urdf', 'robots/unitree_h1/urdf/h1_original_package_uris.urdf'], () => {
  it('G1: 29 dof, pelvis root, mass ~35 kg', () => {
    const s = JSON.parse(runCli(['robot', 'inspect', shared('robots/unitree_g1/g1_29dof_rev_1_0.urdf'), '--json']).stdout);
    expect(s.dof).toBe(29);
    expect(s.root_link).toBe('pelvis');
    expect(s.total_mass).toBeGreaterThan(30);
    expect(s.total_mass).toBeLessThan(40);
    const knee = s.joints.find((j: any) => j.name === 'left_knee_joint');
    expect(knee.effort).toBeGreaterThan(0);
    expect(knee.velocity).toBeGreaterThan(0);
  });

  it('Inspire: 6 dof with 6 mimic joints', () => {
    const s = JSON.parse(runCli(['robot', 'inspect', shared('hands/inspire_right/inspire_hand_right.urdf'), '--json']).stdout);
    expect(s.dof).toBe(6);
    expect(s.joints.filter((j: any) => j.mimic).length).toBe(6);
  });

  it('package:// URIs resolve against the URDF location and an explicit search path', () => {
    const file = shared('robots/unitree_h1/urdf/h1_original_package_uris.urdf');
    const r = loadUrdf(file);
    const meshes = r.links.flatMap((l) => l.visuals).filter((v) => v.geometry.kind === 'mesh');
    expect(meshes.length).toBeGreaterThan(10);
    for (const v of meshes) if (v.geometry.kind === 'mesh') expect(fs.existsSync(v.geometry.file)).toBe(true);
    // A copy elsewhere cannot find its meshes unless the package path is given.
    const dir = tmp();
    const copy = path.join(dir, 'h1.urdf');
    fs.copyFileSync(file, copy);
    const res = runCli(['robot', 'inspect', copy]);
    expect(res.code).toBe(1);
    expect(res.stderr.trim()).toMatch(/h1\.urdf: .*mesh "package:\/\/h1_description\/meshes\/.*" not found/);
    const pkgParent = path.dirname(path.dirname(path.dirname(file))); // .../robots (holds unitree_h1 = the package dir)
    const h1Dir = path.dirname(path.dirname(file));
    const ok = loadUrdf(copy, { packagePaths: [h1Dir, pkgParent] });
    expect(new Kinematics(ok).nq).toBe(19);
    fs.rmSync(dir, { recursive: true, force: true });
  });
});

describe('bad URDF input: one line naming the file, exit 1, no stack trace', () => {
  const cases: [string, string, RegExp][] = [
    ['empty.urdf', '', /empty file/],
    ['truncated.urdf', '<robot name="x"><link name="a"/><joint name="j" type="revolute"><parent link="a"/>', /malformed XML/],
    ['notxml.urdf', 'hello world', /malformed XML|not a URDF/],
    ['wrongroot.urdf', '<sdf><model/></sdf>', /not a URDF: root element is <sdf>/],
    ['cycle.urdf', '<robot name="c"><link name="a"/><link name="b"/><joint name="j1" type="fixed"><parent link="a"/><child link="b"/></joint><joint name="j2" type="fixed"><parent link="b"/><child link="a"/></joint></robot>', /cycle/],
    ['nan.urdf', '<robot name="n"><link name="a"/><link name="b"/><joint name="j" type="revolute"><parent link="a"/><child link="b"/><origin xyz="0 NaN 0"/><limit lower="-1" upper="1" effort="1" velocity="1"/></joint></robot>', /origin xyz is not a finite number/],
    ['inf.urdf', '<robot name="n"><link name="a"><inertial><mass value="inf"/></inertial></link></robot>', /mass is not a finite number/],
    ['nolimit.urdf', '<robot name="n"><link name="a"/><link name="b"/><joint name="j" type="revolute"><parent link="a"/><child link="b"/></joint></robot>', /has no <limit>/],
    ['badlink.urdf', '<robot name="n"><link name="a"/><joint name="j" type="fixed"><parent link="a"/><child link="zz"/></joint></robot>', /child link "zz", which does not exist/],
    ['nomesh.urdf', '<robot name="n"><link name="a"><visual><geometry><mesh filename="meshes/missing.stl"/></geometry></visual></link></robot>', /mesh "meshes\/missing.stl" not found/],
    ['badmimic.urdf', '<robot name="n"><link name="a"/><link name="b"/><joint name="j" type="revolute"><parent link="a"/><child link="b"/><limit lower="-1" upper="1" effort="1" velocity="1"/><mimic joint="nope"/></joint></robot>', /mimics "nope", which does not exist/],
  ];
  for (const [name, text, re] of cases) {
    it(name, () => {
      const dir = tmp();
      const f = path.join(dir, name);
      fs.writeFileSync(f, text);
      const r = runCli(['robot', 'inspect', f, '--json']);
      expect(r.code).toBe(1);
      expect(r.stdout).toBe('');
      const lines = r.stderr.trim().split('\n');
      expect(lines).toHaveLength(1);
      expect(lines[0]).toContain(name);
      expect(lines[0]).toMatch(re);
      expect(lines[0]).not.toMatch(/at .*\.ts:\d+/);
    });
  }
  it('a missing file', () => {
    const r = runCli(['robot', 'inspect', '/nonexistent/robot.urdf']);
    expect(r.code).toBe(1);
    expect(r.stderr.trim()).toBe('reel2real: /nonexistent/robot.urdf: no such file');
  });
});
