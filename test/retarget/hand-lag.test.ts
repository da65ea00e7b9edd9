/**
 * The hand report's lag figure (issue 15): how many frames the robot's fingers trail the person's. The
 * Inspire hand's URDF limits its finger joints to 0.5 rad/s, so at 30 fps a per-frame solve's fingers trail
 * by about a third of a second; the LEAP hand's limits leave it nearly in step. Inspire's config plans the
 * clip's velocities offline (velocity_plan): within the same limits, its fingers are then in step.
 */
import { expect, it } from 'vitest';
import { describeShared, shared } from '../helpers/shared.ts';
import { importPose } from '../../src/pose/import.ts';
import { retargetHand } from '../../src/retarget/hand/index.ts';

const KEYPOINTS = 'keypoints/dex_retargeting_human_joint_right.json';
const INSPIRE = 'hands/inspire_right/inspire_hand_right.urdf';
const LEAP = 'hands/leap_right/leap_hand_right.urdf';

interface Lag { median_frames: number; max_frames: number; frames_per_finger: Record<string, number | null>; frames_at_velocity_limit: number }

describeShared('finger lag in the hand report', [KEYPOINTS, INSPIRE, LEAP], () => {
  const track = importPose(shared(KEYPOINTS));
  it('Inspire (0.5 rad/s joints) lags 8-16 frames at 30 fps, at its velocity limit most of the clip; LEAP lags at most 2; planned, Inspire at most 2', () => {
    const ins = (retargetHand(track, shared(INSPIRE), { velocityPlan: false }).quality as { lag: Lag }).lag;
    expect(ins.median_frames).toBeGreaterThanOrEqual(8);
    expect(ins.median_frames).toBeLessThanOrEqual(16);
    expect(ins.frames_at_velocity_limit).toBeGreaterThan(0.5 * track.timestamps.length);
    const leap = (retargetHand(track, shared(LEAP)).quality as { lag: Lag }).lag;
    expect(leap.median_frames).toBeLessThanOrEqual(2);
    expect(ins.median_frames - leap.median_frames).toBeGreaterThanOrEqual(6);
    const planned = retargetHand(track, shared(INSPIRE));
    const Q = planned.quality as { lag: Lag; velocity_limit_violations: number };
    expect((planned.mapping as { config?: string }).config).toBe('inspire_hand_right.yaml');
    expect(Q.lag.median_frames).toBeLessThanOrEqual(2);
    expect(Q.velocity_limit_violations).toBe(0);
    expect(Q.lag.frames_at_velocity_limit).toBeGreaterThan(0.3 * track.timestamps.length);
  });
});
