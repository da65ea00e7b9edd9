/**
 * `run` validates a motion once (issue 17): the physics stage validates its output in the run's mode, and the
 * pipeline stores that report instead of validating the same motion again; it validates itself only when the
 * stage did not validate the motion stored (here `physics: false`) or did with other options. Every call of
 * checkFeasibility, from either stage, goes through the counter below (the real validator runs).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, beforeEach, expect, it, vi } from 'vitest';
import type { ValidationCall } from '../helpers/count-validations.ts';
import type { ValidationReport } from '../../src/sim/index.ts';

const calls = vi.hoisted(() => [] as ValidationCall[]);
vi.mock('../../src/sim/index.ts', async (orig) => (await import('../helpers/count-validations.ts')).countingSim(await orig(), calls));

import { importPose } from '../../src/pose/import.ts';
import { saveTrack, type PoseTrack } from '../../src/pose/track.ts';
import { loadUrdf, type UrdfRobot } from '../../src/robot/urdf.ts';
import { openStore } from '../../src/store/store.ts';
import { checkFeasibility } from '../../src/sim/index.ts';
import { reusableValidation, runClip, type RunOptions } from '../../src/pipeline/run.ts';
import { TEST_OPERATOR_KEY, writeConsent } from '../helpers/consent.ts';
import { describeShared, shared } from '../helpers/shared.ts';

const G1 = 'robots/unitree_g1/g1_29dof_rev_1_0.urdf';
const H1 = 'robots/unitree_h1/urdf/h1.urdf';
const WAVE = 'motions/cmu_small_gods_game/cmu_141_16_wave_hello.bvh';
const HAMMER = 'motions/cmu_small_gods_game/cmu_62_07_hammering_a_nail.bvh';

/** Frames [t0, t1) seconds of a real clip at its own rate (120 fps), saved as a pose track with its consent. */
function clip(dir: string, bvh: string, t0: number, t1: number): string {
  const t = importPose(shared(bvh));
  const J = t.jointNames.length;
  const keep = [...t.timestamps.keys()].filter((i) => t.timestamps[i] >= t0 && t.timestamps[i] < t1);
  const a = keep[0], b = keep[keep.length - 1] + 1;
  const part: PoseTrack = {
    ...t, positions: t.positions.slice(a * J * 3, b * J * 3), confidence: t.confidence.slice(a * J, b * J),
    timestamps: t.timestamps.slice(a, b).map((x) => x - t.timestamps[a]), extras: undefined,
  };
  const file = path.join(dir, `${path.basename(bvh, '.bvh')}-${t0}-${t1}.npz`);
  saveTrack(file, part);
  writeConsent(file.replace(/\.npz$/, '.consent.json'), file);
  return file;
}

/** The report as stored (JSON: -0 is 0) without its run-dependent figures (the pipeline moves these to the audit log). */
function content(v: ValidationReport): unknown {
  const { steps_per_second: _s, realtime_factor: _r, ...sim } = v.sim;
  return JSON.parse(JSON.stringify({ ...v, sim }));
}

/** How many calls validated the same trajectory (the same q array) as another call with the same mode. */
function repeats(): number {
  const seen = new Set<string>();
  const ids = new Map<Float32Array, number>();
  let n = 0;
  for (const c of calls) {
    if (!ids.has(c.motion.q)) ids.set(c.motion.q, ids.size);
    const k = `${ids.get(c.motion.q)}:${c.options.mode}`;
    if (seen.has(k)) n++;
    seen.add(k);
  }
  return n;
}

let dir: string;
beforeAll(() => { dir = fs.mkdtempSync(path.join(os.tmpdir(), 'r2r-validate-once-')); });
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
beforeEach(() => { calls.length = 0; });

const options = (robot: string, extra: Partial<RunOptions> = {}): RunOptions => ({ robot, store: path.join(dir, 'store'), key: TEST_OPERATOR_KEY, ...extra });

