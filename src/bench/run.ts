/**
 * The quality-vs-success benchmark run: for every clip (and every seeded degradation of the clips that
 * pass the gate clean), pose track → quality gate (metrics, verdict) → retarget onto the robot →
 * outcome (simulation validation; injected, so the core is independent of the simulator) → one row.
 */
import type { PoseTrack } from '../pose/track.ts';
import type { RobotMotion } from '../robot/motion.ts';
import type { UrdfRobot } from '../robot/urdf.ts';
import { assessQuality, type QualityReport, type Verdict } from '../quality/index.ts';
import { retargetFile } from '../retarget/run.ts';
import { physicsCorrect, type StageValidation } from '../physics/index.ts';
import type { ValidationMode } from '../sim/index.ts';
import { isHandOnlyTrack, isHandRobot } from '../retarget/hand/index.ts';
import { UserError } from '../errors.ts';
import { DEFAULT_LEVELS, DEGRADATIONS, degradedVariants, type DegradationType } from './degrade.ts';
import { loadBenchClip, type ClipEntry, type LoadOptions } from './corpus.ts';

/** What the validation said about one motion: success, and continuous figures to correlate with. */
export interface Outcome {
  success: boolean;
  /** Continuous figures (e.g. residual force, tracking error); null when not measured. */
  figures: Record<string, number | null>;
  reasons: string[];
  /** Kinds of the validation checks that failed (e.g. 'torque', 'zmp', 'fall'), hard or soft. */
  checks?: string[];
}

/**
 * The outcome of a (physics-corrected) motion. `prior`: the validations the physics stage ran (an outcome that
 * validates may reuse the one of this very motion); `validateMode`: the mode the stage should validate in for that.
 */
export type OutcomeFn = ((motion: RobotMotion, prior?: StageValidation[]) => Promise<Outcome>) & { validateMode?: ValidationMode };

/** A numeric quality metric read from the gate's report, and which way is worse. */
export interface MetricDef {
  key: string;
  label: string;
  group: 'quality' | 'retarget';
  /** 'high' = larger values are worse; 'low' = smaller values are worse (fixed a priori, not fitted). */
  worse: 'high' | 'low';
  read: (q: QualityReport, r: Record<string, unknown> | null) => number | null;
}

const num = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);
const at = (o: unknown, ...keys: string[]): unknown => keys.reduce<unknown>((x, k) => (x && typeof x === 'object' ? (x as Record<string, unknown>)[k] : undefined), o);
const maskRate = (q: QualityReport, name: string): number | null => {
  const m = q.masks[name];
  if (!m || !m.length) return null;
  let s = 0;
  for (let i = 0; i < m.length; i++) s += m[i];
  return s / m.length;
};

