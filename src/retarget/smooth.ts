/**
 * Stage 3 of retarget(): light zero-phase smoothing of the upper-body joints after the solve.
 */
import { gaussianSmooth } from './targets.ts';
import type { RetargetProblem } from './problem.ts';

/** Smooth `out.q` in place ([T, nq]); legs (root to feet) and fingers untouched. `sigmaSeconds` 0 = none. */
export function smoothUpperBody(p: RetargetProblem, out: { q: Float32Array }, sigmaSeconds: number): void {
  const { kin, map, targets, T, nq, fingerDof } = p;
  const L = (name: string) => kin.linkIndex(name);
  // Light zero-phase smoothing of the upper-body joints (not those between root and feet, not fingers:
  // contacts stay exact).
  // A Gaussian with positive weights and replicated edges keeps every frame inside the joint limits and
  // every step inside the velocity limits (each output is a convex combination of inputs and of steps).
  const postSigma = sigmaSeconds * targets.fps;
  if (postSigma > 0.3 && T > 2) {
    // Every joint between the root link and a foot (legs, and a waist when the root is the trunk, as on T1).
    const legDofs = new Set<number>();
    for (const f of [L(map.feet.left.link), L(map.feet.right.link)]) for (let k = f; k >= 0; k = kin.linkParent[k]) if (kin.linkDof(k) >= 0) legDofs.add(kin.linkDof(k));
    const col = new Float64Array(T);
    for (let i = 0; i < nq; i++) {
      if (legDofs.has(i) || fingerDof[i]) continue;
      for (let t = 0; t < T; t++) col[t] = out.q[t * nq + i];
      const sm = gaussianSmooth(col, T, 1, postSigma);
      for (let t = 0; t < T; t++) out.q[t * nq + i] = sm[t];
    }
  }}
