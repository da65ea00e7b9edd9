/**
 * Stage 2 of retarget(): solve the sequence — the first frame from several starts (human heading, ±90°,
 * 180°, a mid-range pose), then every frame warm-started within its joint and velocity boxes, fingers after
 * the body; with the smoothed balance, a second pass tracking the low-passed CoM of the first.
 */
import { zeroPose } from './discover.ts';
import { gaussianSmooth, KEYPOINTS } from './targets.ts';
import { BalanceTask } from './balance.ts';
import type { RetargetProblem } from './problem.ts';
import type { RetargetOptions } from './options.ts';

export interface SolvedSequence {
  q: Float32Array; rootPos: Float32Array; rootQuat: Float32Array; timestamps: Float64Array;
  /** Solver iterations summed over the frames (of the last pass). */
  iterSum: number;
}

export function solveSequence(p: RetargetProblem, opts: RetargetOptions = {}): SolvedSequence {
  const { kin, targets, T, nq, W, map, home, fingerDof, fingerSolvers, damping, collision, comModel, balanceFeet, balanceMargin, comTask, comTarget, supportW, solver, setFrame, pinFingers } = p;
  const s = solver.s;
  const r = map.rest;
  const mid = (a: number[], b: number[]) => [(a[0] + b[0]) / 2, (a[1] + b[1]) / 2, (a[2] + b[2]) / 2];
  const out = {
    q: new Float32Array(T * nq),
    rootPos: new Float32Array(T * 3),
    rootQuat: new Float32Array(T * 4),
    timestamps: Float64Array.from(targets.timestamps),
  };
  // ---- first frame: heading from the human, several starts, keep the best
  setFrame(0);
  const pl = targets.pelvisLeft;
  const heading = Math.atan2(-pl[0], pl[1]); // forward = left x up = (l.y, -l.x)
  const hipC = [0, 1, 2].map((k) => (targets.pos[k + 3 * KEYPOINTS.indexOf('left_hip')] + targets.pos[k + 3 * KEYPOINTS.indexOf('right_hip')]) / 2);
  const rHipC = mid(r.left_hip, r.right_hip);
  const starts: { yaw: number; q: Float64Array }[] = [];
  for (const dy of [0, Math.PI / 2, -Math.PI / 2, Math.PI]) starts.push({ yaw: heading + dy, q: home });
  starts.push({ yaw: heading, q: zeroPose(kin).map((v, i) => (kin.lower[i] + kin.upper[i]) / 2 * 0.3 + v * 0.7 || 0) });
  let best = { cost: Infinity, q: new Float64Array(nq), pos: new Float64Array(3), quat: new Float64Array(4) };
  const firstIters = opts.iterations ? opts.iterations * 15 : 60;
  solver.setBounds(null, 0);
  for (const st0 of starts) {
    s.q.set(st0.q);
    for (let i = 0; i < nq; i++) if (!Number.isFinite(s.q[i])) s.q[i] = home[i];
    const c = Math.cos(st0.yaw), sn = Math.sin(st0.yaw);
    s.baseQuat.set([Math.cos(st0.yaw / 2), 0, 0, Math.sin(st0.yaw / 2)]);
    s.basePos.set([hipC[0] - (c * rHipC[0] - sn * rHipC[1]), hipC[1] - (sn * rHipC[0] + c * rHipC[1]), hipC[2] - rHipC[2]]);
    solver.setBounds(null, 0);
    pinFingers();
    solver.solve({ maxIters: Math.ceil(firstIters / 4), lambda: 1e-3, tol: 1e-6 });
    const cost = solver.cost();
    if (cost < best.cost) best = { cost, q: Float64Array.from(s.q), pos: Float64Array.from(s.basePos), quat: Float64Array.from(s.baseQuat) };
  }
  s.q.set(best.q); s.basePos.set(best.pos); s.baseQuat.set(best.quat);
  for (let i = 0; i < nq; i++) if (fingerDof[i]) s.q[i] = home[i];

  // ---- all frames
  const iters = opts.iterations ?? 4;
  let iterSum = 0;
  const qPrev = new Float64Array(nq);
  const qPrev2 = new Float64Array(nq);
  const frameOpts = { maxIters: iters, lambda: 1e-4, tol: 1e-5, trustStep: 0.01 };
  const accel = opts.accelerationLimit ?? 0;
  const start = { q: Float64Array.from(s.q), pos: Float64Array.from(s.basePos), quat: Float64Array.from(s.baseQuat) };
  // `draft`: the smoothed balance's first pass, which only needs the CoM path: fewer iterations.
  const solveFrames = (draft = false) => {
    for (let t = 0; t < T; t++) {
      setFrame(t);
      if (t > 0) {
        const dt = targets.timestamps[t] - targets.timestamps[t - 1];
        if (t > 1) qPrev2.set(qPrev);
        qPrev.set(s.q);
        solver.setBounds(qPrev, dt, t > 1 ? qPrev2 : null, accel);
        damping.push(s.q, s.basePos);
        solver.basePrev.set(s.basePos);
        solver.baseDt = dt;
      } else {
        solver.setBounds(null, 0);
      }
      pinFingers();
      if (collision) { s.fk(); collision.beginFrame(kin.pose, t > 0 ? 0.1 + 3 * (targets.timestamps[t] - targets.timestamps[t - 1]) : 0.2); }
      frameOpts.maxIters = t === 0 ? firstIters : draft ? Math.min(2, iters) : iters;
      solver.solve(frameOpts);
      iterSum += solver.lastIters;
      if (fingerSolvers.length) {
        s.fk();
        for (const fsv of fingerSolvers) fsv.solveFrame(t, s.q);
        // Finger solvers must respect the same boxes.
        for (let i = 0; i < nq; i++) if (fingerDof[i] && t > 0) {
          const v = kin.velocityLimit[i] * (targets.timestamps[t] - targets.timestamps[t - 1]) * (1 - 1e-3);
          s.q[i] = Math.min(kin.upper[i], Math.max(kin.lower[i], Math.min(qPrev[i] + v, Math.max(qPrev[i] - v, s.q[i]))));
        }
        if (collision) {
          // New finger poses may touch the body: let the arms (and the rest) respond, fingers held.
          pinFingers();
          solver.solve({ maxIters: 2, lambda: 1e-4, tol: 1e-5 });
          iterSum += solver.lastIters;
        }
      }
      for (let i = 0; i < nq; i++) out.q[t * nq + i] = s.q[i];
      out.rootPos.set(s.basePos, 3 * t);
      out.rootQuat.set(s.baseQuat, 4 * t);
    }
  };
  solveFrames(!!comTask);
  if (comTask) {
    // Smoothed balance, second pass: the first pass's CoM moved into the support (with the margin) at each
    // stance frame, low-passed over time (so it does not jump from foot to foot in a quick step), is
    // tracked by a CoM task from the same start.
    const sig = W.balance_smoothing * targets.fps;
    const cx = new Float64Array(T), cy = new Float64Array(T);
    const qf = new Float64Array(nq), bf = { pos: new Float64Array(3), quat: new Float64Array(4) };
    const probe = new BalanceTask(comModel, balanceFeet, 0, balanceMargin);
    for (let t = 0; t < T; t++) {
      for (let i = 0; i < nq; i++) qf[i] = out.q[t * nq + i];
      for (let k = 0; k < 3; k++) bf.pos[k] = out.rootPos[3 * t + k];
      for (let k = 0; k < 4; k++) bf.quat[k] = out.rootQuat[4 * t + k];
      kin.fk(qf, bf);
      probe.support.left = supportW.left[t]; probe.support.right = supportW.right[t];
      const d = probe.evaluate(kin) + balanceMargin;
      if (probe.support.left <= 0 && probe.support.right <= 0) comModel.com(kin, probe.com);
      const m = Number.isFinite(d) && d > 0 ? d : 0;
      cx[t] = probe.com[0] - m * probe.region.dir[0];
      cy[t] = probe.com[1] - m * probe.region.dir[1];
    }
    const sx = gaussianSmooth(cx, T, 1, sig), sy = gaussianSmooth(cy, T, 1, sig);
    comTarget.x = sx; comTarget.y = sy;
    comTask.weight = W.balance;
    s.q.set(start.q); s.basePos.set(start.pos); s.baseQuat.set(start.quat);
    damping.history = 0;
    solver.baseDt = 0;
    iterSum = 0;
    solveFrames();
  }  return { ...out, iterSum };
}
