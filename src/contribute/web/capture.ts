/**
 * Capture on the contributor's device: the trackers of src/capture (body.ts, hands.ts, roi.ts, layout.ts) run
 * frame by frame as src/capture/segment.ts runs them (engine.ts: in two workers, or on the page's thread), and
 * the rows are assembled into a PoseTrack by src/capture/assemble.ts with the same filter, then encoded with
 * src/pose/track.ts + src/io/npz.ts. Only the frame source differs: an RGB copy of a <video> picture (camera or
 * file) or of a decoded VideoFrame, drawn into a canvas.
 */
import { BodyTracker } from '../../capture/body.ts';
import { HandTracker } from '../../capture/hands.ts';
import { ROW } from '../../capture/layout.ts';
import { assemble, DEFAULT_FILTER, handFrameNote } from '../../capture/assemble.ts';
import type { Frame } from '../../capture/video.ts';
import { encodeNpz } from '../../io/npz.ts';
import { trackToNpz, type PoseTrack } from '../../pose/track.ts';
import type { Runtime, Tracked } from './engine.ts';

export interface Trackers {
  body: BodyTracker;
  hands: HandTracker;
}

let loaded: Promise<Trackers> | null = null;

/** Load the four models once (body detector + landmarks, palm detector + hand landmarks). */
export function loadTrackers(): Promise<Trackers> {
  loaded ??= (async () => ({ body: await BodyTracker.create({ model: 'full' }), hands: await HandTracker.create({ model: 'full' }) }))();
  return loaded;
}

/** One recording's rows, grown as tracked frames come in (from an Engine, engine.ts). */
export class Recording {
  rows = new Float32Array(256 * ROW);
  times = new Float64Array(256);
  n = 0;
  width = 0;
  height = 0;
  /** Milliseconds spent in the body and hand trackers (summed over frames; they run side by side in workers). */
  bodyMs = 0;
  handMs = 0;
  /** Milliseconds reading decoded frames' pixels (not counting copies the page made from a <video>). */
  readMs = 0;
  /** Frames whose palm detection ran ahead in the body worker (worker.ts) and was used as it came. */
  palmAhead = 0;
  readonly started = performance.now();
  /** When the last row came in (performance.now()). */
  lastAt = this.started;

  /** What is tracked: both, or only the hands (a head-mounted view of the hands has no body to find). */
  readonly parts: { body: boolean; hands: boolean };

  constructor(parts: { body: boolean; hands: boolean } = { body: true, hands: true }) {
    this.parts = parts;
  }

  /** Append a tracked frame's row (frames come in order). */
  push(t: Tracked): void {
    if (this.n === this.times.length) {
      const rows = new Float32Array(this.rows.length * 2);
      rows.set(this.rows);
      this.rows = rows;
      const times = new Float64Array(this.times.length * 2);
      times.set(this.times);
      this.times = times;
    }
    this.width = t.width;
    this.height = t.height;
    this.rows.set(t.row, this.n * ROW);
    this.bodyMs += t.bodyMs;
    this.handMs += t.handMs;
    this.readMs += t.readMs;
    if (t.palmAhead) this.palmAhead++;
    this.times[this.n++] = t.time;
    this.lastAt = performance.now();
  }
}

export interface TrackInfo {
  /** 'camera' or 'file' (a file's name is not sent: only that it was a file). */
  origin: 'camera' | 'file';
  /** How the frames were read: 'camera', 'webcodecs <codec>' (every frame decoded once) or 'seek' (the <video> seeked to each frame). */
  frameSource?: string;
  focalMm35?: number;
}

