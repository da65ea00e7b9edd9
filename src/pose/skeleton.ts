/**
 * The canonical human skeleton every source maps into. Body joints first, then 21 MediaPipe hand
 * landmarks per hand (`left_hand_<landmark>`, `right_hand_<landmark>`). Importers keep the source's own
 * extra joints after these (with their parents), so nothing the source carries is lost.
 */

export const BODY_JOINTS = [
  'pelvis', 'spine', 'chest', 'neck', 'head',
  'left_shoulder', 'left_elbow', 'left_wrist',
  'right_shoulder', 'right_elbow', 'right_wrist',
  'left_hip', 'left_knee', 'left_ankle', 'left_toe',
  'right_hip', 'right_knee', 'right_ankle', 'right_toe',
] as const;

export type BodyJoint = (typeof BODY_JOINTS)[number];

export const BODY_PARENTS: Record<BodyJoint, BodyJoint | null> = {
  pelvis: null,
  spine: 'pelvis',
  chest: 'spine',
  neck: 'chest',
  head: 'neck',
  left_shoulder: 'chest',
  left_elbow: 'left_shoulder',
  left_wrist: 'left_elbow',
  right_shoulder: 'chest',
  right_elbow: 'right_shoulder',
  right_wrist: 'right_elbow',
  left_hip: 'pelvis',
  left_knee: 'left_hip',
  left_ankle: 'left_knee',
  left_toe: 'left_ankle',
  right_hip: 'pelvis',
  right_knee: 'right_hip',
  right_ankle: 'right_knee',
  right_toe: 'right_ankle',
};

/** The 21 MediaPipe hand landmarks, in MediaPipe's index order. */
export const HAND_LANDMARKS = [
  'wrist',
  'thumb_cmc', 'thumb_mcp', 'thumb_ip', 'thumb_tip',
  'index_finger_mcp', 'index_finger_pip', 'index_finger_dip', 'index_finger_tip',
  'middle_finger_mcp', 'middle_finger_pip', 'middle_finger_dip', 'middle_finger_tip',
  'ring_finger_mcp', 'ring_finger_pip', 'ring_finger_dip', 'ring_finger_tip',
  'pinky_mcp', 'pinky_pip', 'pinky_dip', 'pinky_tip',
] as const;

/** Parent index of each hand landmark within the 21 (-1 for the wrist). */
export const HAND_PARENTS: readonly number[] = [-1, 0, 1, 2, 3, 0, 5, 6, 7, 0, 9, 10, 11, 0, 13, 14, 15, 0, 17, 18, 19];

export type Side = 'left' | 'right';

export function handJointNames(side: Side): string[] {
  return HAND_LANDMARKS.map((l) => `${side}_hand_${l}`);
}

/**
 * Names and parent indices of the canonical skeleton: body, then left hand, then right hand. A hand's wrist
 * landmark hangs off the body's wrist of the same side.
 */
export function canonicalSkeleton(opts: { body?: boolean; hands?: boolean } = {}): { names: string[]; parents: number[] } {
  const body = opts.body ?? true;
  const hands = opts.hands ?? true;
  const names: string[] = [];
  const parents: number[] = [];
  if (body) {
    for (const j of BODY_JOINTS) {
      const p = BODY_PARENTS[j];
      names.push(j);
      parents.push(p === null ? -1 : BODY_JOINTS.indexOf(p));
    }
  }
  if (hands) {
    for (const side of ['left', 'right'] as const) {
      const base = names.length;
      const wristParent = body ? names.indexOf(`${side}_wrist`) : -1;
      handJointNames(side).forEach((n, i) => {
        names.push(n);
        parents.push(HAND_PARENTS[i] < 0 ? wristParent : base + HAND_PARENTS[i]);
      });
    }
  }
  return { names, parents };
}
