import { describe, expect, it } from 'vitest';
import { emptyTrack, validateTrack, type PoseTrack } from '../../src/pose/track.ts';
import { UserError } from '../../src/errors.ts';

/** A 4-frame, 3-joint track, every joint seen with confidence 1. */
function track(): PoseTrack {
  const t = emptyTrack(4, ['root', 'a', 'b'], [-1, 0, 1], 30, { format: 'test' });
  for (let k = 0; k < t.positions.length; k++) t.positions[k] = 0.1 * k;
  t.confidence.fill(1);
  for (let i = 0; i < 4; i++) t.timestamps[i] = i / 30;
  return t;
}

function message(t: PoseTrack): string {
  try {
    validateTrack(t, 'x.npz');
  } catch (err) {
    expect(err).toBeInstanceOf(UserError);
    return (err as Error).message;
  }
  return 'valid';
}

describe('validateTrack', () => {
  it('accepts a valid track, and a missing joint (NaN) with confidence 0', () => {
    const t = track();
    expect(message(t)).toBe('valid');
    t.positions.fill(NaN, 3 * 4, 3 * 5); // frame 1, joint 1
    t.confidence[4] = 0;
    expect(message(t)).toBe('valid');
  });

  it('names the value: an infinite coordinate, a confidence outside [0,1], NaN with confidence, bad timestamps', () => {
    let t = track();
    t.positions[3 * 5 + 2] = -Infinity;
    expect(message(t)).toMatch(/position value 17 is infinite/);
    t = track();
    t.confidence[7] = 1.5;
    expect(message(t)).toMatch(/confidence value 7 is 1.5, outside \[0,1\]/);
    t = track();
    t.confidence[2] = NaN;
    expect(message(t)).toMatch(/confidence value 2 is NaN/);
    t = track();
    t.positions[3 * 10 + 1] = NaN; // frame 3, joint 1 ('a')
    expect(message(t)).toMatch(/joint a at frame 3 is NaN but has confidence 1/);
    t = track();
    t.timestamps[2] = t.timestamps[1];
    expect(message(t)).toMatch(/timestamps are not increasing at frame 2/);
  });
});
