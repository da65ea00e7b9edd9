import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describeShared, shared, PROJECT_ROOT } from '../helpers/shared.ts';
import { runCli } from '../helpers/cli.ts';
import { assessQuality, maskRanges, reportToJson, type QualityReport } from '../../src/quality/assess.ts';
import { openStore } from '../../src/store/store.ts';
import { listTasks, loadTask, loadTaskFile, parseTask, thresholdsFor } from '../../src/quality/config.ts';
import { hasTool } from '../../src/io/ffmpeg.ts';
import { saveTrack, type PoseTrack } from '../../src/pose/track.ts';
import { cloneTrack, gaussian, squatsTrack } from './fixtures.ts';

const K = 'keypoints/';
const codes = (r: QualityReport) => r.reasons.map((x) => x.code).sort();
let tmp: string;
beforeAll(() => { tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'r2r-quality-')); });
afterAll(() => { fs.rmSync(tmp, { recursive: true, force: true }); });

function writeTask(name: string, body: string): string {
  const f = path.join(tmp, `${name}.yaml`);
  fs.writeFileSync(f, body);
  return f;
}

describe('task scripts', () => {
  it('the shipped tasks load and validate', () => {
    const ids = listTasks().map((t) => t.id);
    expect(ids).toEqual(expect.arrayContaining(['fold-laundry', 'wash-dishes', 'wipe-table', 'pick-and-place']));
    const wd = loadTask('wash-dishes');
    expect(wd.visible).toEqual(expect.arrayContaining(['left_hand', 'right_hand', 'torso', 'head']));
    expect(thresholdsFor(wd).jitter.noise_mm).toEqual({ flag: 10, reject: 24 });
    expect(thresholdsFor(null).jitter.noise_mm.flag).toBe(8);
  });

  it('bad task YAML ends in one line naming the file', () => {
    const bad = writeTask('broken', 'id: x\ninstructions: [unclosed\n');
    expect(() => loadTaskFile(bad)).toThrow(new RegExp(`^${bad.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: malformed YAML`));
    expect(() => parseTask({ id: 'a', instructions: 'x', duration_s: { min: 5, max: 1 } }, 'f.yaml')).toThrow(/f\.yaml: duration_s/);
    expect(() => parseTask({ id: 'a', instructions: 'x', duration_s: { min: 1, max: 5 }, visible: ['tail'] }, 'f.yaml')).toThrow(/unknown body part "tail"/);
    expect(() => parseTask({ id: 'a', instructions: 'x', duration_s: { min: 1, max: 5 }, thresholds: { jitter: { noise: 3 } } }, 'f.yaml')).toThrow(/unknown threshold jitter\.noise/);
    const r = runCli(['qa', path.join(tmp, 'nope.npz'), '--task', bad]);
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
  });
});

