/**
 * One call for the CLI and scripts: pick body or hand retargeting for a track and a robot, run it, and
 * write the result (reel2real motion .npz or the GMR-style variant).
 */
import type { PoseTrack } from '../pose/track.ts';
import type { UrdfRobot } from '../robot/urdf.ts';
import { UserError } from '../errors.ts';
import { saveMotion, type RobotMotion } from '../robot/motion.ts';
import { retarget, decimateTrack, type RetargetOptions } from './index.ts';
import { saveMotionGmr } from './gmr.ts';
import { fingerSolvers, isHandOnlyTrack, isHandRobot, retargetHand } from './hand/index.ts';

export interface RetargetFileOptions extends RetargetOptions {
  out?: string;
  format?: 'npz' | 'gmr';
}

export function retargetFile(track: PoseTrack, robot: UrdfRobot, opts: RetargetFileOptions): { motion: RobotMotion; kind: 'body' | 'hand' } {
  let motion: RobotMotion;
  let kind: 'body' | 'hand';
  if (isHandRobot(robot)) {
    if (!isHandOnlyTrack(track) && !track.jointNames.some((n) => n.includes('_hand_'))) {
      throw new UserError(`${robot.name} is a hand, but the track has no hand landmarks`, opts.file);
    }
    motion = retargetHand(decimateTrack(track, opts), robot);
    kind = 'hand';
  } else {
    if (isHandOnlyTrack(track)) throw new UserError(`the track has only hand landmarks; ${robot.name} needs a body track`, opts.file);
    motion = retarget(track, robot, { ...opts, fingers: opts.fingers ?? ((kin, map, tr) => fingerSolvers(kin, map.fingers, tr)) });
    kind = 'body';
  }
  if (opts.out) {
    if (opts.format === 'gmr') saveMotionGmr(opts.out, motion, robot);
    else saveMotion(opts.out, motion);
  }
  return { motion, kind };
}