export const METRICS: MetricDef[] = [
  { key: 'presence.rate', label: 'presence rate', group: 'quality', worse: 'low', read: (q) => num(at(q.metrics, 'presence', 'rate')) },
  { key: 'presence.longest_gap_s', label: 'longest gap (s)', group: 'quality', worse: 'high', read: (q) => num(at(q.metrics, 'presence', 'longest_gap_s')) },
  {
    key: 'confidence.min', label: 'lowest part confidence', group: 'quality', worse: 'low',
    read: (q) => {
      const c = Object.values((q.metrics.confidence ?? {}) as Record<string, unknown>).map(num).filter((v): v is number => v !== null);
      return c.length ? Math.min(...c) : null;
    },
  },
  { key: 'jitter.noise_mm', label: 'jitter (mm)', group: 'quality', worse: 'high', read: (q) => num(at(q.metrics, 'jitter', 'noise_mm')) },
  { key: 'jitter.worst_joint_mm', label: 'worst-joint jitter (mm)', group: 'quality', worse: 'high', read: (q) => num(at(q.metrics, 'jitter', 'worst_joint_mm')) },
  { key: 'bones.cv', label: 'bone-length CV', group: 'quality', worse: 'high', read: (q) => num(at(q.metrics, 'bones', 'cv')) },
  { key: 'timing.dropped_rate', label: 'dropped-frame rate', group: 'quality', worse: 'high', read: (q) => num(at(q.metrics, 'timing', 'dropped_rate')) },
  { key: 'timing.interval_cv', label: 'frame-interval CV', group: 'quality', worse: 'high', read: (q) => num(at(q.metrics, 'timing', 'interval_cv')) },
  { key: 'timing.fps_mismatch', label: 'fps mismatch', group: 'quality', worse: 'high', read: (q) => num(at(q.metrics, 'timing', 'fps_mismatch')) },
  { key: 'plausibility.ratio', label: 'speed vs human figure (ratio)', group: 'quality', worse: 'high', read: (q) => num(at(q.metrics, 'plausibility', 'ratio')) },
  { key: 'spikes.rate', label: 'spike rate (joint-frames)', group: 'quality', worse: 'high', read: (q) => num(at(q.metrics, 'spikes', 'rate')) },
  {
    key: 'limbs.min_visible', label: 'least-seen limb (fraction of frames)', group: 'quality', worse: 'low',
    read: (q) => {
      const v = Object.values((q.metrics.limbs ?? {}) as Record<string, unknown>).map(num).filter((x): x is number => x !== null);
      return v.length ? Math.min(...v) : null;
    },
  },
  { key: 'framing.cutoff_rate', label: 'cut-off rate', group: 'quality', worse: 'high', read: (q) => num(at(q.metrics, 'framing', 'cutoff_rate')) },
  { key: 'framing.subject_size', label: 'subject size', group: 'quality', worse: 'low', read: (q) => num(at(q.metrics, 'framing', 'subject_size')) },
  { key: 'masks.any_rate', label: 'frames with any problem', group: 'quality', worse: 'high', read: (q) => maskRate(q, 'any') },
  { key: 'masks.missing_rate', label: 'frames missing', group: 'quality', worse: 'high', read: (q) => maskRate(q, 'missing') },
  { key: 'masks.jitter_rate', label: 'jittery frames', group: 'quality', worse: 'high', read: (q) => maskRate(q, 'jitter') },
  { key: 'masks.bone_outlier_rate', label: 'bone-outlier frames', group: 'quality', worse: 'high', read: (q) => maskRate(q, 'bone_outlier') },
  { key: 'retarget.keypoint_error_mean_m', label: 'retarget keypoint error (m)', group: 'retarget', worse: 'high', read: (_q, r) => num(r?.keypoint_error_mean_m) },
  { key: 'retarget.max_joint_jump_rad', label: 'retarget max joint jump (rad)', group: 'retarget', worse: 'high', read: (_q, r) => num(r?.max_joint_jump_rad) },
  { key: 'retarget.mean_jerk_rad_s3', label: 'retarget mean jerk (rad/s³)', group: 'retarget', worse: 'high', read: (_q, r) => num(r?.mean_jerk_rad_s3) },
  { key: 'retarget.stance_skate_mean_cm_s', label: 'retarget foot skate (cm/s)', group: 'retarget', worse: 'high', read: (_q, r) => num(r?.stance_skate_mean_cm_s) },
];

export interface BenchRow {
  clip: string;
  degradation: DegradationType | 'none';
  level: number;
  frames: number;
  duration_s: number;
  verdict: Verdict;
  reason_codes: string[];
  metrics: Record<string, number | null>;
  success: boolean;
  /** Where the clip failed when not in validation: 'retarget' (the motion could not be made). */
  failed_stage: 'retarget' | 'physics' | 'validate' | null;
  /** The physics stage's verdict (null when it was off or retargeting failed). */
  physics?: string | null;
  figures: Record<string, number | null>;
  outcome_reasons: string[];
  /** Validation checks that failed (kinds); 'retarget' when the motion could not be made. */
  failed_checks: string[];
  seconds: number;
}

export interface SkippedClip { clip: string; reason: string }

export interface BenchOptions extends LoadOptions {
  outcome: OutcomeFn;
  /** Degradation strengths per type ({} or types with [] to skip them). Default DEFAULT_LEVELS. */
  levels?: Partial<Record<DegradationType, number[]>>;
  seed?: number;
  /** Which clips are degraded: those whose clean verdict is in this list (default ['pass']). */
  degradeVerdicts?: Verdict[];
  /** Physics-consistent stage between retarget and the outcome (default on). */
  physics?: boolean;
  onRow?: (row: BenchRow, done: number) => void;
  onSkip?: (s: SkippedClip) => void;
  onClip?: (clip: string, index: number, total: number) => void;
}

export interface BenchRun {
  robot: { name: string; file: string | null; urdf_sha256: string };
  rows: BenchRow[];
  skipped: SkippedClip[];
  levels: Record<DegradationType, number[]>;
  seed: number;
  fps: number;
  max_seconds: number;
  seconds: number;
}

