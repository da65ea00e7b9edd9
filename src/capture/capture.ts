/**
 * `captureVideo`: video file → PoseTrack (body and/or hands), on the CPU.
 *
 * Parallelism: the video is cut into one time segment per worker (by default one per core); the first segment
 * runs in this thread (its models are created while ffprobe probes the file), each other one in a worker
 * thread; each decodes its own segment with its own ffmpeg and runs the trackers on it, so the cores never wait
 * for each other. Tracking restarts with a detection at each segment's first frame. Rows come back in
 * order and are assembled (filtering, frames, confidence) once all are in.
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import { Worker } from 'node:worker_threads';
import { UserError } from '../errors.ts';
import type { PoseTrack } from '../pose/track.ts';
import { assemble, DEFAULT_FILTER, handFrameNote, type FilterSettings } from './assemble.ts';
import { R_BODY_IMAGE, R_BODY_NEXT_ROI, R_BODY_SCORE, ROW } from './layout.ts';
import type { BackendName } from './backend.ts';
import type { Batch, SegmentOptions, SegmentStats } from './segment.ts';
import { findFfmpeg, outputSize, probeVideoAsync, type VideoInfo } from './video.ts';

export interface CaptureOptions {
  /** Track the body (default true). */
  body?: boolean;
  /** Track both hands (default true). */
  hands?: boolean;
  bodyModel?: 'lite' | 'full' | 'heavy';
  handModel?: 'lite' | 'full';
  /** Worker threads (default: one per core, at most 4; 1 runs in this thread). */
  workers?: number;
  /** Only the first N frames (runs in one segment). */
  maxFrames?: number;
  /** Start / end time in seconds. */
  start?: number;
  end?: number;
  /** Decode so the long side is at most this (default 1280): the models see 224–256 px crops. */
  maxSide?: number;
  /** One Euro settings, or false for raw model output. */
  filter?: FilterSettings | false;
  backend?: BackendName;
  /** 35 mm-equivalent focal length of the camera, for the root estimate (default 26: a phone's main camera). */
  focalMm35?: number;
  onProgress?: (p: CaptureProgress) => void;
}

export interface CaptureProgress {
  frames: number;
  /** Expected frame count (from the container; an estimate for some files). */
  total: number;
  elapsed: number;
}

export interface CaptureSummary {
  frames: number;
  /** Wall seconds from the call to the last tracked frame: probing the file, starting the models, tracking. */
  seconds: number;
  fps: number;
  /**
   * Steady-state rate: frames / the longest segment's tracking loop (from its first decoded frame; model
   * start-up excluded). Segments run in parallel; a segment re-run for identity adds its loop.
   */
  steady_fps: number;
  backend: BackendName;
  simd: boolean | null;
  workers: number;
  rates: { body: number; left_hand: number; right_hand: number; any: number };
  calls: { body_landmark: number; body_detector: number; hand_landmark: number; palm_detector: number; hand_landmark_batched_pairs: number };
  /**
   * Where the segments' time went, seconds summed over segments (they run in parallel): tracking loop in all,
   * waiting for decoded frames, and each model's calls (calls, seconds).
   */
  timing: { segments: number; decode_wait: number; models: Record<string, { calls: number; seconds: number }> };
}

/** Seconds each segment tracks on into the next one, to carry the person's identity across the cut. */
const OVERLAP_S = 1;

interface SegmentResult {
  batches: Batch[];
  stats: SegmentStats;
}

function workerCount(opts: CaptureOptions, info: VideoInfo): number {
  if (opts.maxFrames !== undefined) return 1;
  const cores = typeof os.availableParallelism === 'function' ? os.availableParallelism() : os.cpus().length;
  const want = opts.workers ?? Math.min(cores, 4);
  // A segment costs a model load and a detection: not worth it for a short clip.
  const span = (opts.end ?? info.startTime + info.duration) - (opts.start ?? info.startTime);
  if (!Number.isFinite(span)) return 1;
  return Math.max(1, Math.min(want, Math.floor(span / 2)));
}

/**
 * The worker's entry: from the compiled dist/ (bin/build.mjs) it is the plain worker.js; from the TypeScript
 * sources (tsx, vitest) worker-boot.mjs registers tsx in the thread first.
 */
