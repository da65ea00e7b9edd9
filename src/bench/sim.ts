/**
 * The real outcome for the benchmark: simulation validation (src/sim `checkFeasibility`). Success = the
 * validation judged the motion feasible; its numeric metrics (one level of nesting flattened, e.g.
 * `assisted.residual_force_max`) become the continuous figures correlated with the quality metrics, and
 * the kinds of its failed checks (hard and soft) are kept per run.
 */
import type { UrdfRobot } from '../robot/urdf.ts';
import type { Outcome, OutcomeFn } from './run.ts';
import type { RobotMotion } from '../robot/motion.ts';
import type { StageValidation } from '../physics/index.ts';

export type SimMode = 'assisted' | 'unassisted' | 'both';

export function flattenNumbers(o: unknown, prefix = '', depth = 2, out: Record<string, number | null> = {}): Record<string, number | null> {
  if (!o || typeof o !== 'object' || Array.isArray(o) || ArrayBuffer.isView(o)) return out;
  for (const [k, v] of Object.entries(o as Record<string, unknown>)) {
    const key = prefix ? `${prefix}.${k}` : k;
    if (typeof v === 'number') out[key] = Number.isFinite(v) ? v : null;
    else if (typeof v === 'boolean') continue;
    else if (depth > 1) flattenNumbers(v, key, depth - 1, out);
  }
  return out;
}

/** An outcome function that validates each motion in simulation on `robot`. */
export async function simOutcome(robot: UrdfRobot, opts: { mode?: SimMode } = {}): Promise<OutcomeFn> {
  const { checkFeasibility } = await import('../sim/index.ts');
  const mode = opts.mode ?? 'both';
  const { reusableValidation } = await import('../physics/index.ts');
  const fn = async (motion: RobotMotion, prior?: StageValidation[]): Promise<Outcome> => {
    // The physics stage validated this very motion in this mode: its report is the outcome (validated once).
    const v = (prior ? reusableValidation(motion, { mode }, prior) : undefined) ?? await checkFeasibility(motion, robot, { mode });
    return {
      success: !!v.feasible,
      figures: flattenNumbers(v.metrics),
      reasons: v.reasons.map((r) => `${r.hard ? '' : '(soft) '}${r.kind}: ${r.message}`),
      checks: v.reasons.map((r) => r.kind),
    };
  };
  return Object.assign(fn, { validateMode: mode });
}
