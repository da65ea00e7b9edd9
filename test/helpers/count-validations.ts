/**
 * A counting checkFeasibility for tests that assert how often a motion is validated (the real validator runs). In
 * the test file:
 *
 *   const calls = vi.hoisted(() => [] as ValidationCall[]);
 *   vi.mock('../../src/sim/index.ts', async (orig) => (await import('../helpers/count-validations.ts')).countingSim(await orig(), calls));
 */
import type * as Sim from '../../src/sim/index.ts';
import type { RobotMotion } from '../../src/robot/motion.ts';

export interface ValidationCall { motion: RobotMotion; options: Sim.CheckOptions; report: Sim.ValidationReport }

export function countingSim(sim: typeof Sim, calls: ValidationCall[]): typeof Sim {
  return {
    ...sim,
    checkFeasibility: async (...args: Parameters<typeof sim.checkFeasibility>) => {
      const report = await sim.checkFeasibility(...args);
      calls.push({ motion: args[0], options: { ...(args[2] ?? {}) }, report });
      return report;
    },
  };
}
