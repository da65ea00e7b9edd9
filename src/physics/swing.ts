/**
 * Steps the robot can take: the timing and path of the reference's swing feet.
 *
 * A retarget can ask a foot to move in a few frames: a person shuffling or sliding a foot 5-10 cm in 50 ms reads as
 * a 50 ms step, and a robot cannot lift, carry and place a foot that fast without falling. And a swing the reference
 * makes a centimetre off the floor becomes, under a tracking controller that lags a little, a foot dragged along it.
 *
 *  - `lengthenSwings`: a swing shorter than `minFrames` is lengthened into the stances around it (equally before and
 *    after, only in frames where every other foot stands), so the robot has time to step.
 *  - `shapeSwings`: the swing foot's target path: lifted before it travels, set down after, clear of the floor.
 */

import { differentiate } from '../sim/reference.ts';

/** Per-foot stance [T, nF] (1 = stance). Returns per foot the frames made swing by lengthening ([T, nF], 1 = added). */
export function lengthenSwings(stance: Uint8Array, T: number, nF: number, minFrames: number): Uint8Array {
  const added = new Uint8Array(T * nF);
  if (minFrames <= 1) return added;
  const othersStand = (t: number, i: number): boolean => {
    for (let j = 0; j < nF; j++) if (j !== i && !stance[t * nF + j]) return false;
    return true;
  };
  for (let i = 0; i < nF; i++) {
    for (let a = 0; a < T; ) {
      if (stance[a * nF + i]) { a++; continue; }
      let b = a;
      while (b + 1 < T && !stance[(b + 1) * nF + i]) b++;
      const next = b + 1;
      // Only steps (stance on both sides); a clip that starts or ends in swing is left as it is.
      if (a > 0 && b < T - 1 && b - a + 1 < minFrames) {
        let need = minFrames - (b - a + 1);
        let lo = a, hi = b;
        // Alternate: one frame before, one after, while the foot stood there and every other foot stands.
        // Keep at least one frame of each neighbouring stance (the foot must touch down somewhere).
        for (let side = 0, stuck = 0; need > 0 && stuck < 2; side ^= 1) {
          const t = side === 0 ? lo - 1 : hi + 1;
          const ok = t >= 1 && t <= T - 2 && stance[t * nF + i] === 1 && othersStand(t, i)
            && (side === 0 ? stance[(t - 1) * nF + i] === 1 : stance[(t + 1) * nF + i] === 1);
          if (!ok) { stuck++; continue; }
          stuck = 0;
          stance[t * nF + i] = 0; added[t * nF + i] = 1;
          if (side === 0) lo = t; else hi = t;
          need--;
        }
        a = hi + 1;
      } else a = next;
    }
  }
  return added;
}

const minJerk = (s: number): number => s * s * s * (10 - 15 * s + 6 * s * s);

/**
 * Reshape foot f's target path (pos [T,3], quat [T,4]; vel [T,3] recomputed) over its swings. `added` marks the
 * frames lengthenSwings made swing; a swing containing one follows the straight line from lift-off to touch-down,
 * the others the reference's own horizontal path. Either is retimed so the foot rises before it travels and stops
 * travelling before it comes down: nothing horizontal in the first and last `hold` fraction of the swing, a
 * minimum-jerk progression between (a foot that moves sideways while still a few millimetres off the floor is
 * dragged along it). Height: at least `clearance` x sin(pi s) above the line from lift-off to touch-down height.
 */
export function shapeSwings(
  tr: { pos: Float64Array; vel: Float64Array; quat: Float64Array }, stance: Uint8Array, added: Uint8Array,
  T: number, nF: number, f: number, dt: number, clearance: number, hold: number,
): void {
  const { pos, vel, quat } = tr;
  const src = Float64Array.from(pos), srcQ = Float64Array.from(quat);
  const h = Math.min(0.45, Math.max(0, hold));
  for (let a = 0; a < T; ) {
    if (stance[a * nF + f]) { a++; continue; }
    let b = a;
    while (b + 1 < T && !stance[(b + 1) * nF + f]) b++;
    if (a > 0 && b < T - 1) {
      const p = a - 1, n = b + 1, len = n - p;
      let lengthened = false;
      for (let t = a; t <= b; t++) if (added[t * nF + f]) lengthened = true;
      for (let t = a; t <= b; t++) {
        const s = (t - p) / len;
        const w = minJerk(Math.min(1, Math.max(0, (s - h) / (1 - 2 * h))));
        // Where along the swing (in frames from p) the horizontal position and orientation are taken.
        const tau = p + w * len, i0 = Math.min(n - 1, Math.floor(tau)), k = tau - i0;
        for (let c = 0; c < 2; c++) {
          pos[3 * t + c] = lengthened ? src[3 * p + c] + (src[3 * n + c] - src[3 * p + c]) * w : src[3 * i0 + c] * (1 - k) + src[3 * i0 + 3 + c] * k;
        }
        const qa = lengthened ? p : i0, qb = lengthened ? n : i0 + 1, qk = lengthened ? w : k;
        let dot = 0;
        for (let c = 0; c < 4; c++) dot += srcQ[4 * qa + c] * srcQ[4 * qb + c];
        const sgn = dot < 0 ? -1 : 1;
        let nn = 0;
        for (let c = 0; c < 4; c++) { const v = srcQ[4 * qa + c] * (1 - qk) + sgn * srcQ[4 * qb + c] * qk; quat[4 * t + c] = v; nn += v * v; }
        nn = Math.sqrt(nn);
        for (let c = 0; c < 4; c++) quat[4 * t + c] /= nn;
        const line = src[3 * p + 2] + (src[3 * n + 2] - src[3 * p + 2]) * s;
        const floor = line + clearance * Math.sin(Math.PI * s);
        pos[3 * t + 2] = lengthened ? floor : Math.max(src[3 * t + 2], floor);
      }
    }
    a = b + 1;
  }
  differentiate(pos, T, 3, dt, vel);
}
