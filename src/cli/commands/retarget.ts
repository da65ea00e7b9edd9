import type { CommandModule } from 'yargs';
import * as path from 'node:path';
import { UserError } from '../../errors.ts';
import { importPose } from '../../pose/import.ts';
import { loadUrdf } from '../../robot/urdf.ts';
import { retargetFile } from '../../retarget/run.ts';
import { saveMotion } from '../../robot/motion.ts';
import { saveMotionGmr } from '../../retarget/gmr.ts';
import { physicsCorrect, type PhysicsReport } from '../../physics/index.ts';

export const command: CommandModule = {
  command: 'retarget <input>',
  describe: 'Retarget a human pose track (or any file `pose import` reads) onto a robot URDF: body, and fingers where the robot has hands',
  builder: (y) =>
    y
      .positional('input', { type: 'string', demandOption: true, describe: 'pose track .npz, BVH, TRC, landmark JSON/.npy, ...' })
      .option('robot', { type: 'string', demandOption: true, describe: 'robot URDF (humanoid, humanoid with hands, or a bare hand)' })
      .option('config', { type: 'string', describe: 'robot config YAML overriding discovery, weights, scales, home pose (never required)' })
      .option('out', { type: 'string', demandOption: true, describe: 'output motion .npz' })
      .option('format', { choices: ['npz', 'gmr'] as const, default: 'npz', describe: 'npz: reel2real robot motion; gmr: GMR-style fields (root_rot in x,y,z,w)' })
      .option('fps', { type: 'number', describe: 'output frame rate (frames are taken from the input at this rate; default: the input\'s)' })
      .option('source-fps', { type: 'number', describe: 'frame rate of an input that does not state one (.npy, plain JSON keypoints)' })
      .option('start', { type: 'number', describe: 'start time in seconds' })
      .option('duration', { type: 'number', describe: 'duration in seconds' })
      .option('self-collision', { type: 'boolean', default: true, describe: 'self-collision avoidance (--no-self-collision turns it off)' })
      .option('physics', { choices: ['on', 'off'] as const, default: 'on', describe: 'physics-consistent stage: the output is the simulated motion of a balance-aware tracking controller (the kinematic retarget kept as reference_*); off: the kinematic retarget' })
      .option('json', { type: 'boolean', default: false, describe: 'print the quality report and throughput as JSON' })
      .example('$0 retarget walk.bvh --robot g1.urdf --out walk.g1.npz', 'retarget a mocap clip onto the G1')
      .example('$0 retarget walk.bvh --robot g1.urdf --out walk.pkl.npz --format gmr --json', 'GMR-style output, report as JSON'),
  handler: async (argv) => {
    const input = String(argv.input);
    const out = String(argv.out);
    if (!/\.npz$/i.test(out)) throw new UserError('output must end in .npz', out);
    const sourceFps = argv['source-fps'] as number | undefined;
    if (sourceFps !== undefined && !(sourceFps > 0)) throw new UserError(`--source-fps must be a positive number, got ${sourceFps}`);
    const track = importPose(input, sourceFps !== undefined ? { sourceFps } : {});
    const robot = loadUrdf(String(argv.robot));
    const r = retargetFile(track, robot, {
      config: argv.config as string | undefined,
      fps: argv.fps as number | undefined,
      start: argv.start as number | undefined,
      duration: argv.duration as number | undefined,
      selfCollision: argv['self-collision'] as boolean,
      file: input,
    });
    let physics: PhysicsReport | null = null;
    if (argv.physics === 'on') {
      const p = await physicsCorrect(r.motion, robot, { file: input });
      r.motion = p.motion;
      physics = p.report;
    }
    if (argv.format === 'gmr') saveMotionGmr(out, r.motion, robot);
    else saveMotion(out, r.motion);
    if (argv.json) {
      process.stdout.write(JSON.stringify({ output: out, format: argv.format, robot: robot.name, kind: r.kind, quality: r.motion.quality, mapping: r.motion.mapping, physics: r.motion.meta?.physics ?? null }, null, 2) + '\n');
    } else {
      const q = r.motion.quality as Record<string, any>;
      const lines = [
        `${path.basename(input)} → ${robot.name} (${r.kind}): ${q.frames} frames at ${q.fps} fps, ${q.frames_per_second} frames/s solved`,
        `  keypoint error mean ${fmt(q.keypoint_error_mean_m ?? q.tip_error_mean_m, 3)} m, limit violations ${q.joint_limit_violations}, velocity violations ${q.velocity_limit_violations}`,
      ];
      if (r.kind === 'body') {
        lines.push(`  self-collision ${q.self_collision_frames} frames (deepest ${fmt(q.self_collision_max_depth_m * 100, 2)} cm), ground penetration ${fmt(q.ground_penetration_max_m * 100, 2)} cm`);
        lines.push(`  stance skate ${fmt(q.stance_skate_mean_cm_s, 2)} cm/s mean, ${q.skate_frames ?? 0} skating frames, floating ${fmt(q.stance_float_mean_cm, 2)} cm mean, max joint jump ${fmt(q.max_joint_jump_rad, 3)} rad`);
      }
      if (physics) {
        const d = physics.deviation;
        lines.push(`  physics (${physics.engine}): ${physics.status}${d ? `, max change ${fmt(d.max_change_m * 100, 1)} cm, stance feet ${fmt(d.stance_foot.max_m * 100, 1)} cm, heading ${fmt(d.heading.max_deg, 1)} deg` : ''}`);
        for (const reason of physics.reasons) lines.push(`    ${reason.kind}: ${reason.message}`);
      }
      lines.push(`  wrote ${out}`);
      process.stdout.write(lines.join('\n') + '\n');
    }
  },
};

function fmt(x: unknown, d: number): string {
  return typeof x === 'number' && Number.isFinite(x) ? x.toFixed(d) : String(x);
}