describeShared('quality gate on real keypoints', [K + 'tfjs_pose_squats_3d.full.json', K + 'tfjs_pose_squats.full.json'], () => {
  let clean: PoseTrack;
  let taskFile: string;
  beforeAll(() => {
    clean = squatsTrack(shared(K + 'tfjs_pose_squats_3d.full.json'), shared(K + 'tfjs_pose_squats.full.json'));
    // A task this clip fulfils: whole body and both hands in view, 8–30 s, the arms move (band squats).
    taskFile = writeTask('squat-band', [
      'id: squat-band', 'instructions: Squat with a resistance band, whole body in view.', 'camera: fixed',
      'visible: [full_body, hands]', 'duration_s: { min: 8, max: 30 }', 'motion: { hands: both, wrist_travel_m: 0.1 }', '',
    ].join('\n'));
  });

  it('the clean clip passes, with every check run', () => {
    const r = assessQuality(clean, { task: taskFile });
    expect(r.reasons).toEqual([]);
    expect(r.verdict).toBe('pass');
    expect(r.skipped).toEqual([]);
    expect(r.masks.any.length).toBe(65);
    // Isolated spikes of this 5 fps reference are marked per frame (too few to flag); nothing else is.
    for (const [name, m] of Object.entries(r.masks)) if (name !== 'spikes' && name !== 'any') expect(m.every((v) => v === 0), name).toBe(true);
    expect((r.metrics.spikes as any).rate).toBeLessThan(r.thresholds.spikes.rate.flag);
    expect((r.metrics.jitter as any).noise_mm).toBeLessThan(8);
  });

  it('jitter is flagged as jitter.high and nothing else', () => {
    const t = cloneTrack(clean);
    const g = gaussian(7);
    for (let i = 0; i < t.positions.length; i++) t.positions[i] += 0.012 * g();
    const r = assessQuality(t, { task: taskFile });
    expect(codes(r)).toEqual(['jitter.high']);
    expect(r.verdict).toBe('flag');
    // The estimate reads the injected noise (12 mm) to within the clip's own motion residual.
    expect(r.reasons[0].value).toBeGreaterThan(10);
    expect(r.reasons[0].value).toBeLessThan(16);
    const heavy = cloneTrack(clean);
    for (let i = 0; i < heavy.positions.length; i++) heavy.positions[i] += 0.03 * g();
    expect(assessQuality(heavy, { task: taskFile }).verdict).toBe('reject');
  });

  it('dropped frames (timestamp gaps) are flagged as timing.dropped_frames at the right frames', () => {
    const keep = [...Array(65).keys()].filter((i) => !(i >= 20 && i <= 24) && i !== 40);
    const t = subsetFrames(clean, keep);
    const r = assessQuality(t, { task: taskFile });
    expect(codes(r)).toEqual(['timing.dropped_frames']);
    const reason = r.reasons[0];
    expect((r.metrics.timing as any).dropped_frames).toBe(6);
    // Frame indices in the degraded track: the frame after the 5-frame gap is 20, after the single drop 35.
    expect(reason.frames).toEqual([[20, 20], [35, 35]]);
  });

  it('a hand leaving the frame is flagged as hands.not_visible for that hand only', () => {
    const t = cloneTrack(clean);
    const J = t.jointNames.length;
    const w = t.jointNames.indexOf('left_wrist');
    const img = t.extras!.image_landmarks.data as Float32Array;
    for (let f = 20; f <= 44; f++) {
      t.positions.fill(NaN, (f * J + w) * 3, (f * J + w) * 3 + 3);
      t.confidence[f * J + w] = 0;
      img.fill(NaN, (f * J + w) * 2, (f * J + w) * 2 + 2);
    }
    const r = assessQuality(t, { task: taskFile });
    expect(codes(r)).toEqual(['hands.not_visible']);
    expect(r.reasons[0].frames).toEqual([[20, 44]]);
    expect(r.reasons[0].message).toMatch(/left hand/);
    expect(r.masks.left_hand_missing.reduce((a, b) => a + b, 0)).toBe(25);
    expect(r.masks.right_hand_missing.reduce((a, b) => a + b, 0)).toBe(0);
  });

  it('a duration outside the task range is duration.too_short / too_long, and nothing else', () => {
    const long = writeTask('long-task', 'id: long-task\ninstructions: x\nvisible: [full_body]\nduration_s: { min: 30, max: 60 }\n');
    const r = assessQuality(clean, { task: long });
    expect(codes(r)).toEqual(['duration.too_short']);
    expect(r.verdict).toBe('reject');
    expect(r.reasons[0].value).toBeCloseTo(13, 5);
    const short = writeTask('short-task', 'id: short-task\ninstructions: x\nvisible: [full_body]\nduration_s: { min: 2, max: 12.5 }\n');
    const r2 = assessQuality(clean, { task: short });
    expect(codes(r2)).toEqual(['duration.too_long']);
    expect(r2.verdict).toBe('flag'); // 13 s is within the 10% slack of 12.5 s
  });

  it('a person cut off at the border is framing.cutoff, with the frames concerned', () => {
    const t = cloneTrack(clean);
    const J = t.jointNames.length;
    const img = t.extras!.image_landmarks.data as Float32Array;
    // Frames 10–39: the person walks right until the right side of the body leaves the 720-px-wide image.
    for (let f = 10; f <= 39; f++) for (let j = 0; j < J; j++) img[(f * J + j) * 2] += 330;
    const r = assessQuality(t, { task: taskFile });
    expect(codes(r)).toEqual(['framing.cutoff']);
    expect(r.reasons[0].frames).toEqual([[10, 39]]);
    expect(r.verdict).toBe('reject'); // 30 of 65 frames
    // The same in capture's layout: normalised BlazePose image points (image_body [T,33,3]) with presence_body.
    const raw = JSON.parse(fs.readFileSync(shared(K + 'tfjs_pose_squats.full.json'), 'utf8')) as number[][][];
    const cap = cloneTrack(clean);
    delete cap.extras!.image_landmarks;
    const body = new Float32Array(65 * 33 * 3);
    raw.forEach((f, t) => f.forEach(([x, y], k) => body.set([x / 720 + (t >= 10 && t <= 39 ? 0.45 : 0), y / 1280, 0], (t * 33 + k) * 3)));
    cap.extras!.image_body = { dtype: 'f4', shape: [65, 33, 3], data: body };
    cap.extras!.presence_body = { dtype: 'f4', shape: [65], data: new Float32Array(65).fill(0.99) };
    const rc = assessQuality(cap, { task: taskFile });
    expect(codes(rc)).toEqual(['framing.cutoff']);
    expect(rc.reasons[0].frames).toEqual([[10, 39]]);
    expect((rc.metrics.framing as any).image).toEqual([720, 1280]);
    // Without 2D landmarks the framing check is skipped with a reason, not passed silently.
    const bare = cloneTrack(clean);
    delete bare.extras!.image_landmarks;
    const r2 = assessQuality(bare, { task: taskFile });
    expect(r2.skipped.map((s) => s.check)).toContain('framing');
    expect(r2.metrics.framing).toBeUndefined();
  });

  it('no motion where the task needs it is motion.absent', () => {
    const still = cloneTrack(clean);
    const J = still.jointNames.length;
    for (let f = 1; f < 65; f++) still.positions.copyWithin(f * J * 3, 0, J * 3);
    const busy = writeTask('busy', 'id: busy\ninstructions: x\nduration_s: { min: 5, max: 60 }\nmotion: { hands: both, wrist_travel_m: 0.3 }\n');
    const r = assessQuality(still, { task: busy });
    expect(codes(r)).toContain('motion.absent');
    expect(r.verdict).toBe('reject');
  });

  it('the report and its per-frame masks are saved with the episode and read back', () => {
    const t = cloneTrack(clean);
    const J = t.jointNames.length;
    const w = t.jointNames.indexOf('right_wrist');
    for (let f = 30; f <= 40; f++) { t.positions.fill(NaN, (f * J + w) * 3, (f * J + w) * 3 + 3); t.confidence[f * J + w] = 0; }
    const r = assessQuality(t, { task: taskFile });
    const store = openStore(path.join(tmp, 'store'), { create: true });
    const id = store.put({
      provenance: { contributor: 'p-' + '0'.repeat(64), consent: { id: 'c-1', version: '1', scopes: ['robot-training'] }, task: 'squat-band', sources: [{ file: 'squats.mp4', sha256: '1'.repeat(64) }] },
      track: t, quality: reportToJson(r), masks: r.masks,
    });
    const ep = store.get(id);
    expect((ep.quality as any).verdict).toBe(r.verdict);
    expect((ep.quality as any).reasons.map((x: any) => x.code)).toEqual(['hands.not_visible']);
    expect(Object.keys(ep.masks!).sort()).toEqual(Object.keys(r.masks).sort());
    expect(Array.from(ep.masks!.right_hand_missing)).toEqual(Array.from(r.masks.right_hand_missing));
    expect(maskRanges(ep.masks!.right_hand_missing)).toEqual([[30, 40]]);
    // Same clip, same report: the episode id is stable (the report has no clock in it).
    expect(assessQuality(t, { task: taskFile })).toEqual(r);
  });

  it('qa CLI prints the verdict and the reasons, --json the full report', () => {
    const t = cloneTrack(clean);
    const g = gaussian(3);
    for (let i = 0; i < t.positions.length; i++) t.positions[i] += 0.012 * g();
    const f = path.join(tmp, 'jittered.npz');
    saveTrack(f, t);
    const r = runCli(['qa', f, '--task', taskFile]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/jittered\.npz: FLAG/);
    expect(r.stdout).toMatch(/jitter\.high/);
    const j = runCli(['qa', f, '--json']);
    expect(j.code).toBe(0);
    const rep = JSON.parse(j.stdout);
    expect(rep.verdict).toBe('flag');
    expect(rep.reasons.map((x: any) => x.code)).toEqual(['jitter.high']);
    expect(Array.isArray(rep.masks.jitter)).toBe(true);
    // A stricter thresholds file turns the flag into a reject.
    const strict = path.join(tmp, 'strict.yaml');
    fs.writeFileSync(strict, fs.readFileSync(path.join(PROJECT_ROOT, 'configs', 'quality.yaml'), 'utf8').replace(/noise_mm: \{ flag: 8, reject: 20 \}/, 'noise_mm: { flag: 4, reject: 9 }'));
    const s = runCli(['qa', f, '--thresholds', strict, '--json']);
    expect(JSON.parse(s.stdout).verdict).toBe('reject');
    const bad = runCli(['qa', path.join(tmp, 'missing.npz')]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/missing\.npz: no such file/);
  });
});

