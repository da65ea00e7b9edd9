/**
 * Run the trackers over one time segment of a video: decode, track body then hands (hand regions from the
 * body's wrists of the same frame), and hand the raw rows out in small batches. A capture is one segment per
 * core, each run in its own worker thread with its own decoder; tracking restarts (detection) at a segment's
 * first frame.
 */
import { BodyTracker, type BodyOptions } from './body.ts';
import { HandTracker, type HandOptions } from './hands.ts';
import { ROW, clearRow } from './layout.ts';
import { initBackend, wasmSimd, type BackendName } from './backend.ts';
import type { Roi } from './roi.ts';
import { modelTimes } from './runner.ts';
import { decodeFrames, type DecodeStats, type Frame, type VideoInfo } from './video.ts';

export interface SegmentOptions {
  body: boolean;
  hands: boolean;
  bodyModel?: BodyOptions['model'];
  handModel?: HandOptions['model'];
  start?: number;
  end?: number;
  maxFrames?: number;
  maxSide?: number;
  backend?: BackendName;
  /** Start the body tracker from this region instead of a detection. */
  seedBodyRoi?: Roi;
}

export interface SegmentStats {
  frames: number;
  bodyLandmarkCalls: number;
  bodyDetectorCalls: number;
  handLandmarkCalls: number;
  palmDetectorCalls: number;
  /** Hand landmark calls that ran both hands as one batch (each also counted twice in handLandmarkCalls). */
  handBatchedPairs: number;
  decode: DecodeStats;
  /**
   * Wall time of this segment, ms: all of it, the tracking loop from the first decoded frame on (model
   * start-up excluded), waiting for decoded frames, and in each model's calls.
   */
  ms: { total: number; loop: number; decodeWait: number; models: Record<string, { calls: number; ms: number }> };
  backend: BackendName;
  simd: boolean | null;
}

export interface Batch {
  times: Float64Array;
  rows: Float32Array;
  n: number;
}

const BATCH = 8;

interface Trackers { body: BodyTracker | null; hands: HandTracker | null; backend: BackendName; simd: boolean | null }
/** This thread's trackers, or their creation in progress (warmTrackers then runSegment share it). */
let cached: { key: string; t: Promise<Trackers> } | null = null;

async function trackers(opts: SegmentOptions): Promise<Trackers> {
  const key = JSON.stringify([opts.body, opts.hands, opts.bodyModel, opts.handModel]);
  if (cached?.key !== key) {
    const created = createTrackers(opts);
    cached = { key, t: created };
    created.catch(() => { if (cached?.t === created) cached = null; }); // a failed creation is tried again next time
  }
  const t = await cached.t;
  t.body?.reset();
  t.hands?.reset();
  return t;
}

async function createTrackers(opts: SegmentOptions): Promise<Trackers> {
  const backend = await initBackend(opts.backend);
  const t: Trackers = {
    body: opts.body ? await BodyTracker.create({ model: opts.bodyModel }) : null,
    hands: opts.hands ? await HandTracker.create({ model: opts.handModel }) : null,
    backend,
    simd: await wasmSimd(),
  };
  return t;
}

/**
 * Create (or reuse) this thread's trackers for these options ahead of runSegment, which then finds them ready
 * (reset, as for any later segment of this thread): capture starts the models while ffprobe runs.
 */
export async function warmTrackers(opts: SegmentOptions): Promise<void> {
  await trackers(opts);
}

export async function runSegment(file: string, info: VideoInfo, opts: SegmentOptions, onBatch: (b: Batch) => void): Promise<SegmentStats> {
  const tStart = performance.now();
  const decode: DecodeStats = {};
  // ffmpeg starts now and decodes the first frame while the models start (its process start and the sessions
  // were ≈ 0.3–0.5 s each, one after the other, of a short capture's fixed cost). It blocks on its pipe after
  // that frame until the loop reads it.
  const frames_ = decodeFrames(file, info, { start: opts.start, end: opts.end, maxFrames: opts.maxFrames, maxSide: opts.maxSide }, decode);
  let first: Promise<IteratorResult<Frame>> | null = frames_.next();
  first.catch(() => {}); // a decode error is thrown where the loop awaits it, not as an unhandled rejection
  let t: Trackers;
  try {
    t = await trackers(opts);
  } catch (e) {
    await first.catch(() => {});
    await frames_.return(undefined);
    throw e;
  }
  const m0 = new Map([...modelTimes].map(([k, v]) => [k, { ...v }]));
  let decodeWait = 0;
  let tFirst: number | undefined;
  const b0 = { ...(t.body?.stats ?? { landmarkCalls: 0, detectorCalls: 0 }) };
  const h0 = { ...(t.hands?.stats ?? { landmarkCalls: 0, palmCalls: 0, batchedPairs: 0 }) };
  if (opts.seedBodyRoi) t.body?.seed(opts.seedBodyRoi);
  let times = new Float64Array(BATCH);
  let rows = new Float32Array(BATCH * ROW);
  let n = 0;
  let frames = 0;
  const flush = () => {
    if (!n) return;
    onBatch({ times, rows, n });
    times = new Float64Array(BATCH);
    rows = new Float32Array(BATCH * ROW);
    n = 0;
  };
  try {
    for (;;) {
      const tw = performance.now();
      const next = await (first ?? frames_.next());
      first = null;
      decodeWait += performance.now() - tw;
      if (next.done) break;
      tFirst ??= performance.now();
      const frame = next.value;
      const row = rows.subarray(n * ROW, (n + 1) * ROW);
      clearRow(row);
      let hints = null;
      let bodyVisible = false;
      if (t.body) {
        bodyVisible = (await t.body.process(frame, row)) > 0;
        hints = t.body.handHints;
      }
      await t.hands?.process(frame, row, hints, bodyVisible);
      times[n++] = frame.time;
      frames++;
      if (n === BATCH) flush();
    }
  } finally {
    await frames_.return(undefined); // stops ffmpeg when tracking failed mid-way
  }
  flush();
  const models: Record<string, { calls: number; ms: number }> = {};
  for (const [k, v] of modelTimes) {
    const b = m0.get(k) ?? { calls: 0, ms: 0 };
    if (v.calls > b.calls) models[k] = { calls: v.calls - b.calls, ms: v.ms - b.ms };
  }
  return {
    ms: { total: performance.now() - tStart, loop: tFirst === undefined ? 0 : performance.now() - tFirst, decodeWait, models },
    frames,
    bodyLandmarkCalls: (t.body?.stats.landmarkCalls ?? 0) - b0.landmarkCalls,
    bodyDetectorCalls: (t.body?.stats.detectorCalls ?? 0) - b0.detectorCalls,
    handLandmarkCalls: (t.hands?.stats.landmarkCalls ?? 0) - h0.landmarkCalls,
    palmDetectorCalls: (t.hands?.stats.palmCalls ?? 0) - h0.palmCalls,
    handBatchedPairs: (t.hands?.stats.batchedPairs ?? 0) - h0.batchedPairs,
    decode,
    backend: t.backend,
    simd: t.simd,
  };
}