/** Run one clip; return the stored motion and validation report, and the robot. */
async function run(input: string, urdf: string, extra: Partial<RunOptions> = {}) {
  const r = await runClip(input, options(urdf, extra));
  expect(r.status, r.reasons.join(' | ')).toBe('stored');
  const ep = openStore(path.join(dir, 'store')).get(r.id!);
  return { result: r, motion: ep.motion!, validation: ep.validation as unknown as ValidationReport, robot: loadUrdf(urdf) as UrdfRobot };
}

describeShared('run validates the stored motion once, with the verdict validate gives', [G1, H1, WAVE, HAMMER], () => {
  it('G1, CMU wave (1.5 s at 120 fps): the physics stage corrects it and its validation of the output is the one stored', async () => {
    const input = clip(dir, WAVE, 0, 1.5);
    const { result, motion, validation, robot } = await run(input, shared(G1));
    expect(result.physics).toBe('corrected');
    // One validation in all, in the run's mode, of the very trajectory stored.
    expect(calls.map((c) => c.options.mode)).toEqual(['both']);
    expect(repeats()).toBe(0);
    expect(Array.from(calls[0].motion.q)).toEqual(Array.from(motion.q));
    // The stored report is the one validate gives for the stored motion (read back from the store).
    const alone = await checkFeasibility(motion, robot, { mode: 'both' });
    expect(validation.feasible).toBe(alone.feasible);
    expect(result.feasible).toBe(alone.feasible);
    expect(content(validation)).toEqual(content(alone));
  }, 240_000);

  it('H1, CMU hammering (1.5 s): the stage keeps the reference (infeasible) and its validation of the reference is the one stored', async () => {
    const input = clip(dir, HAMMER, 1, 2.5);
    const { result, motion, validation, robot } = await run(input, shared(H1));
    expect(result.physics).toBe('infeasible');
    expect(repeats()).toBe(0);
    expect(calls.map((c) => c.options.mode)).toEqual(['both']);
    expect(Array.from(calls[0].motion.q)).toEqual(Array.from(motion.q));
    const alone = await checkFeasibility(motion, robot, { mode: 'both' });
    expect(validation.feasible).toBe(false);
    expect(validation.feasible).toBe(alone.feasible);
    expect(content(validation)).toEqual(content(alone));
  }, 240_000);

  it('with the physics stage off, the pipeline validates (once, in its mode)', async () => {
    const input = clip(dir, HAMMER, 1, 2);
    const { result, motion, validation, robot } = await run(input, shared(H1), { physics: false, mode: 'assisted' });
    expect(result.physics).toBeUndefined();
    expect(calls.map((c) => c.options.mode)).toEqual(['assisted']);
    const alone = await checkFeasibility(motion, robot, { mode: 'assisted' });
    expect(content(validation)).toEqual(content(alone));
  }, 240_000);

  it('reuses a validation only for the same motion object and options', async () => {
    const input = clip(dir, WAVE, 0, 1);
    await run(input, shared(G1), { mode: 'assisted' });
    expect(calls.length).toBe(1);
    const v = calls[0];
    expect(reusableValidation(v.motion, { mode: 'assisted' }, [v])).toBe(v.report);
    // What the physics stage adds (reference_* extras, meta.physics) is not read by the validator.
    expect(reusableValidation({ ...v.motion, meta: { physics: {} }, extras: {} }, { mode: 'assisted' }, [v])).toBe(v.report);
    // Another mode, other validation settings, or a copy of the trajectory (even an equal one): validated again.
    expect(reusableValidation(v.motion, { mode: 'both' }, [v])).toBeUndefined();
    expect(reusableValidation(v.motion, { mode: 'assisted', config: 'other.yaml' }, [v])).toBeUndefined();
    expect(reusableValidation({ ...v.motion, q: Float32Array.from(v.motion.q) }, { mode: 'assisted' }, [v])).toBeUndefined();
  }, 240_000);
});
