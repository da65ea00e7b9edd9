/**
 * The task script's checks as the page shows them while recording: framing (the parts the script needs inside
 * the picture), hands visible (the hands it names), duration (its min/max). Computed from the raw tracker rows
 * (src/capture/layout.ts) over the frames so far; the server runs the full quality gate (src/quality) again.
 */
import { BODY_N, H_IMAGE, H_SCORE, HAND_N, R_BODY_IMAGE, R_BODY_SCORE, R_BODY_VIS, ROW, handBase } from '../../capture/layout.ts';

/** What the page knows of a task script (GET /api/tasks). */
export interface TaskInfo {
  id: string;
  title: string;
  instructions: string;
  camera: string;
  visible: string[];
  duration_s: { min: number; max: number };
  motion: { hands: string };
}

export interface Check {
  id: 'framing' | 'hands' | 'duration';
  label: string;
  ok: boolean;
  /** 'pending' while it can still become ok (e.g. duration not reached yet). */
  state: 'ok' | 'fail' | 'pending';
  detail: string;
}

export interface DeviceReport {
  task: string;
  frames: number;
  seconds: number;
  fps: number;
  checks: Check[];
  passed: boolean;
  rates: { body: number; left_hand: number; right_hand: number };
}

/** BlazePose landmark indices of each body part named in task scripts. */
const PART_LANDMARKS: Record<string, number[]> = {
  head: [0, 2, 5, 7, 8], torso: [11, 12, 23, 24], left_arm: [11, 13, 15], right_arm: [12, 14, 16],
  left_leg: [23, 25, 27], right_leg: [24, 26, 28],
};

const inside = (x: number, y: number) => x >= 0 && x <= 1 && y >= 0 && y <= 1;

/** Share of frames (0..1) where the parts named by `visible` are inside the picture, and which part fails most. */
function framing(rows: Float32Array, n: number, parts: string[]): { share: number; worst: string | null } {
  const bodyParts = parts.filter((p) => p in PART_LANDMARKS);
  if (!bodyParts.length || !n) return { share: 1, worst: null };
  const misses = new Map<string, number>();
  let good = 0;
  for (let t = 0; t < n; t++) {
    const r = t * ROW;
    let ok = rows[r + R_BODY_SCORE] > 0;
    for (const p of bodyParts) {
      const partOk = rows[r + R_BODY_SCORE] > 0 && PART_LANDMARKS[p].every((k) => inside(rows[r + R_BODY_IMAGE + 3 * k], rows[r + R_BODY_IMAGE + 3 * k + 1]) && rows[r + R_BODY_VIS + k] >= 0.5);
      if (!partOk) misses.set(p, (misses.get(p) ?? 0) + 1);
      ok &&= partOk;
    }
    if (ok) good++;
  }
  let worst: string | null = null;
  for (const [p, c] of misses) if (!worst || c > (misses.get(worst) ?? 0)) worst = p;
  return { share: good / n, worst };
}

function handShare(rows: Float32Array, n: number, side: 0 | 1): number {
  if (!n) return 0;
  const b = handBase(side);
  let c = 0;
  for (let t = 0; t < n; t++) {
    const r = t * ROW;
    if (!(rows[r + b + H_SCORE] > 0)) continue;
    let inPic = 0;
    for (let k = 0; k < HAND_N; k++) if (inside(rows[r + b + H_IMAGE + 3 * k], rows[r + b + H_IMAGE + 3 * k + 1])) inPic++;
    if (inPic >= HAND_N * 0.8) c++;
  }
  return c / n;
}

/** Hands the script needs to see: from `visible` and motion.hands. Side 0 = left, 1 = right. */
function neededHands(task: TaskInfo): (0 | 1)[] {
  const need = new Set<0 | 1>();
  if (task.visible.includes('left_hand')) need.add(0);
  if (task.visible.includes('right_hand')) need.add(1);
  if (task.motion.hands === 'both') { need.add(0); need.add(1); }
  if (task.motion.hands === 'left') need.add(0);
  if (task.motion.hands === 'right') need.add(1);
  return [...need].sort();
}

