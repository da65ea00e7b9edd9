import * as path from 'node:path';
import type { CommandModule } from 'yargs';
import { UserError } from '../../errors.ts';
import { checkFeasibilityFiles, type ValidationReport } from '../../sim/index.ts';
import { Progress } from '../progress.ts';

export const command: CommandModule = {
  command: 'validate <motion>',
  describe: 'Is a robot motion physically feasible for the robot? Limits, self-collision, inverse-dynamics torques, ZMP, friction, and PD tracking in a closed-loop simulation (own articulated dynamics by default; Rapier with sim.joints); prints every reason with its frames',
  builder: (y) =>
    y
      .positional('motion', { type: 'string', demandOption: true, describe: 'robot motion .npz (from `reel2real retarget`)' })
      .option('robot', { type: 'string', demandOption: true, describe: 'the robot URDF' })
      .option('mode', { choices: ['assisted', 'unassisted', 'both'] as const, default: 'both', describe: 'closed-loop simulation: assisted (residual force), unassisted (does it stay up), or both' })
      .option('config', { type: 'string', describe: 'YAML overriding configs/validation.yaml (any subset of its keys)' })
      .option('json', { type: 'boolean', default: false, describe: 'print the full report as JSON' })
      .example('$0 validate walk.npz --robot g1.urdf --json', 'full report: feasible, reasons, metrics, events, sim')
      .epilog('Exit code 0 whether the motion is feasible or not; non-zero only when the inputs cannot be read.'),
  handler: async (argv) => {
    const motion = String(argv.motion);
    const mode = String(argv.mode) as 'assisted' | 'unassisted' | 'both';
    if (!['assisted', 'unassisted', 'both'].includes(mode)) throw new UserError(`--mode must be assisted, unassisted or both`);
    // Inverse dynamics and the closed-loop runs take tens of seconds on a long clip: on a terminal, say what is
    // going on (a status line on stderr, cleared when the report prints; logs get the report alone).
    const progress = new Progress();
    if (process.stderr.isTTY) progress.update(`validate ${path.basename(motion)}`, 0, 0, `inverse dynamics and closed loop (${mode})…`);
    let report: ValidationReport;
    try {
      report = await checkFeasibilityFiles(motion, String(argv.robot), { mode, config: argv.config ? String(argv.config) : null });
    } finally {
      progress.done();
    }
    process.stdout.write(argv.json ? JSON.stringify(report, null, 2) + '\n' : formatValidation(motion, report));
  },
};

/** A validation report in a few lines: the verdict, each reason (x hard, ! soft) with its first frames, the sim. */
export function formatValidation(motion: string, r: ValidationReport): string {
  const lines = [`${motion}: ${r.feasible ? 'FEASIBLE' : 'NOT FEASIBLE'}`];
  for (const reason of r.reasons ?? []) {
    const fr = reason.frames.slice(0, 4).map(([a, b]) => (a === b ? `${a}` : `${a}-${b}`)).join(', ');
    lines.push(`  ${reason.hard ? 'x' : '!'} ${reason.message} [frames ${fr}${reason.frames.length > 4 ? ', ...' : ''}]`);
  }
  const s = r.sim;
  if (!s) return lines.join('\n') + '\n';
  // Timing fields are absent from stored reports (the store keeps what reproduces).
  lines.push(`  sim: ${s.engine ?? s.joints} engine (${s.self_contacts ? 'self-contact simulated' : 'no self-contact'}), dt ${s.dt} s, ${s.steps} steps${s.steps_per_second === undefined ? '' : `, ${s.steps_per_second} steps/s`}${s.realtime_factor === undefined ? '' : `, ${s.realtime_factor}x real time`}, joint drift ${s.joint_drift_mm} mm`);
  return lines.join('\n') + '\n';
}
