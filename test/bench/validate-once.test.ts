/**
 * `bench quality` validates a row's motion once: the physics stage validates its output in the outcome's mode, and
 * the validate outcome takes that report instead of validating the same motion again (as `run` does). Every call
 * of checkFeasibility goes through the counter below (the real validator runs).
 */
import { expect, it, vi } from 'vitest';
import type { ValidationCall } from '../helpers/count-validations.ts';

const calls = vi.hoisted(() => [] as ValidationCall[]);
vi.mock('../../src/sim/index.ts', async (orig) => (await import('../helpers/count-validations.ts')).countingSim(await orig(), calls));

import { builtinMotion } from '../../src/pose/builtin.ts';
import { loadUrdf } from '../../src/robot/urdf.ts';
import { evaluateTrack } from '../../src/bench/run.ts';
import { simOutcome } from '../../src/bench/sim.ts';
import { checkFeasibility } from '../../src/sim/index.ts';
import { describeShared, shared } from '../helpers/shared.ts';

const G1 = 'robots/unitree_g1/g1_29dof_rev_1_0.urdf';

describeShared('bench quality validates a row once (G1, built-in pick-and-place)', [G1], () => {
  it('the stage validates its corrected output in the outcome\'s mode; the outcome is that report, the same as validating again', async () => {
    const robot = loadUrdf(shared(G1));
    const outcome = await simOutcome(robot, { mode: 'assisted' });
    calls.length = 0;
    const row = await evaluateTrack(builtinMotion('pick-and-place'), robot, outcome, { clip: 'builtin:pick-and-place', degradation: 'none', level: 0 });
    expect(row.physics).toBe('corrected');
    // One validation of the output (the stage's, mode assisted); none repeated by the outcome.
    const modes = calls.map((c) => c.options.mode);
    const qs = new Set(calls.map((c) => c.motion.q));
    console.log('validations:', modes.join(', '));
    expect(calls.length).toBe(qs.size);
    expect(modes).toContain('assisted');
    expect(row.success).toBe(calls[calls.length - 1].report.feasible);
    // The same verdict as validating the stored motion again.
    const again = await checkFeasibility(calls[calls.length - 1].motion, robot, { mode: 'assisted' });
    expect(row.success).toBe(again.feasible);
    expect(row.outcome_reasons.length).toBe(again.reasons.length);
  }, 240_000);
});