const WORKER_URL = import.meta.url.endsWith('.ts') ? new URL('./worker-boot.mjs', import.meta.url) : new URL('./worker.js', import.meta.url);

function runInWorker(file: string, info: VideoInfo, opts: SegmentOptions, onBatch: (b: Batch) => void): Promise<SegmentStats> {
  return new Promise((resolve, reject) => {
    const w = new Worker(WORKER_URL, { workerData: { file, info, opts, tools: findFfmpeg() } });
    let done = false;
    w.on('message', (m: any) => {
      if (m.type === 'batch') onBatch({ times: m.times, rows: m.rows, n: m.n });
      else if (m.type === 'done') {
        done = true;
        resolve(m.stats);
        void w.terminate();
      } else if (m.type === 'error') {
        done = true;
        const msg: string = m.file && m.message.startsWith(`${m.file}: `) ? m.message.slice(m.file.length + 2) : m.message;
        reject(m.user ? new UserError(msg, m.file) : new Error(msg));
        void w.terminate();
      }
    });
    w.on('error', (e) => {
      if (!done) reject(e);
      done = true;
    });
    w.on('exit', (code) => {
      if (!done) reject(new Error(`capture worker exited with code ${code}`));
    });
  });
}

function firstRow(r: SegmentResult): Float32Array | null {
  const b = r.batches[0];
  return b && b.n ? b.rows.subarray(0, ROW) : null;
}

function lastRow(r: SegmentResult): Float32Array | null {
  const b = r.batches[r.batches.length - 1];
  return b && b.n ? b.rows.subarray((b.n - 1) * ROW, b.n * ROW) : null;
}

const round3 = (x: number) => Math.round(x * 1000) / 1000;

/** Time of the last frame of a segment's result. */
function lastTime_(r: SegmentResult): number {
  const b = r.batches[r.batches.length - 1];
  return b && b.n ? b.times[b.n - 1] : -Infinity;
}

/** The row at time `t` (within half a microsecond), or null. */
function rowAt(r: SegmentResult, t: number): Float32Array | null {
  for (const b of r.batches) for (let i = 0; i < b.n; i++) if (Math.abs(b.times[i] - t) < 5e-7) return b.rows.subarray(i * ROW, (i + 1) * ROW);
  return null;
}

/**
 * Split a segment's rows at time `t`: [rows before t, rows from t on] (with `after`, the second part holds
 * only rows after t). The parts share no arrays with each other; stats stay with the first.
 */
function splitAt(r: SegmentResult, t: number, after = false): [SegmentResult, SegmentResult] {
  const a: Batch[] = [];
  const b: Batch[] = [];
  for (const x of r.batches) {
    let i = 0;
    while (i < x.n && (after ? x.times[i] <= t : x.times[i] < t - 1e-6)) i++;
    if (i === x.n) a.push(x);
    else if (i === 0) b.push(x);
    else {
      a.push({ times: x.times.slice(0, i), rows: x.rows.slice(0, i * ROW), n: i });
      b.push({ times: x.times.slice(i, x.n), rows: x.rows.slice(i * ROW, x.n * ROW), n: x.n - i });
    }
  }
  return [{ batches: a, stats: r.stats }, { batches: b, stats: r.stats }];
}

/** Hip centre in normalized image coordinates. */
function hip(row: Float32Array): [number, number] {
  const l = R_BODY_IMAGE + 3 * 23;
  const r = R_BODY_IMAGE + 3 * 24;
  return [(row[l] + row[r]) / 2, (row[l + 1] + row[r + 1]) / 2];
}

function sha256File(file: string): string {
  const h = createHash('sha256');
  const fd = fs.openSync(file, 'r');
  const buf = Buffer.allocUnsafe(1 << 20);
  try {
    for (;;) {
      const n = fs.readSync(fd, buf, 0, buf.length, null);
      if (!n) break;
      h.update(buf.subarray(0, n));
    }
  } finally {
    fs.closeSync(fd);
  }
  return h.digest('hex');
}