/** The PoseTrack of a recording, built as captureVideo builds one (same assembly, filter, frames and names). */
export async function recordingTrack(rec: Recording, info: TrackInfo, engine: { runtime: Runtime; workers: number; handModel: 'full' | 'lite' }): Promise<PoseTrack> {
  const T = rec.n;
  if (!T) throw new Error('nothing was recorded');
  const times = rec.times.slice(0, T);
  const focalMm35 = info.focalMm35 ?? 26;
  const focalPx = (Math.max(rec.width, rec.height) * focalMm35) / 36;
  const a = assemble(rec.rows.subarray(0, T * ROW), times, T, rec.parts, DEFAULT_FILTER, { width: rec.width, height: rec.height, focalPx });
  const span = T > 1 ? times[T - 1] - times[0] : 0;
  const fps = span > 0 ? (T - 1) / span : 30;
  const rt = engine.runtime;
  const captureSeconds = (rec.lastAt - rec.started) / 1000;
  return {
    positions: a.positions,
    confidence: a.confidence,
    timestamps: times,
    jointNames: a.jointNames,
    parents: a.parents,
    fps,
    source: { format: 'capture', device: 'browser', origin: info.origin },
    meta: {
      coordinate_frame: 'metres; X toward the camera, Y to the image right, Z up; body hip-centred then grounded per frame (lowest foot point z=0)',
      hand_frame: handFrameNote(rec.parts.body),
      timestamps: info.origin === 'file' ? 'presentation time of each frame as the browser decoded it (seconds)' : 'camera frame time (seconds from the start of the recording)',
      video: { width: rec.width, height: rec.height, fps, frame_count: T, kept: false },
      capture: {
        device: 'browser', backend: rt.backend, simd: rt.simd, threads: rt.threads, ...(rt.threadCounts ? { wasm_threads: rt.threadCounts } : {}), workers: engine.workers, frame_source: info.frameSource ?? info.origin,
        models: { ...(rec.parts.body ? { body: 'blazepose-full', body_detector: 'blazepose-detector' } : {}), hand: `handlandmark-${engine.handModel}`, palm_detector: 'handdetect' },
        filter: { kind: 'one-euro', ...DEFAULT_FILTER },
        detection_rates: a.rates,
        // Time in the trackers (body + hands; with workers they overlap, so this can exceed the capture's wall time).
        model_seconds: Number(((rec.bodyMs + rec.handMs) / 1000).toFixed(3)),
        body_seconds: Number((rec.bodyMs / 1000).toFixed(3)),
        hand_seconds: Number((rec.handMs / 1000).toFixed(3)),
        // Frames whose palm detection the body worker ran ahead for the hand tracker (the same model on the same pixels).
        palm_detector_ahead_frames: rec.palmAhead,
        // Wall time from the recording's start to its last tracked frame, and frames tracked per second of it.
        capture_seconds: Number(captureSeconds.toFixed(3)),
        fps_achieved: Number((T / Math.max(1e-9, captureSeconds)).toFixed(2)),
      },
      ...(rec.parts.body ? { root_estimate: { focal_mm_35: focalMm35, focal_px: Number(focalPx.toFixed(1)), note: 'positions stay hip-centred; root_camera gives the estimated trajectory, good up to the lens assumption (a wrong focal length scales depth)' } } : {}),
      ...(a.rates.any > 0 ? {} : { empty_reason: `no ${rec.parts.body ? 'person or hand' : 'hand'} found in any of the ${T} frames` }),
    },
    extras: a.extras,
  };
}

/** The .npz bytes of a track (the project's pose-track schema). */
export function encodeTrack(track: PoseTrack): Uint8Array {
  return encodeNpz(trackToNpz(track));
}

/** Copies <video>/<canvas> pictures into RGB24 frames (one reused buffer). */
export class FrameGrabber {
  private canvas: HTMLCanvasElement | OffscreenCanvas | null = null;
  private ctx: CanvasRenderingContext2D | OffscreenCanvasRenderingContext2D | null = null;
  private rgb = new Uint8Array(0);
  private index = 0;

  grab(video: HTMLVideoElement, time: number): Frame {
    return this.grabSource(video, video.videoWidth, video.videoHeight, time);
  }

  /** A picture's RGB24 pixels into `dest` (w × h × 3 bytes). */
  grabInto(video: CanvasImageSource, w: number, h: number, dest: Uint8Array): void {
    this.grabSource(video, w, h, 0, dest);
  }

  /** The same from any picture source (a decoded VideoFrame) of the given display size. */
  grabSource(video: CanvasImageSource, w: number, h: number, time: number, dest?: Uint8Array): Frame {
    if (!this.canvas || this.canvas.width !== w || this.canvas.height !== h) {
      this.canvas = typeof OffscreenCanvas !== 'undefined' ? new OffscreenCanvas(w, h) : Object.assign(document.createElement('canvas'), { width: w, height: h });
      this.ctx = this.canvas.getContext('2d', { willReadFrequently: true }) as CanvasRenderingContext2D;
      this.rgb = new Uint8Array(w * h * 3);
    }
    const ctx = this.ctx!;
    ctx.drawImage(video, 0, 0, w, h);
    const rgba = ctx.getImageData(0, 0, w, h).data;
    const rgb = dest ?? this.rgb;
    for (let i = 0, j = 0; i < rgba.length; i += 4, j += 3) {
      rgb[j] = rgba[i];
      rgb[j + 1] = rgba[i + 1];
      rgb[j + 2] = rgba[i + 2];
    }
    return { index: this.index++, time, width: w, height: h, data: rgb };
  }
}
