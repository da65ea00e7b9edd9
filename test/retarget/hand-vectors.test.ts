/**
 * Hands on dex-retargeting's own vector measure (issue 15): for each hand's `teleop_vector_*.yml` from
 * ../shared/data, the mean over frames and vectors of |robot (task link − origin link) − scaling_factor ×
 * human (j1 − j0)|, robot at its URDF root frame, human keypoints as stored (MANO wrist frame). The
 * measure is computed here from the URDF, the yml and the keypoint file, independently of the
 * retargeter. reel2real's default `retargetHand` (which reads configs/hands/<robot>.yaml) must stay under
 * a per-hand bound that the objective set before the vector configs (config: null) fails.
 */
import * as fs from 'node:fs';
import { beforeAll, expect, it } from 'vitest';
import { describeShared, shared } from '../helpers/shared.ts';
import type { PoseTrack } from '../../src/pose/track.ts';
import { loadUrdf } from '../../src/robot/urdf.ts';
import { Kinematics } from '../../src/robot/kinematics.ts';
import { handKeypoints, vectorError } from '../helpers/hand-vector.ts';
import { parseYaml } from '../../src/io/text.ts';
import { retargetHand } from '../../src/retarget/hand/index.ts';

const KEYPOINTS = 'keypoints/dex_retargeting_human_joint_right.json';
/**
 * Bounds (m): dex-retargeting's own figure on this clip, measured here (benchmarks/retarget/RESULTS.md),
 * where reel2real reaches it (Allegro 44.4 mm, LEAP 47.9 mm); on Inspire and Shadow, whose URDF velocity
 * limits reel2real keeps and dex-retargeting exceeds (972 and 413 joint-frames), a bound just above today's
 * (Inspire: 32.4 mm with its offline velocity plan refined, pinch weight 0.5 and its pinch frames weighted, 33.2
 * with pinch weight 10 unrefined, 35.6 with the per-frame velocity box; the lowest found within its limits on this measure alone
 * is 31.1. Shadow: 18.0 mm with the plan, pinch weight 4 and its pinch frames weighted, 18.1 with pinch weight 10
 * (the bound: below it), 19.4 with the per-frame velocity box — dex-retargeting
 * reaches 17.5 turning Shadow's two wrist joints, 18.9 with them held as reel2real holds them).
 */
const HANDS: Record<string, { urdf: string; yml: string; bound: number }> = {
  allegro: { urdf: 'hands/allegro_right/allegro_hand_right.urdf', yml: 'hands/allegro_right/dex_retargeting_configs/teleop_vector_allegro_hand_right.yml', bound: 0.0444 },
  inspire: { urdf: 'hands/inspire_right/inspire_hand_right.urdf', yml: 'hands/inspire_right/dex_retargeting_configs/teleop_vector_inspire_hand_right.yml', bound: 0.033 },
  leap: { urdf: 'hands/leap_right/leap_hand_right.urdf', yml: 'hands/leap_right/dex_retargeting_configs/teleop_vector_leap_hand_right.yml', bound: 0.0479 },
  shadow: { urdf: 'hands/shadow_right/shadow_hand_right.urdf', yml: 'hands/shadow_right/dex_retargeting_configs/teleop_vector_shadow_hand_right.yml', bound: 0.0181 },
};

describeShared('hands on dex-retargeting vector configs: vector error bound per hand', [KEYPOINTS, ...Object.values(HANDS).flatMap((h) => [h.urdf, h.yml])], () => {
  let track: PoseTrack;
  let frames: (number[][] | null)[];
  beforeAll(() => ({ track, frames } = handKeypoints(shared(KEYPOINTS))));
  for (const [name, h] of Object.entries(HANDS)) {
    it(`${name}: vector error under ${h.bound * 1000} mm (the objectives without the hand's config do not reach it), within limits`, () => {
      const robot = loadUrdf(shared(h.urdf));
      const kin = new Kinematics(robot);
      const cfg = (parseYaml(fs.readFileSync(shared(h.yml), 'utf8'), h.yml) as { retargeting: Record<string, any> }).retargeting;
      const m = retargetHand(track, robot);
      expect((m.mapping as any).config).toBe(`${robot.name}.yaml`);
      const err = vectorError(kin, m.q, frames, cfg);
      expect(err, `${name} vector error ${(err * 1000).toFixed(1)} mm`).toBeLessThan(h.bound);
      const old = vectorError(kin, retargetHand(track, robot, { config: null }).q, frames, cfg);
      expect(old, `${name} without config ${(old * 1000).toFixed(1)} mm`).toBeGreaterThan(h.bound);
      const Q = m.quality as Record<string, number>;
      // The report's fingertip error is the configured tip vectors' error (same figure where every vector
      // ends at a fingertip; the stored q is float32).
      if (name !== 'shadow') expect(Q.fingertip_error_mean_m).toBeCloseTo(err, 4);
      expect(Q.joint_limit_violations).toBe(0);
      expect(Q.velocity_limit_violations).toBe(0);
      // Fingers kept apart on the URDF's own collision geometry (proxies fitted to it, hand/collision.ts).
      expect(Q.collision_max_depth_m).toBeLessThan(0.005);
    });
  }
});