/** Capture body and hand poses from a video file. Bad input → UserError naming the file. */
export async function captureVideo(file: string, opts: CaptureOptions = {}): Promise<PoseTrack & { summary: CaptureSummary }> {
  const body = opts.body ?? true;
  const hands = opts.hands ?? true;
  if (!body && !hands) throw new UserError('nothing to capture: enable body, hands or both');
  const base: SegmentOptions = {
    body, hands, bodyModel: opts.bodyModel, handModel: opts.handModel, maxSide: opts.maxSide ?? 1280, backend: opts.backend,
  };
  // ffprobe runs (≈ 0.3 s, most of it the process start) while this thread creates its model sessions: the
  // first segment always runs in this thread (the others, if any, in workers), so the sessions are used.
  // `seconds` counts from here (probe, models and tracking), since the probe and the models now overlap.
  const t0 = performance.now();
  const probing = probeVideoAsync(file);
  const segmentModule = import('./segment.ts');
  const warm = segmentModule.then((m) => m.warmTrackers(base));
  warm.catch(() => {}); // a model error is thrown by the segment that needs them, not as an unhandled rejection
  let info: VideoInfo;
  try {
    info = await probing;
  } catch (e) {
    await warm.catch(() => {});
    throw e;
  }
  const nw = workerCount(opts, info);
  const start = opts.start ?? info.startTime;
  const end = opts.end ?? (Number.isFinite(info.duration) ? info.startTime + info.duration : Infinity);
  const expected = Math.max(1, opts.maxFrames ?? Math.round(info.frameCount * (Number.isFinite(end - start) && info.duration > 0 ? Math.min(1, (end - start) / info.duration) : 1)));
  let framesDone = 0;
  const progress = () => opts.onProgress?.({ frames: framesDone, total: Math.max(expected, framesDone), elapsed: (performance.now() - t0) / 1000 });
  const segs: SegmentOptions[] = [];
  for (let k = 0; k < nw; k++) {
    const seg: SegmentOptions = { ...base };
    if (nw === 1) {
      seg.start = opts.start;
      seg.end = opts.end;
      seg.maxFrames = opts.maxFrames;
    } else {
      seg.start = k === 0 ? opts.start : start + ((end - start) * k) / nw;
      seg.end = k === nw - 1 ? opts.end : start + ((end - start) * (k + 1)) / nw;
    }
    segs.push(seg);
  }
  // With the body tracked, each segment but the last keeps tracking for OVERLAP_S into the next one: where
  // its person and the next segment's own first detection agree at the end of that overlap, the overlap rows
  // stand for the next segment's first frames (tracked continuously across the cut) and nothing is run again.
  const boundaries = segs.map((sg) => sg.end);
  const overlap = body && nw > 1 ? Math.min(OVERLAP_S, (end - start) / nw / 4) : 0;
  if (overlap > 0) for (let k = 0; k < nw - 1; k++) segs[k].end = (segs[k].end as number) + overlap;
  const run = (seg: SegmentOptions, count: boolean, here: boolean): { res: SegmentResult; done: Promise<void> } => {
    const res: SegmentResult = { batches: [], stats: null as never };
    const onBatch = (b: Batch) => {
      res.batches.push(b);
      if (!count) return;
      framesDone += b.n;
      progress();
    };
    // The first segment in this thread (its trackers were started above), the others each in a worker with its own.
    const job = here ? segmentModule.then((m) => m.runSegment(file, info, seg, onBatch)) : runInWorker(file, info, seg, onBatch);
    return { res, done: job.then((s) => void (res.stats = s)) };
  };
  const started = segs.map((seg, k) => run(seg, true, k === 0));
  const settled = await Promise.allSettled(started.map((s) => s.done));
  const failed = settled.find((s) => s.status === 'rejected') as PromiseRejectedResult | undefined;
  if (failed) throw failed.reason;
  const results = started.map((s) => s.res);
  // Each segment started with its own detection: where that picked someone else than the person the previous
  // segment tracked into it (the overlap), run the segment again from the end of the overlap, starting from
  // the previous segment's region there.
  const maxLoopMs = Math.max(...results.map((r) => r.stats.ms.loop));
  let rerun = 0;
  let rerunLoopMs = 0;
  let overlapsUsed = 0;
  for (let k = 1; k < results.length; k++) {
    const cut = boundaries[k - 1] as number;
    const [own, into] = splitAt(results[k - 1], cut);
    results[k - 1] = own;
    if (!body) continue;
    const last = lastRow(into.batches.length ? into : own);
    const lastTime = into.batches.length ? lastTime_(into) : -Infinity;
    // The next segment's row at the overlap's last frame (or its first row when there is no overlap).
    const [, after] = splitAt(results[k], lastTime, true);
    const first = into.batches.length ? rowAt(results[k], lastTime) : firstRow(results[k]);
    // Nobody tracked at the end of the previous segment: the next one's own rows stand.
    if (!last || !(last[R_BODY_SCORE] > 0)) continue;
    const same = !!first && first[R_BODY_SCORE] > 0 && Math.hypot(hip(first)[0] - hip(last)[0], hip(first)[1] - hip(last)[1]) < 0.05;
    if (same) {
      if (into.batches.length) {
        results[k] = { batches: [...into.batches, ...after.batches], stats: results[k].stats };
        overlapsUsed++;
      }
      continue;
    }
    const seed = { cx: last[R_BODY_NEXT_ROI], cy: last[R_BODY_NEXT_ROI + 1], size: last[R_BODY_NEXT_ROI + 2], rotation: last[R_BODY_NEXT_ROI + 3] };
    const from = into.batches.length ? lastTime + 0.5 / info.fps : segs[k].start;
    const again = run({ ...segs[k], start: from, seedBodyRoi: seed }, false, false);
    await again.done;
    rerunLoopMs += again.res.stats.ms.loop;
    results[k] = { batches: [...into.batches, ...again.res.batches], stats: again.res.stats };
    rerun++;
  }

  // Concatenate segments in time order; drop frames whose time does not increase (never seen with sane files).
  let T = 0;
  for (const r of results) for (const b of r.batches) T += b.n;
  const times = new Float64Array(T);
  const rows = new Float32Array(T * ROW);
  let n = 0;
  let dropped = 0;
  let noTime = 0;
  for (const r of results) {
    for (const b of r.batches) {
      for (let i = 0; i < b.n; i++) {
        let t = b.times[i];
        if (!Number.isFinite(t)) {
          noTime++;
          t = n > 0 ? times[n - 1] + 1 / info.fps : 0;
        }
        if (n > 0 && !(t > times[n - 1])) {
          dropped++;
          continue;
        }
        times[n] = t;
        rows.set(b.rows.subarray(i * ROW, (i + 1) * ROW), n * ROW);
        n++;
      }
    }
  }
  T = n;
  if (T === 0) throw new UserError('video has no decodable frames', file);
  const seconds = (performance.now() - t0) / 1000;
  const filter = opts.filter === false ? null : (opts.filter ?? DEFAULT_FILTER);
  // Decoded picture size (the image landmarks are normalized to it) and an assumed lens for the root estimate.
  const pic = outputSize(info, base.maxSide);
  const focalPx = (Math.max(pic.width, pic.height) * (opts.focalMm35 ?? 26)) / 36;
  const a = assemble(rows.subarray(0, T * ROW), times.subarray(0, T), T, { body, hands }, filter, { width: pic.width, height: pic.height, focalPx });
  const stats = results.map((r) => r.stats);
  const sum = (f: (s: SegmentStats) => number) => stats.reduce((acc, s) => acc + f(s), 0);
  const summary: CaptureSummary = {
    frames: T,
    seconds,
    fps: T / seconds,
    steady_fps: Math.round((10 * T) / ((maxLoopMs + rerunLoopMs) / 1000)) / 10,
    backend: stats[0].backend,
    simd: stats[0].simd,
    workers: nw,
    rates: a.rates,
    calls: {
      body_landmark: sum((s) => s.bodyLandmarkCalls),
      body_detector: sum((s) => s.bodyDetectorCalls),
      hand_landmark: sum((s) => s.handLandmarkCalls),
      palm_detector: sum((s) => s.palmDetectorCalls),
      hand_landmark_batched_pairs: sum((s) => s.handBatchedPairs),
    },
    timing: { segments: round3(sum((s) => s.ms.total) / 1000), decode_wait: round3(sum((s) => s.ms.decodeWait) / 1000), models: {} },
  };
  for (const s of stats) {
    for (const [name, m] of Object.entries(s.ms.models)) {
      const acc = (summary.timing.models[name] ??= { calls: 0, seconds: 0 });
      acc.calls += m.calls;
      acc.seconds = round3(acc.seconds + m.ms / 1000);
    }
  }
  const truncated = stats.some((s) => s.decode.truncated);
  const warnings = stats.map((s) => s.decode.warnings ?? s.decode.error).filter(Boolean);
  const found = a.rates.any > 0;
  const what = body && hands ? 'person or hand' : body ? 'person' : 'hand';
  const track: PoseTrack = {
    positions: a.positions,
    confidence: a.confidence,
    timestamps: times.slice(0, T),
    jointNames: a.jointNames,
    parents: a.parents,
    fps: info.fps,
    source: { format: 'capture', file: info.file, sha256: sha256File(file) },
    meta: {
      coordinate_frame: 'metres; X toward the camera, Y to the image right, Z up; body hip-centred then grounded per frame (lowest foot point z=0)',
      hand_frame: handFrameNote(body),
      timestamps: 'presentation time of each decoded frame (seconds, as ffprobe pts_time)',
      video: {
        file: info.file, codec: info.codec, container: info.container, width: info.width, height: info.height,
        coded_width: info.codedWidth, coded_height: info.codedHeight, rotation: info.rotation, fps: info.fps,
        nominal_fps: info.nominalFps, duration: info.duration, frame_count: info.frameCount, start_time: info.startTime,
        variable_frame_rate: Math.abs(info.fps - info.nominalFps) > 0.01 * info.nominalFps,
        ...(truncated ? { truncated: true } : {}),
      },
      capture: {
        backend: summary.backend, simd: summary.simd, workers: nw,
        models: { ...(body ? { body: `blazepose-${opts.bodyModel ?? 'full'}`, body_detector: 'blazepose-detector' } : {}), ...(hands ? { hand: `handlandmark-${opts.handModel ?? 'full'}`, palm_detector: 'handdetect' } : {}) },
        filter: filter ? { kind: 'one-euro', ...filter } : null,
        detection_rates: a.rates,
        calls: summary.calls,
        timing: summary.timing,
        seconds: Number(seconds.toFixed(3)),
        fps_achieved: Number(summary.fps.toFixed(2)),
        steady_fps: summary.steady_fps,
        ...(rerun ? { segments_rerun_for_identity: rerun } : {}),
        ...(overlapsUsed ? { segment_overlaps_used: overlapsUsed } : {}),
        ...(dropped ? { dropped_non_increasing_timestamps: dropped } : {}),
        ...(noTime ? { frames_without_timestamp: noTime } : {}),
        ...(warnings.length ? { decoder_warnings: warnings } : {}),
      },
      extras: 'presence_* [T] model presence (0 = not tracked); image_* [T,N,3] normalized image landmarks (x,y in [0,1] of the upright picture); visibility_body [T,33]; detector_body [T] 1 where the person detector ran (tracking was lost); handedness_*_hand [T] P(right); source_*_hand [T] 0 none, 1 tracked, 2 from body wrist, 3 palm detector; hand_local_* [T,21,3] unfiltered wrist-centred hand points in the track frame; placement_*_hand [T] how the hand was placed (see hand_frame); root_camera [T,3] estimated hip-centre position relative to the camera in the track axes (metres; pinhole fit of image vs world landmarks with an assumed lens, see root_estimate)',
      ...(body ? { root_estimate: { focal_mm_35: opts.focalMm35 ?? 26, focal_px: Number(focalPx.toFixed(1)), note: 'positions stay hip-centred; root_camera gives the estimated trajectory, good up to the lens assumption (a wrong focal length scales depth)' } } : {}),
      ...(found ? {} : { empty_reason: `no ${what} found in any of the ${T} frames` }),
    },
    extras: a.extras,
  };
  return Object.assign(track, { summary });
}

