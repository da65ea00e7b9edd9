/** Small rigid-transform helpers on 3x4 row-major transforms (R then t), and quaternions (w, x, y, z). */
import { matToQuat } from '../robot/kinematics.ts';

/** out = a * b (3x4 transforms at offsets). Returns out. */
export function compose(a: ArrayLike<number>, ao: number, b: ArrayLike<number>, bo: number, out: Float64Array, oo: number): Float64Array {
  const a00 = a[ao], a01 = a[ao + 1], a02 = a[ao + 2], a10 = a[ao + 3], a11 = a[ao + 4], a12 = a[ao + 5];
  const a20 = a[ao + 6], a21 = a[ao + 7], a22 = a[ao + 8], ax = a[ao + 9], ay = a[ao + 10], az = a[ao + 11];
  const b00 = b[bo], b01 = b[bo + 1], b02 = b[bo + 2], b10 = b[bo + 3], b11 = b[bo + 4], b12 = b[bo + 5];
  const b20 = b[bo + 6], b21 = b[bo + 7], b22 = b[bo + 8], bx = b[bo + 9], by = b[bo + 10], bz = b[bo + 11];
  out[oo] = a00 * b00 + a01 * b10 + a02 * b20; out[oo + 1] = a00 * b01 + a01 * b11 + a02 * b21; out[oo + 2] = a00 * b02 + a01 * b12 + a02 * b22;
  out[oo + 3] = a10 * b00 + a11 * b10 + a12 * b20; out[oo + 4] = a10 * b01 + a11 * b11 + a12 * b21; out[oo + 5] = a10 * b02 + a11 * b12 + a12 * b22;
  out[oo + 6] = a20 * b00 + a21 * b10 + a22 * b20; out[oo + 7] = a20 * b01 + a21 * b11 + a22 * b21; out[oo + 8] = a20 * b02 + a21 * b12 + a22 * b22;
  out[oo + 9] = a00 * bx + a01 * by + a02 * bz + ax;
  out[oo + 10] = a10 * bx + a11 * by + a12 * bz + ay;
  out[oo + 11] = a20 * bx + a21 * by + a22 * bz + az;
  return out;
}

/** out = inverse of the rigid transform a. */
export function invert(a: ArrayLike<number>, ao: number, out: Float64Array, oo: number): Float64Array {
  const r00 = a[ao], r01 = a[ao + 1], r02 = a[ao + 2], r10 = a[ao + 3], r11 = a[ao + 4], r12 = a[ao + 5];
  const r20 = a[ao + 6], r21 = a[ao + 7], r22 = a[ao + 8], x = a[ao + 9], y = a[ao + 10], z = a[ao + 11];
  out[oo] = r00; out[oo + 1] = r10; out[oo + 2] = r20;
  out[oo + 3] = r01; out[oo + 4] = r11; out[oo + 5] = r21;
  out[oo + 6] = r02; out[oo + 7] = r12; out[oo + 8] = r22;
  out[oo + 9] = -(r00 * x + r10 * y + r20 * z);
  out[oo + 10] = -(r01 * x + r11 * y + r21 * z);
  out[oo + 11] = -(r02 * x + r12 * y + r22 * z);
  return out;
}

export function transformPoint(m: ArrayLike<number>, o: number, x: number, y: number, z: number, out: Float64Array | Float32Array, oo = 0): void {
  out[oo] = m[o] * x + m[o + 1] * y + m[o + 2] * z + m[o + 9];
  out[oo + 1] = m[o + 3] * x + m[o + 4] * y + m[o + 5] * z + m[o + 10];
  out[oo + 2] = m[o + 6] * x + m[o + 7] * y + m[o + 8] * z + m[o + 11];
}

/** Rotation part of a 3x4 (or 3x3) matrix at m[o] → quaternion {w,x,y,z} (as Rapier takes it). */
export function rotToQuat(m: ArrayLike<number>, o: number): { w: number; x: number; y: number; z: number } {
  const q = new Float64Array(4);
  matToQuat(m, o, q);
  return { w: q[0], x: q[1], y: q[2], z: q[3] };
}

/**
 * Symmetric 3x3 eigen-decomposition (cyclic Jacobi). Returns eigenvalues and the eigenvector matrix V
 * (columns are eigenvectors, row-major), with det(V) = +1 so it is a rotation.
 */
export function symEig3(A: ArrayLike<number>): { values: [number, number, number]; vectors: number[] } {
  const a = Array.from(A);
  const v = [1, 0, 0, 0, 1, 0, 0, 0, 1];
  for (let sweep = 0; sweep < 50; sweep++) {
    const off = a[1] * a[1] + a[2] * a[2] + a[5] * a[5];
    if (off < 1e-30) break;
    for (const [p, q] of [[0, 1], [0, 2], [1, 2]] as const) {
      const apq = a[3 * p + q];
      if (Math.abs(apq) < 1e-300) continue;
      const theta = (a[3 * q + q] - a[3 * p + p]) / (2 * apq);
      const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
      const c = 1 / Math.sqrt(t * t + 1), s = t * c;
      for (let k = 0; k < 3; k++) {
        const akp = a[3 * k + p], akq = a[3 * k + q];
        a[3 * k + p] = c * akp - s * akq;
        a[3 * k + q] = s * akp + c * akq;
      }
      for (let k = 0; k < 3; k++) {
        const apk = a[3 * p + k], aqk = a[3 * q + k];
        a[3 * p + k] = c * apk - s * aqk;
        a[3 * q + k] = s * apk + c * aqk;
      }
      for (let k = 0; k < 3; k++) {
        const vkp = v[3 * k + p], vkq = v[3 * k + q];
        v[3 * k + p] = c * vkp - s * vkq;
        v[3 * k + q] = s * vkp + c * vkq;
      }
    }
  }
  const det = v[0] * (v[4] * v[8] - v[5] * v[7]) - v[1] * (v[3] * v[8] - v[5] * v[6]) + v[2] * (v[3] * v[7] - v[4] * v[6]);
  if (det < 0) { v[2] = -v[2]; v[5] = -v[5]; v[8] = -v[8]; }
  return { values: [a[0], a[4], a[8]], vectors: v };
}

/**
 * Rotation vector (world frame, small-angle) taking orientation `sim` to `ref` (quaternions w, x, y, z):
 * 2 * vector part of ref * conj(sim), on the short way round. Writes and returns out.
 */
export function rotationError(ref: ArrayLike<number>, sim: ArrayLike<number>, out: Float64Array): Float64Array {
  const rw = ref[0], rx = ref[1], ry = ref[2], rz = ref[3];
  const cw = sim[0], cx = -sim[1], cy = -sim[2], cz = -sim[3];
  let ew = rw * cw - rx * cx - ry * cy - rz * cz;
  let ex = rw * cx + rx * cw + ry * cz - rz * cy;
  let ey = rw * cy - rx * cz + ry * cw + rz * cx;
  let ez = rw * cz + rx * cy - ry * cx + rz * cw;
  if (ew < 0) { ew = -ew; ex = -ex; ey = -ey; ez = -ez; }
  out[0] = 2 * ex; out[1] = 2 * ey; out[2] = 2 * ez;
  return out;
}
