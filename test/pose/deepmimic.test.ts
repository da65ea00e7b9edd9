import { expect, it } from 'vitest';
import { importPose } from '../../src/pose/import.ts';
import { describeShared, shared } from '../helpers/shared.ts';
import { boneCv, pos } from './util.ts';

const WALK = 'motions/deepmimic/humanoid3d_walk.json';

describeShared('DeepMimic motion import', [WALK, 'motions/deepmimic/humanoid3d_character.json'], () => {
  const t = importPose(shared(WALK));
  const T = t.timestamps.length;

  it('plays the frames through the character: 39 frames at 30 fps, canonical body first', () => {
    expect(t.source.format).toBe('deepmimic');
    expect(T).toBe(39);
    expect(t.fps).toBe(30);
    expect(t.jointNames.slice(0, 3)).toEqual(['pelvis', 'spine', 'chest']);
    expect(t.jointNames).toContain('dm_right_knee');
  });

  it('is Z up, walks along +X, left on +Y, bones rigid', () => {
    for (let f = 0; f < T; f++) {
      expect(pos(t, 'head', f)[2]).toBeGreaterThan(pos(t, 'pelvis', f)[2] + 0.4);
      expect(pos(t, 'pelvis', f)[2]).toBeGreaterThan(pos(t, 'left_ankle', f)[2] + 0.5);
      expect(pos(t, 'left_hip', f)[1]).toBeGreaterThan(pos(t, 'right_hip', f)[1]);
    }
    expect(pos(t, 'pelvis', T - 1)[0] - pos(t, 'pelvis', 0)[0]).toBeGreaterThan(0.8);
    // Attach offsets from humanoid3d_character.json: knee→ankle 0.40987, hip→knee 0.421546.
    expect(boneCv(t, 'left_ankle').mean).toBeCloseTo(0.40987, 5);
    expect(boneCv(t, 'right_knee').mean).toBeCloseTo(0.421546, 5);
    for (const b of ['left_knee', 'left_ankle', 'right_elbow', 'right_wrist', 'neck', 'head']) expect(boneCv(t, b).cv, b).toBeLessThan(1e-5);
  });
});