/**
 * What the page tracks for a task: the body unless the script needs no body part and the camera is head-mounted
 * (then a close view of the hands, where a body detector finds arms and hides the hands), and always the hands.
 */
export function partsFor(task: TaskInfo): { body: boolean; hands: boolean } {
  return { body: task.camera === 'fixed' || task.visible.some((p) => p in PART_LANDMARKS), hands: true };
}

/** Fraction of frames a check needs (what the page asks for; the server's gate has its own thresholds). */
export const MIN_SHARE = 0.8;

export function evaluate(task: TaskInfo, rows: Float32Array, n: number, seconds: number, final: boolean): Check[] {
  const out: Check[] = [];
  const fr = framing(rows, n, task.visible);
  const pct = (x: number) => `${Math.round(100 * x)} %`;
  out.push({
    id: 'framing', label: 'Framing', ok: fr.share >= MIN_SHARE, state: fr.share >= MIN_SHARE ? 'ok' : 'fail',
    detail: fr.share >= MIN_SHARE ? `${task.visible.join(', ')} in the picture in ${pct(fr.share)} of frames` : `${fr.worst ?? 'body'} out of the picture or hidden in ${pct(1 - fr.share)} of frames`,
  });
  const hands = neededHands(task);
  if (hands.length) {
    const shares = hands.map((s) => handShare(rows, n, s));
    const ok = shares.every((s) => s >= MIN_SHARE);
    const names = hands.map((s) => (s ? 'right hand' : 'left hand'));
    out.push({ id: 'hands', label: 'Hands visible', ok, state: ok ? 'ok' : 'fail', detail: names.map((nm, i) => `${nm} seen in ${pct(shares[i])} of frames`).join('; ') });
  }
  const { min, max } = task.duration_s;
  const dOk = seconds >= min && seconds <= max;
  out.push({
    id: 'duration', label: 'Duration', ok: dOk, state: dOk ? 'ok' : seconds < min && !final ? 'pending' : 'fail',
    detail: `${seconds.toFixed(1)} s of ${min}–${max} s`,
  });
  return out;
}

export function deviceReport(task: TaskInfo, rows: Float32Array, n: number, seconds: number): DeviceReport {
  const checks = evaluate(task, rows, n, seconds, true);
  let body = 0;
  for (let t = 0; t < n; t++) if (rows[t * ROW + R_BODY_SCORE] > 0) body++;
  const hs = (side: 0 | 1) => {
    let c = 0;
    for (let t = 0; t < n; t++) if (rows[t * ROW + handBase(side) + H_SCORE] > 0) c++;
    return n ? c / n : 0;
  };
  return {
    task: task.id, frames: n, seconds: Number(seconds.toFixed(3)), fps: Number((seconds > 0 ? (n - 1) / seconds : 0).toFixed(2)), checks,
    passed: checks.every((c) => c.ok), rates: { body: n ? body / n : 0, left_hand: hs(0), right_hand: hs(1) },
  };
}

/** Skeleton edges over the 33 BlazePose landmarks, for the overlay. */
export const BODY_EDGES: [number, number][] = [
  [11, 12], [11, 13], [13, 15], [12, 14], [14, 16], [11, 23], [12, 24], [23, 24], [23, 25], [25, 27], [27, 29], [29, 31],
  [24, 26], [26, 28], [28, 30], [30, 32], [0, 2], [0, 5], [2, 7], [5, 8], [15, 17], [15, 19], [16, 18], [16, 20],
];
export const HAND_EDGES: [number, number][] = [
  [0, 1], [1, 2], [2, 3], [3, 4], [0, 5], [5, 6], [6, 7], [7, 8], [5, 9], [9, 10], [10, 11], [11, 12], [9, 13], [13, 14],
  [14, 15], [15, 16], [13, 17], [17, 18], [18, 19], [19, 20], [0, 17],
];
export { BODY_N, HAND_N };
