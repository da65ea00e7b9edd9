/**
 * Issue 20: the gate catches wrong frame-rate labels, impulsive spikes and a mostly-missing limb, and stays
 * quiet on the clean real clips. Every degraded clip is derived here, at test time, from ../shared/data
 * with the benchmark's seeded degradations (src/bench/degrade.ts), the way `bench quality` prepares them
 * (first 4 s, at most 30 fps).
 */
import { beforeAll, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describeShared, shared } from '../helpers/shared.ts';
import { importPose } from '../../src/pose/index.ts';
import type { PoseTrack } from '../../src/pose/track.ts';
import { cropAndResample, degrade } from '../../src/bench/index.ts';
import { assessQuality, type QualityReport } from '../../src/quality/assess.ts';
import { timelineMarkers } from '../../src/viewer/server.ts';

const M = 'motions/';
// Mocap body clips (BVH, TRC, DeepMimic): what `bench quality` degrades.
const MOCAP = [
  'cmu_01_01_forward_jumps_turn_around.bvh',
  'cmu_bvh11/cmu_131_01_start_walk_stop.bvh',
  'cmu_bvh11/cmu_131_03_start_hop_stop.bvh',
  'cmu_small_gods_game/cmu_05_02_dance_expressive_arms_pirouette.bvh',
  'cmu_small_gods_game/cmu_104_02_neutral_male_walk.bvh',
  'cmu_small_gods_game/cmu_141_16_wave_hello.bvh',
  'cmu_small_gods_game/cmu_62_07_hammering_a_nail.bvh',
  'cmu_small_gods_game/cmu_79_04_digging.bvh',
  'deepmimic/humanoid3d_walk.json',
  'deepmimic/humanoid3d_jog.json',
  'deepmimic/humanoid3d_run.json',
  'opensim_rajagopal2016_walk/markers_walk.trc',
].map((f) => M + f);
// Keypoint files of the videos (the squats reference is 5 fps: the video's rate; the file states none).
const KEYPOINTS = ['keypoints/tfjs_pose_squats_3d.full.json', 'keypoints/tfjs_pose_squats.full.json', 'keypoints/dex_retargeting_human_joint_right.json', 'keypoints/dex_retargeting_human_joint_right.npy'];
const load = (rel: string): PoseTrack => importPose(shared(rel), rel.includes('squats') ? { sourceFps: 5 } : {});
const NEW = /^(plausibility|spikes|parts\.limb_missing)/;
const newReasons = (r: QualityReport) => r.reasons.filter((x) => NEW.test(x.code));
const has = (r: QualityReport, code: string, sev?: 'flag' | 'reject') => r.reasons.some((x) => x.code === code && (!sev || x.severity === sev));