describeShared('quality gate reads the video too', ['videos/tfjs_pose_squats.mp4', K + 'tfjs_pose_squats_3d.full.json', K + 'tfjs_pose_squats.full.json'], () => {
  it.skipIf(!hasTool('ffmpeg'))('a video with dropped frames is flagged as video.timing.dropped_frames', () => {
    const clean = squatsTrack(shared(K + 'tfjs_pose_squats_3d.full.json'), shared(K + 'tfjs_pose_squats.full.json'));
    const ok = assessQuality(clean, { video: shared('videos/tfjs_pose_squats.mp4') });
    expect(ok.reasons).toEqual([]);
    expect((ok.metrics.video as any).frames).toBe(65);
    // Drop frames 30–34 from the real video, keeping every other frame's own timestamp.
    const out = path.join(tmp, 'dropped.mp4');
    const r = spawnSync('ffmpeg', ['-v', 'error', '-y', '-i', shared('videos/tfjs_pose_squats.mp4'), '-vf', "select='not(between(n\\,30\\,34))'",
      '-fps_mode', 'passthrough', '-c:v', 'libx264', '-preset', 'ultrafast', '-an', out]);
    expect(r.status, String(r.stderr)).toBe(0);
    const bad = assessQuality(clean, { video: out });
    expect(codes(bad)).toEqual(['video.timing.dropped_frames']);
    expect((bad.metrics.video as any).timing.dropped_frames).toBe(5);
  });
});

function subsetFrames(t: PoseTrack, keep: number[]): PoseTrack {
  const J = t.jointNames.length;
  const T = keep.length;
  const out = cloneTrack(t);
  out.positions = new Float32Array(T * J * 3);
  out.confidence = new Float32Array(T * J);
  out.timestamps = new Float64Array(T);
  const src = t.extras!.image_landmarks.data as Float32Array;
  const img = new Float32Array(T * J * 2);
  keep.forEach((f, i) => {
    out.positions.set(t.positions.subarray(f * J * 3, (f + 1) * J * 3), i * J * 3);
    out.confidence.set(t.confidence.subarray(f * J, (f + 1) * J), i * J);
    img.set(src.subarray(f * J * 2, (f + 1) * J * 2), i * J * 2);
    out.timestamps[i] = t.timestamps[f];
  });
  out.extras = { image_landmarks: { dtype: 'f4', shape: [T, J, 2], data: img } };
  return out;
}
