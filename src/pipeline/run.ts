/**
 * The whole pipeline for one recording, as `reel2real run` and `reel2real batch` call it:
 *
 *   consent gate → capture (video) or import (mocap, keypoints, pose track) → quality gate → retarget
 *   (body, fingers, and a separate hand model when given) → physics stage (src/physics) → validate (articulated
 *   dynamics; Rapier only for mesh hulls and self-contact; the physics stage's own report when it validated the
 *   motion stored, in the run's mode) → store (+ audit log)
 *
 * Nothing is written for a recording that the consent gate refuses. A clip the quality gate rejects is
 * not retargeted or stored (its reasons are returned); `keepRejected` stores it anyway, marked.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { UserError } from '../errors.ts';
import { importPose } from '../pose/import.ts';
import type { PoseTrack } from '../pose/track.ts';
import { assessQuality, reportToJson, type QualityReport } from '../quality/assess.ts';
import { loadTask } from '../quality/config.ts';
import { loadUrdf, type UrdfRobot } from '../robot/urdf.ts';
import { Kinematics } from '../robot/kinematics.ts';
import { retarget } from '../retarget/index.ts';
import type { RobotMotion } from '../robot/motion.ts';
import { fingerSolvers, isHandOnlyTrack, isHandRobot, retargetHand } from '../retarget/hand/index.ts';
import { gateIngest, type GateResult } from '../privacy/gate.ts';
import { appendAudit } from '../privacy/audit.ts';
import { keptVideoPath, recordConsent, storeConsents } from '../privacy/purge.ts';
import { openStore, type EpisodeStore } from '../store/store.ts';
import type { Episode } from '../store/episode.ts';
import { checkFeasibility, type CheckOptions, type ValidationMode, type ValidationReport } from '../sim/index.ts';
import { physicsCorrect, reusableValidation, type PhysicsStatus, type StageValidation } from '../physics/index.ts';

export const VIDEO_EXTENSIONS = ['.mp4', '.mov', '.mkv', '.webm', '.avi', '.m4v'];

export type Stage = 'consent' | 'capture' | 'import' | 'quality' | 'retarget' | 'physics' | 'validate' | 'store' | 'keep-video';

export interface RunOptions {
  /** Humanoid (or hand) URDF the motion is retargeted onto. */
  robot: string;
  /** A separate dexterous hand URDF (right hand): its fingers are driven by the right-hand landmarks. */
  hand?: string;
  store: string;
  /** Consent manifest; default: the sidecar beside each recording. */
  consent?: string;
  /** Task id or file (configs/tasks). */
  task?: string;
  /** The use this run makes of the data (default robot-training). */
  scope?: string;
  /** Operator's pseudonym key (HMAC). */
  key: Buffer | Uint8Array;
  /** Who runs it, for the audit log (default the OS user). */
  actor?: string;
  /** Keep the video (sanitised: metadata stripped, faces blurred, verified). */
  keepVideo?: boolean;
  keepAudio?: boolean;
  /** Closed-loop validation mode (default both). */
  mode?: ValidationMode;
  /** Keep the robot's centre of mass over its stance feet while retargeting (two-pass, smoothed). */
  balance?: boolean;
  /** Physics-consistent stage after retargeting (src/physics; default on): false keeps the kinematic retarget. */
  physics?: boolean;
  /** Store clips the quality gate rejects (marked rejected) instead of dropping them. */
  keepRejected?: boolean;
  /** Capture options for videos. */
  capture?: { body?: boolean; hands?: boolean; maxFrames?: number; workers?: number };
  /** Called as each stage starts and ends. */
  onStage?: (clip: string, stage: Stage, state: 'start' | 'end', detail?: string) => void;
  /** Progress inside a stage (capture frames). */
  onProgress?: (clip: string, stage: Stage, done: number, total: number) => void;
}

export interface ClipResult {
  input: string;
  status: 'stored' | 'rejected' | 'refused' | 'skipped' | 'error';
  id?: string;
  /** Why a clip was refused, rejected or failed, and the validation reasons of a stored one. */
  reasons: string[];
  quality?: QualityReport['verdict'];
  feasible?: boolean | null;
  /** The physics stage's verdict (when it ran). */
  physics?: PhysicsStatus;
  frames?: number;
  seconds: Record<string, number>;
}

