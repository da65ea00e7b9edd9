/** Measures shared by the hand retargeting tests. */
import { FINGER_LANDMARKS, type HumanFinger, type RobotFinger } from '../../src/retarget/hand/index.ts';

/** Pearson correlation. */
export function corr(a: number[], b: number[]): number {
  const n = a.length;
  const ma = a.reduce((s, v) => s + v, 0) / n, mb = b.reduce((s, v) => s + v, 0) / n;
  let sab = 0, saa = 0, sbb = 0;
  for (let i = 0; i < n; i++) { sab += (a[i] - ma) * (b[i] - mb); saa += (a[i] - ma) ** 2; sbb += (b[i] - mb) ** 2; }
  return sab / Math.sqrt(saa * sbb);
}

/** Human curl of a finger per frame ([T*63] landmarks): 1 − |base→tip| / (sum of its bone lengths). */
export function humanCurl(lm: Float32Array, T: number, finger: HumanFinger): number[] {
  const [a, b, c, d] = FINGER_LANDMARKS[finger];
  const p = (t: number, j: number) => [lm[63 * t + 3 * j], lm[63 * t + 3 * j + 1], lm[63 * t + 3 * j + 2]];
  const dist = (x: number[], y: number[]) => Math.hypot(x[0] - y[0], x[1] - y[1], x[2] - y[2]);
  const out: number[] = [];
  for (let t = 0; t < T; t++) {
    const bones = dist(p(t, a), p(t, b)) + dist(p(t, b), p(t, c)) + dist(p(t, c), p(t, d));
    out.push(1 - dist(p(t, a), p(t, d)) / bones);
  }
  return out;
}

/**
 * A robot finger's flexion per frame: the sum of its joints signed by `flexSign`, from a [T*n] joint array
 * whose column for Kinematics dof d is `col(d)` (identity by default).
 */
export function fingerFlex(q: ArrayLike<number>, n: number, T: number, f: RobotFinger, col: (d: number) => number = (d) => d): number[] {
  return Array.from({ length: T }, (_, t) => f.dofs.reduce((s, d, k) => s + f.flexSign[k] * q[t * n + col(d)], 0));
}
