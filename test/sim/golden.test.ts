/**
 * Same inputs → same report: retargeted real clips (CMU walk on H1 and T1, CMU hammering on G1, 2 s each, at
 * 50 fps; a finger curl on the Allegro hand), stored as motion files in test/sim/golden/, against the reports
 * the validator gave for them, stored beside them (generated with the code of the commit named in
 * test/sim/golden/README.md). Everything must match except the wall-clock figures (steps per second,
 * real-time factor) and the report fields added since (listed in ADDED, with their expected values), unless a
 * change of the physics is listed in CHANGED with the reason.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadUrdf } from '../../src/robot/urdf.ts';
import { loadMotion } from '../../src/robot/motion.ts';
import { checkFeasibility, type ValidationReport } from '../../src/sim/index.ts';
import { describeShared, shared } from '../helpers/shared.ts';

const DIR = path.join(path.dirname(new URL(import.meta.url).pathname), 'golden');

const CASES: { name: string; urdf: string; motion?: string; overrides?: Record<string, unknown> }[] = [
  { name: 'h1_cmu_104_02_walk', urdf: 'robots/unitree_h1/urdf/h1.urdf' },
  { name: 'g1_cmu_62_07_hammering', urdf: 'robots/unitree_g1/g1_29dof_rev_1_0.urdf' },
  { name: 't1_cmu_104_02_walk', urdf: 'robots/booster_t1/T1_serial.urdf' },
  { name: 'allegro_curl', urdf: 'hands/allegro_right/allegro_hand_right.urdf' },
];

/** The report without its wall-clock figures and without the fields added since the golden reports. */
function comparable(r: ValidationReport | Record<string, unknown>): unknown {
  const c = JSON.parse(JSON.stringify(r));
  delete c.sim.steps_per_second;
  delete c.sim.realtime_factor;
  delete c.sim.engine;
  delete c.sim.self_contacts;
  return c;
}

for (const c of CASES) {
  describeShared(`golden report: ${c.name}`, [c.urdf], () => {
    it('same report as before (except wall-clock figures)', async () => {
      const file = path.join(DIR, `${c.motion ?? c.name}.npz`);
      const r = await checkFeasibility(loadMotion(file), loadUrdf(shared(c.urdf)), { mode: 'both', file, overrides: c.overrides });
      const golden = JSON.parse(fs.readFileSync(path.join(DIR, `${c.name}.report.json`), 'utf8'));
      expect(r.sim.engine).toBe(c.overrides ? 'rapier-multibody' : 'articulated');
      expect(r.sim.self_contacts).toBe(!!c.overrides);
      expect(comparable(r)).toEqual(comparable(golden));
    });
  });
}

describe('golden fixtures', () => {
  it('every case has its motion and report', () => {
    for (const c of CASES) {
      expect(fs.existsSync(path.join(DIR, `${c.motion ?? c.name}.npz`)), c.name).toBe(true);
      expect(fs.existsSync(path.join(DIR, `${c.name}.report.json`)), c.name).toBe(true);
    }
  });
});