export function isVideo(file: string): boolean {
  return VIDEO_EXTENSIONS.includes(path.extname(file).toLowerCase());
}

interface Robots {
  robot: UrdfRobot;
  hand?: UrdfRobot;
}

const robotCache = new Map<string, UrdfRobot>();
function loadRobot(file: string): UrdfRobot {
  const abs = path.resolve(file);
  if (!robotCache.has(abs)) robotCache.set(abs, loadUrdf(abs));
  return robotCache.get(abs)!;
}

/**
 * Check a run's own arguments before any input is touched: every input and the consent manifest exist, the
 * robot (and hand) URDF loads, the task resolves. UserError naming the file and the problem otherwise — so a
 * mistyped --robot is one clear line, not a consent check followed by "1 failed".
 */
export function checkRunArguments(inputs: string[], opts: Pick<RunOptions, 'robot' | 'hand' | 'consent' | 'task'>): void {
  const mustExist = (file: string, what: string) => {
    if (!fs.existsSync(file)) throw new UserError(`no such ${what}`, file);
  };
  mustExist(opts.robot, 'robot URDF (--robot)');
  if (opts.hand) mustExist(opts.hand, 'hand URDF (--hand)');
  if (opts.consent) mustExist(opts.consent, 'consent manifest (--consent)');
  for (const input of inputs) mustExist(input, 'input file');
  loadRobot(opts.robot);
  if (opts.hand) loadRobot(opts.hand);
  if (opts.task) loadTask(opts.task);
}

