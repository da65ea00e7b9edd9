/** Mean point distance after centring both sets on their first point (the wrist) and the best rotation (Kabsch). */
export function kabschError(a: number[], b: number[]): number {
  const n = a.length / 3;
  const A: number[][] = [];
  const B: number[][] = [];
  for (let k = 0; k < n; k++) {
    A.push([a[3 * k] - a[0], a[3 * k + 1] - a[1], a[3 * k + 2] - a[2]]);
    B.push([b[3 * k] - b[0], b[3 * k + 1] - b[1], b[3 * k + 2] - b[2]]);
  }
  // H = Σ a bᵀ; best rotation via the quaternion method (Horn), no SVD needed.
  const H = [[0, 0, 0], [0, 0, 0], [0, 0, 0]];
  for (let k = 0; k < n; k++) for (let i = 0; i < 3; i++) for (let j = 0; j < 3; j++) H[i][j] += A[k][i] * B[k][j];
  const [[Sxx, Sxy, Sxz], [Syx, Syy, Syz], [Szx, Szy, Szz]] = H;
  const N = [
    [Sxx + Syy + Szz, Syz - Szy, Szx - Sxz, Sxy - Syx],
    [Syz - Szy, Sxx - Syy - Szz, Sxy + Syx, Szx + Sxz],
    [Szx - Sxz, Sxy + Syx, -Sxx + Syy - Szz, Syz + Szy],
    [Sxy - Syx, Szx + Sxz, Syz + Szy, -Sxx - Syy + Szz],
  ];
  // Largest eigenvector by power iteration on a shifted matrix.
  let shift = 0;
  for (const r of N) shift = Math.max(shift, r.reduce((s, v) => s + Math.abs(v), 0));
  let q = [1, 0.1, 0.1, 0.1];
  for (let it = 0; it < 500; it++) {
    const nq = [0, 0, 0, 0];
    for (let i = 0; i < 4; i++) for (let j = 0; j < 4; j++) nq[i] += (N[i][j] + (i === j ? shift : 0)) * q[j];
    const len = Math.hypot(...nq);
    q = nq.map((v) => v / len);
  }
  const [w, x, y, z] = q;
  const R = [
    [w * w + x * x - y * y - z * z, 2 * (x * y - w * z), 2 * (x * z + w * y)],
    [2 * (x * y + w * z), w * w - x * x + y * y - z * z, 2 * (y * z - w * x)],
    [2 * (x * z - w * y), 2 * (y * z + w * x), w * w - x * x - y * y + z * z],
  ];
  let sum = 0;
  for (let k = 0; k < n; k++) {
    const p = [0, 1, 2].map((i) => R[i][0] * A[k][0] + R[i][1] * A[k][1] + R[i][2] * A[k][2]);
    sum += Math.hypot(p[0] - B[k][0], p[1] - B[k][1], p[2] - B[k][2]);
  }
  return sum / n;
}
