import { describe, expect, it } from 'vitest';
import { builtinMotion } from '../../src/pose/index.ts';
import { assessQuality } from '../../src/quality/index.ts';
import { degrade, parseLevels, subtree, SPIKE_MM, OCCLUDED_ROOT } from '../../src/bench/degrade.ts';
import { cropAndResample } from '../../src/bench/corpus.ts';

const clean = cropAndResample(builtinMotion(), 4, 30);
const T = clean.timestamps.length;
const J = clean.jointNames.length;

describe('degradations', () => {
  it('noise: RMS of the added offsets is the level in mm, and the gate\'s jitter reads it', () => {
    for (const mm of [5, 20]) {
      const d = degrade(clean, 'noise', mm, 3);
      let s = 0, n = 0;
      for (let k = 0; k < T * J * 3; k++) {
        if (!Number.isFinite(clean.positions[k])) continue;
        s += (d.positions[k] - clean.positions[k]) ** 2; n++;
      }
      expect(Math.sqrt(s / n) * 1000).toBeGreaterThan(mm * 0.97);
      expect(Math.sqrt(s / n) * 1000).toBeLessThan(mm * 1.03);
      const jit = (assessQuality(d).metrics.jitter as { noise_mm: number }).noise_mm;
      expect(jit).toBeGreaterThan(mm * 0.8);
      expect(jit).toBeLessThan(mm * 1.25);
    }
  });

  it('is deterministic per seed and differs across seeds', () => {
    const a = degrade(clean, 'noise', 10, 1);
    const b = degrade(clean, 'noise', 10, 1);
    const c = degrade(clean, 'noise', 10, 2);
    expect(Buffer.from(a.positions.buffer).equals(Buffer.from(b.positions.buffer))).toBe(true);
    expect(Buffer.from(a.positions.buffer).equals(Buffer.from(c.positions.buffer))).toBe(false);
    // the input is not modified
    expect(Buffer.from(clean.positions.buffer).equals(Buffer.from(cropAndResample(builtinMotion(), 4, 30).positions.buffer))).toBe(true);
  });

  it('spikes: the hit fraction is the level, each hit a jump of SPIKE_MM', () => {
    const d = degrade(clean, 'spikes', 0.05, 1);
    let hits = 0;
    for (let k = 0; k < T * J; k++) {
      const m = Math.hypot(d.positions[3 * k] - clean.positions[3 * k], d.positions[3 * k + 1] - clean.positions[3 * k + 1], d.positions[3 * k + 2] - clean.positions[3 * k + 2]);
      if (m > 1e-6) { hits++; expect(m * 1000).toBeCloseTo(SPIKE_MM, 2); }
    }
    expect(hits / (T * J)).toBeGreaterThan(0.04);
    expect(hits / (T * J)).toBeLessThan(0.06);
  });

  it('drop: removes round(level·T) frames, keeps the rest with their timestamps, and the gate counts them', () => {
    const d = degrade(clean, 'drop', 0.2, 1);
    const dropped = Math.round(0.2 * T);
    expect(d.timestamps.length).toBe(T - dropped);
    expect(d.timestamps[0]).toBe(clean.timestamps[0]);
    expect(d.timestamps[d.timestamps.length - 1]).toBe(clean.timestamps[T - 1]);
    const orig = new Map(Array.from(clean.timestamps, (t, i) => [t, i]));
    for (let k = 0; k < d.timestamps.length; k++) {
      const i = orig.get(d.timestamps[k]);
      expect(i).toBeDefined();
      expect(Array.from(d.positions.subarray(3 * J * k, 3 * J * (k + 1)))).toEqual(Array.from(clean.positions.subarray(3 * J * i!, 3 * J * (i! + 1))));
    }
    const timing = assessQuality(d).metrics.timing as { dropped_frames: number };
    expect(timing.dropped_frames).toBe(dropped);
  });

  it('occlusion: the right forearm and hand are NaN (confidence 0) in round(level·T) frames, nothing else changes', () => {
    const d = degrade(clean, 'occlusion', 0.3, 1);
    const limb = new Set(subtree(clean, OCCLUDED_ROOT));
    expect(limb.has(clean.jointNames.indexOf('right_wrist'))).toBe(true);
    expect(limb.has(clean.jointNames.indexOf('right_hand_index_finger_tip'))).toBe(true);
    expect(limb.has(clean.jointNames.indexOf('left_wrist'))).toBe(false);
    let frames = 0;
    for (let t = 0; t < T; t++) {
      const gone = [...limb].map((j) => Number.isNaN(d.positions[3 * (t * J + j)]) && d.confidence[t * J + j] === 0);
      expect(gone.every((g) => g === gone[0])).toBe(true);
      if (gone[0]) frames++;
      for (let j = 0; j < J; j++) if (!limb.has(j)) expect(d.positions[3 * (t * J + j)]).toBe(clean.positions[3 * (t * J + j)]);
    }
    expect(frames).toBe(Math.round(0.3 * T));
  });

  it('fps: a wrong rate label scales velocities by the level', () => {
    const k = 2;
    const d = degrade(clean, 'fps', k, 1);
    expect(d.fps).toBe(clean.fps * k);
    const w = clean.jointNames.indexOf('right_wrist');
    const speed = (tr: typeof clean, t: number) => Math.hypot(...[0, 1, 2].map((c) => tr.positions[3 * ((t + 1) * J + w) + c] - tr.positions[3 * (t * J + w) + c])) / (tr.timestamps[t + 1] - tr.timestamps[t]);
    let checked = 0;
    for (let t = 0; t < T - 1; t++) {
      if (!(speed(clean, t) > 0.05)) continue;
      expect(speed(d, t) / speed(clean, t)).toBeCloseTo(k, 6);
      checked++;
    }
    expect(checked).toBeGreaterThan(10);
    // level 1 is the clean clip
    expect(Array.from(degrade(clean, 'fps', 1).timestamps)).toEqual(Array.from(clean.timestamps));
  });

  it('parses --levels and rejects bad ones', () => {
    const l = parseLevels(['noise=1,2', 'fps=']);
    expect(l.noise).toEqual([1, 2]);
    expect(l.fps).toEqual([]);
    expect(l.drop.length).toBeGreaterThan(0);
    expect(() => parseLevels(['blur=1'])).toThrow(/expected <type>=/);
    expect(() => parseLevels(['noise=a'])).toThrow(/numbers/);
  });
});