/** Run one recording through every stage. Errors in the input become a result with status 'error'. */
export async function runClip(input: string, opts: RunOptions, store?: EpisodeStore): Promise<ClipResult> {
  const clip = path.basename(input);
  const seconds: Record<string, number> = {};
  const result: ClipResult = { input, status: 'error', reasons: [], seconds };
  const stage = async <T>(name: Stage, fn: () => T | Promise<T>, detail?: (v: T) => string): Promise<T> => {
    opts.onStage?.(clip, name, 'start');
    const t0 = performance.now();
    const v = await fn();
    seconds[name] = +((performance.now() - t0) / 1000).toFixed(3);
    opts.onStage?.(clip, name, 'end', detail?.(v));
    return v;
  };
  try {
    // 1. Consent: before anything is read further or written.
    let gate: GateResult;
    try {
      gate = await stage('consent', () => gateIngest({ recording: input, manifestPath: opts.consent, scope: opts.scope ?? 'robot-training', key: opts.key, known: fs.existsSync(opts.store) ? storeConsents(opts.store) : [] }));
    } catch (err) {
      if (err instanceof UserError) {
        result.status = 'refused';
        result.reasons.push(err.message);
        return result;
      }
      throw err;
    }
    const robots: Robots = { robot: loadRobot(opts.robot), hand: opts.hand ? loadRobot(opts.hand) : undefined };

    // 2. Human motion.
    let track: PoseTrack;
    if (isVideo(input)) {
      const { captureVideo } = await import('../capture/capture.ts');
      track = await stage('capture', () => captureVideo(input, {
        body: opts.capture?.body, hands: opts.capture?.hands, maxFrames: opts.capture?.maxFrames, workers: opts.capture?.workers,
        onProgress: (p) => opts.onProgress?.(clip, 'capture', p.frames, p.total ?? 0),
      }), (t) => `${t.timestamps.length} frames`);
    } else {
      track = await stage('import', () => importPose(input), (t) => `${t.timestamps.length} frames, ${t.jointNames.length} joints`);
    }
    result.frames = track.timestamps.length;

    // 3. Quality gate.
    const quality = await stage('quality', () => assessQuality(track, { task: opts.task ?? null, video: isVideo(input) ? input : null }), (q) => q.verdict);
    result.quality = quality.verdict;
    const qualityReasons = quality.reasons.map((r) => `quality ${r.severity}: ${r.code}: ${r.message}`);
    if (quality.verdict === 'reject' && !opts.keepRejected) {
      result.status = 'rejected';
      result.reasons.push(...qualityReasons);
      return result;
    }

    // 4. Retarget.
    let { motion, handMotion } = await stage('retarget', () => retargetAll(track, robots, input, !!opts.balance), (r) => `${r.motion.timestamps.length} frames: body → ${r.motion.robot.name} (${r.motion.jointNames.length} joints)${r.handMotion ? `, right hand → ${r.handMotion.robot.name} (${r.handMotion.jointNames.length} joints)` : ''}`);

    // 4b. Physics-consistent motion: the simulated trajectory of a tracking controller (the kinematic retarget
    // kept beside it as reference_*); a motion it cannot follow keeps the retarget, marked infeasible. The stage
    // validates its output in the run's mode, so that report is the one step 5 stores (validateMode: the verdict
    // is the same in every mode).
    const check: CheckOptions = { mode: opts.mode ?? 'both' };
    const physicsReasons: string[] = [];
    let validated: StageValidation[] = [];
    if (opts.physics !== false) {
      const p = await stage('physics', () => physicsCorrect(motion, robots.robot, { file: input, validateMode: check.mode }), (r) => r.report.status);
      motion = p.motion;
      validated = p.validations ?? [];
      result.physics = p.report.status;
      physicsReasons.push(...p.report.reasons.map((r) => `physics ${r.kind}: ${r.message}`));
      if (handMotion && robots.hand) {
        const ph = await physicsCorrect(handMotion, robots.hand, { file: input, validateMode: check.mode });
        handMotion = ph.motion;
        validated = validated.concat(ph.validations ?? []);
        if (ph.report.status === 'infeasible') result.physics = 'infeasible';
        physicsReasons.push(...ph.report.reasons.map((r) => `hand physics ${r.kind}: ${r.message}`));
      }
    }

    // 5. Validate — unless the physics stage already validated the very motion stored, with these options.
    const validateOnce = (m: RobotMotion, robot: UrdfRobot) => reusableValidation(m, check, validated) ?? checkFeasibility(m, robot, check);
    const validation = await stage('validate', () => validateOnce(motion, robots.robot), (v) => (v.feasible ? 'feasible' : 'infeasible'));
    let handValidation: ValidationReport | undefined;
    if (handMotion && robots.hand) handValidation = await validateOnce(handMotion, robots.hand);
    // Feasible: the validator passes the stored motion and (when it ran) the physics stage followed it.
    const feasible = validation.feasible && (handValidation ? handValidation.feasible : true) && result.physics !== 'infeasible';
    result.feasible = feasible;

    // 6. Store (+ consent record, kept video, audit). The episode holds content only: throughput figures
    // (frames/s, steps/s) vary from run to run, so they go to the audit log, and the content id of the same
    // recording processed twice is the same.
    const st = store ?? openStore(opts.store, { create: true });
    const timing = {
      retarget: takeTiming(motion.quality, ['frames_per_second', 'frames_per_cpu_second', 'solve_seconds', 'solve_cpu_seconds']),
      hand_retarget: handMotion ? takeTiming(handMotion.quality, ['frames_per_second', 'frames_per_cpu_second', 'solve_seconds', 'solve_cpu_seconds']) : undefined,
      sim: takeTiming(validation.sim as unknown as Record<string, unknown>, ['steps_per_second', 'realtime_factor']),
      hand_sim: handValidation ? takeTiming(handValidation.sim as unknown as Record<string, unknown>, ['steps_per_second', 'realtime_factor']) : undefined,
      stage_seconds: seconds,
    };
    const ep: Episode = {
      provenance: {
        contributor: gate.contributorPseudonym,
        consent: gate.consentRef,
        task: opts.task,
        sources: [gate.recording],
        createdAt: new Date().toISOString(),
        tool: { name: 'reel2real', version: VERSION },
      },
      track,
      motion,
      handMotion,
      quality: { ...reportToJson(quality), ...(quality.verdict === 'reject' ? { kept_despite_reject: true } : {}) },
      validation: (handValidation ? { ...validation, feasible, hand: handValidation } : validation) as unknown as Record<string, unknown>,
      masks: quality.masks,
    };
    const id = await stage('store', () => {
      recordConsent(st.dir, gate.manifest);
      return st.put(ep);
    });
    result.id = id;
    appendAudit(st.dir, {
      action: 'ingest', actor: opts.actor, recording: gate.recording.sha256, episode: id,
      details: { file: gate.recording.file, robot: robots.robot.name, task: opts.task ?? null, quality: quality.verdict, feasible, timing },
    }, opts.key);
    if (opts.keepVideo && isVideo(input) && !fs.existsSync(keptVideoPath(st.dir, id))) {
      // Imported here: it loads TF.js (face detection), which a run without --keep-video never needs.
      const { keepVideo } = await import('../privacy/keep.ts');
      await stage('keep-video', () => keepVideo(st.dir, id, input, {
        keepAudio: opts.keepAudio, actor: opts.actor, key: opts.key,
        onProgress: (done, total) => opts.onProgress?.(clip, 'keep-video', done, total),
      }), (k) => `${k.report.frames} frames re-encoded, faces blurred in ${k.report.faces.frames_with_faces}, ${k.report.removed.tags.length} metadata tag(s) removed, checked again on the written file`);
    }
    result.status = 'stored';
    const why = (r: ValidationReport['reasons'][number]) => `${r.hard ? 'infeasible' : 'warning'}: ${r.kind}: ${r.message}`;
    result.reasons.push(...qualityReasons, ...physicsReasons, ...validation.reasons.map((r) => `validation ${why(r)}`));
    if (handValidation) result.reasons.push(...handValidation.reasons.map((r) => `hand validation ${why(r)}`));
    return result;
  } catch (err) {
    if (!(err instanceof UserError)) throw err;
    result.status = 'error';
    result.reasons.push(err.message);
    return result;
  }
}