/** Run one (clip, degradation, level) through gate → retarget → outcome. */
export async function evaluateTrack(
  track: PoseTrack, robot: UrdfRobot, outcome: OutcomeFn, meta: { clip: string; degradation: DegradationType | 'none'; level: number }, physics = true,
): Promise<BenchRow> {
  const t0 = performance.now();
  const q = assessQuality(track);
  let motion: RobotMotion | null = null;
  let err: string | null = null;
  try {
    motion = retargetFile(track, robot, { file: meta.clip }).motion;
  } catch (e) {
    if (!(e instanceof UserError)) throw e;
    err = e.message;
  }
  let out: Outcome;
  let failed: BenchRow['failed_stage'] = null;
  let physicsStatus: string | null = null;
  if (!motion) {
    out = { success: false, figures: {}, reasons: [`retarget failed: ${err}`], checks: ['retarget'] };
    failed = 'retarget';
  } else {
    // The physics-consistent stage (on by default, as in `run`): a motion its controller cannot follow fails here.
    let physicsFail: string[] | null = null;
    let prior: StageValidation[] | undefined;
    if (physics) {
      const p = await physicsCorrect(motion, robot, { file: meta.clip, ...(outcome.validateMode ? { validateMode: outcome.validateMode } : {}) });
      prior = p.validations;
      motion = p.motion;
      physicsStatus = p.report.status;
      if (p.report.status === 'infeasible') physicsFail = p.report.reasons.map((r) => `physics ${r.kind}: ${r.message}`);
    }
    // The validator's figures are taken either way (of the kinematic retarget when the controller fell).
    out = await outcome(motion, prior);
    if (physicsFail) {
      out = { ...out, success: false, reasons: [...physicsFail, ...out.reasons], checks: ['physics', ...(out.checks ?? [])] };
      failed = 'physics';
    } else if (!out.success) failed = 'validate';
  }
  const rq = motion ? (motion.quality as Record<string, unknown> | undefined) ?? null : null;
  const metrics: Record<string, number | null> = {};
  for (const m of METRICS) metrics[m.key] = m.read(q, rq);
  return {
    clip: meta.clip,
    degradation: meta.degradation,
    level: meta.level,
    frames: q.frames,
    duration_s: q.duration_s,
    verdict: q.verdict,
    reason_codes: [...new Set(q.reasons.map((r) => r.code))],
    metrics,
    success: out.success,
    failed_stage: failed,
    physics: physicsStatus,
    figures: out.figures,
    outcome_reasons: out.reasons,
    failed_checks: [...new Set(out.checks ?? [])],
    seconds: Math.round((performance.now() - t0)) / 1000,
  };
}

/** The whole benchmark over a corpus on one robot. */
export async function benchQuality(clips: ClipEntry[], robot: UrdfRobot, opts: BenchOptions): Promise<BenchRun> {
  const t0 = performance.now();
  const levels = Object.fromEntries(DEGRADATIONS.map((d) => [d, [...(opts.levels?.[d] ?? DEFAULT_LEVELS[d])]])) as Record<DegradationType, number[]>;
  const seed = opts.seed ?? 1;
  const degradeVerdicts = opts.degradeVerdicts ?? ['pass'];
  const handRobot = isHandRobot(robot);
  const rows: BenchRow[] = [];
  const skipped: SkippedClip[] = [];
  const skip = (clip: string, reason: string) => { const s = { clip, reason }; skipped.push(s); opts.onSkip?.(s); };
  for (let ci = 0; ci < clips.length; ci++) {
    const c = clips[ci];
    opts.onClip?.(c.id, ci, clips.length);
    const loaded = await loadBenchClip(c, opts);
    if ('skip' in loaded) { skip(c.id, loaded.skip); continue; }
    const track = loaded.track;
    const handOnly = isHandOnlyTrack(track);
    if (handOnly !== handRobot) {
      skip(c.id, handOnly ? `hand-only track; ${robot.name} is a body robot` : `body track; ${robot.name} is a hand`);
      continue;
    }
    const clean = await evaluateTrack(track, robot, opts.outcome, { clip: c.id, degradation: 'none', level: 0 }, opts.physics !== false);
    rows.push(clean);
    opts.onRow?.(clean, rows.length);
    if (!degradeVerdicts.includes(clean.verdict)) continue;
    for (const v of degradedVariants(track, c.id, levels, seed, skip)) {
      const row = await evaluateTrack(v.track, robot, opts.outcome, { clip: c.id, degradation: v.degradation, level: v.level }, opts.physics !== false);
      rows.push(row);
      opts.onRow?.(row, rows.length);
    }
  }
  return {
    robot: { name: robot.name, file: robot.file ?? null, urdf_sha256: robot.sha256 },
    rows, skipped, levels, seed,
    fps: opts.fps ?? 30,
    max_seconds: opts.maxSeconds ?? 10,
    seconds: Math.round(performance.now() - t0) / 1000,
  };
}
