/** dex-retargeting's vector measure for the hand tests (test/retarget/hand-vectors.test.ts, hand-pinch.test.ts). */
import * as fs from 'node:fs';
import type { Kinematics } from '../../src/robot/kinematics.ts';
import { importPose } from '../../src/pose/import.ts';
import type { PoseTrack } from '../../src/pose/track.ts';

/**
 * Mean over frames and vectors of |robot (task - origin) - scale x human (j1 - j0)| (m), with the links, human indices
 * and scale of a dex-retargeting vector config; frames without a hand (null) are left out.
 */
export function vectorError(kin: Kinematics, q: Float32Array, frames: (number[][] | null)[], cfg: Record<string, any>): number {
  const nq = kin.nq, qq = new Float64Array(nq);
  const o = (cfg.target_origin_link_names as string[]).map((n) => kin.linkIndex(n));
  const k = (cfg.target_task_link_names as string[]).map((n) => kin.linkIndex(n));
  const [j0, j1] = cfg.target_link_human_indices as [number[], number[]];
  let sum = 0, n = 0;
  frames.forEach((h, t) => {
    if (!h) return;
    for (let d = 0; d < nq; d++) qq[d] = q[t * nq + d];
    kin.fk(qq);
    for (let v = 0; v < o.length; v++) {
      let e = 0;
      for (let c = 0; c < 3; c++) {
        const r = kin.pose[12 * k[v] + 9 + c] - kin.pose[12 * o[v] + 9 + c] - cfg.scaling_factor * (h[j1[v]][c] - h[j0[v]][c]);
        e += r * r;
      }
      sum += Math.sqrt(e); n++;
    }
  });
  return sum / n;
}

/** A hand keypoint file as the tests use it: the imported track and its raw frames (null where no hand). */
export function handKeypoints(file: string): { track: PoseTrack; frames: (number[][] | null)[] } {
  return { track: importPose(file), frames: (JSON.parse(fs.readFileSync(file, 'utf8')) as { frames: (number[][] | null)[] }).frames };
}