export { reusableValidation } from '../physics/index.ts';

/** Remove run-dependent figures from a report, returning them. */
function takeTiming(report: Record<string, unknown> | undefined, keys: string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (!report) return out;
  for (const k of keys) {
    if (k in report) {
      out[k] = report[k];
      delete report[k];
    }
  }
  return out;
}

/** Body (with fingers where the robot has them) and, with a separate hand model, the right hand. */
function retargetAll(track: PoseTrack, robots: Robots, file: string, balance: boolean): { motion: RobotMotion; handMotion?: RobotMotion } {
  const { robot, hand } = robots;
  if (isHandRobot(robot)) {
    if (!isHandOnlyTrack(track) && !track.jointNames.some((n) => n.startsWith('right_hand_') || n.startsWith('left_hand_'))) {
      throw new UserError(`${robot.name} is a hand but the input has no hand landmarks`, file);
    }
    return { motion: retargetHand(track, robot, {}) };
  }
  if (isHandOnlyTrack(track)) throw new UserError(`the input has only hand landmarks; ${robot.name} is a humanoid (give a hand URDF with --robot)`, file);
  const motion = retarget(track, robot, {
    file,
    balance,
    fingers: (kin: Kinematics, map, tr) => fingerSolvers(kin, map.fingers, tr),
  });
  let handMotion: RobotMotion | undefined;
  if (hand && track.jointNames.includes('right_hand_wrist')) {
    handMotion = retargetHand(track, hand, { side: 'right' });
  }
  return { motion, handMotion };
}

export const VERSION: string = (() => {
  try {
    const pkg = JSON.parse(fs.readFileSync(new URL('../../package.json', import.meta.url), 'utf8'));
    return String(pkg.version);
  } catch {
    return '0.0.0';
  }
})();

/**
 * The exit status for a run's results (README "Exit status"): 0 every input stored (feasible or not), 1 any
 * failed (unreadable or invalid input), 3 none failed but any was refused (consent) or rejected (quality).
 */
export function runExitCode(results: Pick<ClipResult, 'status'>[]): number {
  if (results.some((r) => r.status === 'error')) return 1;
  if (results.some((r) => r.status === 'refused' || r.status === 'rejected')) return 3;
  return 0;
}

/** Run several recordings one after another into one store. */
export async function runPipeline(inputs: string[], opts: RunOptions): Promise<ClipResult[]> {
  const store = openStore(opts.store, { create: true });
  const out: ClipResult[] = [];
  for (const input of inputs) out.push(await runClip(input, opts, store));
  return out;
}