describeShared('quality gate: rate plausibility, spikes, missing limbs (issue 20)', [...MOCAP, ...KEYPOINTS], () => {
  const bench = new Map<string, PoseTrack>();
  const full = new Map<string, PoseTrack>();
  beforeAll(() => {
    for (const f of [...MOCAP, ...KEYPOINTS]) {
      const t = load(f);
      full.set(f, t);
      bench.set(f, cropAndResample(t, 4, 30));
    }
  });

  it('clean clips at their own rate: the new checks reject none and flag at most one', () => {
    const flagged: string[] = [];
    for (const [f, t] of [...full, ...bench]) {
      const r = assessQuality(t);
      const nr = newReasons(r);
      expect(nr.filter((x) => x.severity === 'reject'), f).toEqual([]);
      if (!nr.length) continue;
      flagged.push(f);
      // Where a new check speaks, the clip was flagged already by the older checks: the verdict is unchanged.
      expect(r.reasons.filter((x) => !NEW.test(x.code)).length, f).toBeGreaterThan(0);
    }
    // 32 assessments (16 clips whole and as the benchmark crops them). Measured: the BlazePose squats
    // reference in image coordinates (ankle/heel glitches at 5 fps: 3.2 % spikes whole, 1.7 % cropped; its
    // bone lengths are flagged as well). No other clip.
    expect(new Set(flagged).size, flagged.join(', ')).toBeLessThanOrEqual(1);
  });

  it('a wrong frame-rate label: flagged from 1.5× and rejected from 2× on most mocap clips, with value and threshold', () => {
    let flag15 = 0, reject2 = 0;
    for (const f of MOCAP) {
      const t = bench.get(f)!;
      const r15 = assessQuality(degrade(t, 'fps', 1.5, 1));
      const r2 = assessQuality(degrade(t, 'fps', 2, 1));
      const clean = (assessQuality(t).metrics.plausibility as { ratio: number }).ratio;
      // The figure scales with the label: at 2× it is at least 1.9× the clean one.
      expect((r2.metrics.plausibility as { ratio: number }).ratio).toBeGreaterThan(1.9 * clean);
      if (has(r15, 'plausibility.too_fast')) flag15++;
      if (has(r2, 'plausibility.too_fast', 'reject')) reject2++;
      const reason = r2.reasons.find((x) => x.code === 'plausibility.too_fast');
      if (reason) {
        expect(reason.value).toBeGreaterThanOrEqual(reason.threshold);
        expect(reason.message).toMatch(/stated 60 fps/);
        expect(reason.message).toContain(`${reason.threshold}×`);
      }
    }
    // Measured 10 of 12 at both strengths: the arm-only dance (forearm 8.9 rad/s clean) and the 1.3 s
    // DeepMimic walk loop (too short for two swings) stay humanly plausible at 1.5× and are not rejected at
    // 2×. See docs/quality.md.
    expect(flag15).toBeGreaterThanOrEqual(10);
    expect(reject2).toBeGreaterThanOrEqual(10);
  });

  it('a wrong label on real clips: the clip at its own rate passes, the same frames at k× its rate are flagged naming that rate exactly when k exceeds the clip\'s headroom', () => {
    const RATE = /^plausibility\./;
    for (const f of [...MOCAP, ...KEYPOINTS]) {
      const t = bench.get(f)!;
      const clean = assessQuality(t);
      const pc = clean.metrics.plausibility as { ratio: number; headroom: number };
      expect(clean.reasons.filter((x) => RATE.test(x.code)), f).toEqual([]);
      expect(pc.headroom, f).toBeGreaterThan(1);
      for (const k of [1.5, 2, 3]) {
        const r = assessQuality(degrade(t, 'fps', k, 1));
        const p = r.metrics.plausibility as { ratio: number; headroom: number };
        // Every figure is in seconds: the label multiplies speeds by k, the fall figure by k², and divides the headroom by k.
        expect(p.headroom * k / pc.headroom, `${f} ${k}x`).toBeCloseTo(1, 1);
        expect(p.ratio / pc.ratio, `${f} ${k}x`).toBeGreaterThan(0.99 * k);
        const reason = r.reasons.find((x) => x.code === 'plausibility.too_fast');
        if (Math.abs(k / pc.headroom - 1) < 0.02) continue; // at the line: rounding decides
        expect(!!reason, `${f} at ${k}x, headroom ${pc.headroom}`).toBe(k > pc.headroom);
        if (reason) expect(reason.message).toContain(`stated ${t.fps * k} fps`);
      }
    }
    // The clips named in RESULTS.md as beyond the check's reach: their motion is slow enough that a person
    // could do it 2× faster (a hand opening and closing, a squat at 5 fps), so no human figure tells the
    // wrong label apart from a faster person. Measured headroom: 6.4× (hand), 4.7× (squats).
    for (const f of ['keypoints/dex_retargeting_human_joint_right.json', 'keypoints/tfjs_pose_squats_3d.full.json']) {
      expect((assessQuality(bench.get(f)!).metrics.plausibility as { headroom: number }).headroom, f).toBeGreaterThan(3);
    }
    // A walk at its own rate passes; labelled 1.5× (45 fps) it is flagged, 2× (60 fps) rejected, naming the rate.
    const walk = bench.get(M + 'cmu_bvh11/cmu_131_01_start_walk_stop.bvh')!;
    expect(assessQuality(walk).verdict).toBe('pass');
    const w15 = assessQuality(degrade(walk, 'fps', 1.5, 1)).reasons.find((x) => x.code === 'plausibility.too_fast');
    expect(w15?.severity).toBe('flag');
    expect(w15!.message).toMatch(/^implausibly fast for a person at the stated 45 fps: .*a wrong frame-rate label\?$/);
    expect(assessQuality(degrade(walk, 'fps', 2, 1)).reasons.find((x) => x.code === 'plausibility.too_fast')?.severity).toBe('reject');
  });

  it('spikes: flagged at 2 % and rejected at 5 % of joint-frames on the mocap clips, spike frames in the mask and the viewer lane', () => {
    let flag2 = 0, reject5 = 0;
    for (const f of MOCAP) {
      const t = bench.get(f)!;
      const r2 = assessQuality(degrade(t, 'spikes', 0.02, 1));
      const r5 = assessQuality(degrade(t, 'spikes', 0.05, 1));
      if (has(r2, 'spikes.high')) flag2++;
      if (has(r5, 'spikes.high', 'reject')) reject5++;
      expect(has(assessQuality(t), 'spikes.high'), f).toBe(false);
    }
    // Measured 11 of 12 at both: the DeepMimic run reads 1.4 % and 3.4 % (its own jitter, 2.4 mm, sets a
    // higher bar, and its fast limbs break the pattern of some spikes).
    expect(flag2).toBeGreaterThanOrEqual(11);
    expect(reject5).toBeGreaterThanOrEqual(11);

    // The frames hit by a spike are the frames the mask marks (a clip with few, known spikes).
    const t = bench.get(M + 'cmu_small_gods_game/cmu_104_02_neutral_male_walk.bvh')!;
    const d = degrade(t, 'spikes', 0.01, 7);
    const T = t.timestamps.length, J = t.jointNames.length;
    const hit = new Set<number>();
    for (let k = 0; k < T * J; k++) if ([0, 1, 2].some((c) => Math.abs(d.positions[3 * k + c] - t.positions[3 * k + c]) > 1e-6)) hit.add(Math.floor(k / J));
    const r = assessQuality(d);
    const marked = [...r.masks.spikes.keys()].filter((i) => r.masks.spikes[i]);
    const inner = [...hit].filter((i) => i >= 2 && i < T - 2);
    expect(marked.every((i) => hit.has(i))).toBe(true);
    expect(marked.length).toBeGreaterThanOrEqual(0.8 * inner.length);
    // The viewer's quality lane shows them.
    const lane = timelineMarkers({ id: 'x', label: 'x', motion: undefined as never, urdf: '', masks: r.masks }).filter((m) => m.kind === 'spikes');
    expect(lane.map((m) => m.frame).sort((a, b) => a - b)).toEqual(marked);
  });

  it('a forearm and hand missing in 80 % of frames: flagged naming the arm without a task, rejected when a task requires it', () => {
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'r2r-limb-'));
    const task = path.join(tmp, 'reach.yaml');
    fs.writeFileSync(task, 'id: reach\ninstructions: Reach with the right arm.\nvisible: [right_arm]\nduration_s: { min: 0.5, max: 60 }\n');
    try {
      for (const f of MOCAP) {
        const t = bench.get(f)!;
        const r = assessQuality(degrade(t, 'occlusion', 0.8, 1));
        const reason = r.reasons.find((x) => x.code === 'parts.limb_missing');
        expect(reason?.severity, f).toBe('flag');
        expect(reason!.message).toMatch(/^right arm seen in only \d+\.\d% of the frames/);
        expect(r.masks.right_arm_missing.some((v) => v === 1)).toBe(true);
        expect(has(assessQuality(degrade(t, 'occlusion', 0.3, 1)), 'parts.limb_missing')).toBe(false);
        expect(assessQuality(degrade(t, 'occlusion', 0.8, 1), { task }).verdict).toBe('reject');
      }
    } finally {
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  });
});
