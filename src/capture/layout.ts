/**
 * The raw per-frame result of the trackers, one flat Float32Array row per frame (so workers can hand rows
 * over without serialising objects). All positions are as the models give them, already rotated back out of
 * the crop: world points in metres in the model's camera-aligned frame (x right, y down, z away from the
 * camera), image points normalized to the upright frame ([0,1] inside the picture), NaN when absent.
 */
export const BODY_N = 33;
export const HAND_N = 21;

export const R_BODY_SCORE = 0; // pose presence (0 when no body)
export const R_BODY_DETECTED = 1; // 1 when the person detector ran on this frame
export const R_BODY_WORLD = 2; // 33×3
export const R_BODY_IMAGE = R_BODY_WORLD + BODY_N * 3; // 33×3 (x, y normalized; z in units of frame width)
export const R_BODY_VIS = R_BODY_IMAGE + BODY_N * 3; // 33 visibility (sigmoid)
export const R_BODY_PRES = R_BODY_VIS + BODY_N; // 33 presence (sigmoid)
export const R_BODY_NEXT_ROI = R_BODY_PRES + BODY_N; // cx, cy, size, rotation of the next frame's region (pixels)
export const R_HANDS = R_BODY_NEXT_ROI + 4;

// Per hand block (left, then right):
export const H_SCORE = 0; // landmark model presence (0 when no hand)
export const H_HANDEDNESS = 1; // P(right) as the model says
export const H_SOURCE = 2; // 0 none, 1 tracked from previous frame, 2 from body wrist, 3 palm detector
export const H_WORLD = 3; // 21×3
export const H_IMAGE = H_WORLD + HAND_N * 3; // 21×3
export const H_SIZE = H_IMAGE + HAND_N * 3;

export const ROW = R_HANDS + 2 * H_SIZE;

export function handBase(side: 0 | 1): number {
  return R_HANDS + side * H_SIZE;
}

/** Reset a row to "nothing found". */
export function clearRow(row: Float32Array): void {
  row.fill(NaN);
  row[R_BODY_SCORE] = 0;
  row[R_BODY_DETECTED] = 0;
  for (const s of [0, 1] as const) {
    const b = handBase(s);
    row[b + H_SCORE] = 0;
    row[b + H_HANDEDNESS] = NaN;
    row[b + H_SOURCE] = 0;
  }
}
