/**
 * Rotations, the project's one set of helpers. Quaternions are (w, x, y, z), Hamilton convention; 3x3
 * rotation matrices are row-major; a 3x4 transform at m[o] is the 3x3 rotation (9 numbers, row-major)
 * followed by the translation (3 numbers) — the layout of the kinematics' poses.
 */

/** Unit quaternion (normalised here) → 3x3 rotation, row-major, as a new array. */
export function quatToMat3(w: number, x: number, y: number, z: number): number[] {
  const n = Math.hypot(w, x, y, z) || 1;
  w /= n; x /= n; y /= n; z /= n;
  return [
    1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y),
    2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x),
    2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y),
  ];
}

/** Quaternion q (normalised here) and position → 3x4 transform at m[o]. */
export function quatToTransform(q: ArrayLike<number>, pos: ArrayLike<number>, m: Float64Array, o: number): void {
  let w = q[0], x = q[1], y = q[2], z = q[3];
  const n = Math.hypot(w, x, y, z) || 1;
  w /= n; x /= n; y /= n; z /= n;
  m[o] = 1 - 2 * (y * y + z * z); m[o + 1] = 2 * (x * y - w * z); m[o + 2] = 2 * (x * z + w * y);
  m[o + 3] = 2 * (x * y + w * z); m[o + 4] = 1 - 2 * (x * x + z * z); m[o + 5] = 2 * (y * z - w * x);
  m[o + 6] = 2 * (x * z - w * y); m[o + 7] = 2 * (y * z + w * x); m[o + 8] = 1 - 2 * (x * x + y * y);
  m[o + 9] = pos[0]; m[o + 10] = pos[1]; m[o + 11] = pos[2];
}

/** Rotation part of a 3x4 transform at m[o] → quaternion (w,x,y,z) with w >= 0. */
export function matToQuat(m: ArrayLike<number>, o: number, out: Float64Array | Float32Array | number[], off = 0): void {
  const m00 = m[o], m01 = m[o + 1], m02 = m[o + 2];
  const m10 = m[o + 3], m11 = m[o + 4], m12 = m[o + 5];
  const m20 = m[o + 6], m21 = m[o + 7], m22 = m[o + 8];
  const tr = m00 + m11 + m22;
  let w: number, x: number, y: number, z: number;
  if (tr > 0) {
    const s = Math.sqrt(tr + 1) * 2;
    w = 0.25 * s; x = (m21 - m12) / s; y = (m02 - m20) / s; z = (m10 - m01) / s;
  } else if (m00 > m11 && m00 > m22) {
    const s = Math.sqrt(1 + m00 - m11 - m22) * 2;
    w = (m21 - m12) / s; x = 0.25 * s; y = (m01 + m10) / s; z = (m02 + m20) / s;
  } else if (m11 > m22) {
    const s = Math.sqrt(1 + m11 - m00 - m22) * 2;
    w = (m02 - m20) / s; x = (m01 + m10) / s; y = 0.25 * s; z = (m12 + m21) / s;
  } else {
    const s = Math.sqrt(1 + m22 - m00 - m11) * 2;
    w = (m10 - m01) / s; x = (m02 + m20) / s; y = (m12 + m21) / s; z = 0.25 * s;
  }
  if (w < 0) { w = -w; x = -x; y = -y; z = -z; }
  const n = Math.hypot(w, x, y, z);
  out[off] = w / n; out[off + 1] = x / n; out[off + 2] = y / n; out[off + 3] = z / n;
}

/** R I Rᵀ: an inertia tensor (3x3, row-major) expressed in the frame rotated by R (3x3 or the rotation of a 3x4). */
export function rotateTensor(R: ArrayLike<number>, I: ArrayLike<number>): number[] {
  const RI = new Array(9).fill(0);
  for (let r = 0; r < 3; r++) for (let s = 0; s < 3; s++) for (let k = 0; k < 3; k++) RI[3 * r + s] += R[3 * r + k] * I[3 * k + s];
  const out = new Array(9).fill(0);
  for (let r = 0; r < 3; r++) for (let s = 0; s < 3; s++) for (let k = 0; k < 3; k++) out[3 * r + s] += RI[3 * r + k] * R[3 * s + k];
  return out;
}
