/**
 * A capture worker of the contributor page (pipeline.ts starts two): one runs the body tracker, the other the
 * hand tracker, each with its own TF.js wasm backend on one thread, so the two run side by side on two cores.
 * Frame t's hands need frame t's body (the hand regions from the body's wrists, and whether the body was seen),
 * so the hands of frame t run while the body of frame t+1 runs: every tracker sees every frame in order, with
 * exactly the inputs it has when the page runs them one after the other (src/capture/segment.ts's order).
 *
 * The pixels: one RGB24 copy per frame in a buffer that is transferred, not copied: page → body worker → hands
 * worker → page, which reuses it. The page fills it (a <video> picture), or the body worker does (a decoded
 * VideoFrame handed over to it: drawn into the page's picture canvas, which the page gave this worker, and read
 * back from there — one drawing serves both).
 *
 * Messages. Body worker, from the page: init {role, port, canvas?}, reset, frame. Everything the hands worker gets
 * after its init comes from the body worker through `port`, in frame order; the hands worker answers the page.
 */
/// <reference lib="webworker" />
import { BodyTracker } from '../../capture/body.ts';
import { HandTracker, PalmModel } from '../../capture/hands.ts';
import { ROW, clearRow } from '../../capture/layout.ts';
import type { Roi } from '../../capture/roi.ts';
import type { Frame } from '../../capture/video.ts';
import { runtimeInfo, wasmThreads } from './runner.ts';

declare const self: DedicatedWorkerGlobalScope;

export type Parts = { body: boolean; hands: boolean };

/**
 * How the body worker reads a decoded VideoFrame's pixels: 'copy' (VideoFrame.copyTo converting to RGBA; the
 * picture canvas is then drawn only for display, at most every 100 ms) or 'draw' (drawn into the picture canvas
 * and read back with getImageData, every frame).
 */
export type ReadMode = 'copy' | 'draw';

/** Page → body worker → hands worker. */
export type ToWorker =
  | { type: 'init'; role: 'body' | 'hands'; port: MessagePort; canvas?: OffscreenCanvas; read?: ReadMode; handModel?: 'full' | 'lite'; threads?: number; batchHands?: boolean; palmAhead?: boolean }
  | { type: 'reset'; parts: Parts }
  /** Frame `seq`: its RGB24 pixels in `buf`, or to be read into `buf` from `frame` (a decoded VideoFrame). */
  | { type: 'frame'; seq: number; time: number; width: number; height: number; buf: ArrayBuffer; frame?: VideoFrame };

/** Body worker → hands worker: the frame with its body row (and the palm detector's output when it was asked for). */
type ToHands = Extract<ToWorker, { type: 'reset' }> | { type: 'frame'; seq: number; time: number; width: number; height: number; buf: ArrayBuffer; row: Float32Array; hints: [Roi | null, Roi | null] | null; bodyVisible: boolean; bodyMs: number; readMs: number; palm: Float32Array | null; palmMs: number };

/** Hands worker → body worker: run the palm detector on frame `seq` (the hand tracker will want it then). */
type PalmDue = { type: 'palm-due'; seq: number };

/** Workers → page. */
export type FromWorker =
  | { type: 'ready'; role: 'body' | 'hands'; runtime: { backend: string; simd: boolean; threads: boolean; isolated: boolean; threadCount: number } }
  | { type: 'row'; seq: number; buf: ArrayBuffer; row: Float32Array; bodyMs: number; handMs: number; readMs: number; palmAhead: boolean }
  | { type: 'error'; seq: number; message: string };

let role: 'body' | 'hands' | null = null;
let port: MessagePort;
let canvas: OffscreenCanvas | null = null;
let ctx: OffscreenCanvasRenderingContext2D | null = null;
let read: ReadMode = 'draw';
let rgba = new Uint8Array(0);
let shownAt = -Infinity;
let parts: Parts = { body: true, hands: true };
let body: BodyTracker | null = null;
let hands: HandTracker | null = null;
/**
 * The palm detector, in the body worker: the body tracker takes less time per frame than the hand tracker, so the
 * body worker computes the palm detector's output for the frame the hand tracker says it will need it on (the
 * detector's input is the whole picture, whatever the trackers' state), and the hands worker uses it as it is —
 * the same model on the same pixels, so the same result as running it there. A frame announced too late (the body
 * worker is already past it) is simply detected by the hands worker itself.
 */
let palm: PalmModel | null = null;
let palmAt = -1;

/** The decoded picture → RGB24 in `dest`; drawn into the page's picture canvas (so the page shows it too). */
async function readFrame(frame: VideoFrame, width: number, height: number, dest: Uint8Array): Promise<void> {
  const c = (canvas ??= new OffscreenCanvas(width, height));
  if (!ctx || c.width !== width || c.height !== height) {
    c.width = width;
    c.height = height;
    ctx = c.getContext('2d', { willReadFrequently: read === 'draw' }) as OffscreenCanvasRenderingContext2D;
  }
  let src: Uint8Array | Uint8ClampedArray;
  if (read === 'copy') {
    if (rgba.length !== width * height * 4) rgba = new Uint8Array(width * height * 4);
    await frame.copyTo(rgba, { format: 'RGBA', colorSpace: 'srgb' } as VideoFrameCopyToOptions);
    src = rgba;
    const now = performance.now();
    if (now - shownAt >= 100) {
      shownAt = now;
      ctx.drawImage(frame, 0, 0, width, height);
    }
  } else {
    ctx.drawImage(frame, 0, 0, width, height);
    src = ctx.getImageData(0, 0, width, height).data;
  }
  for (let i = 0, j = 0; i < src.length; i += 4, j += 3) {
    dest[j] = src[i];
    dest[j + 1] = src[i + 1];
    dest[j + 2] = src[i + 2];
  }
}

async function handle(m: ToWorker | ToHands): Promise<void> {
  if (m.type === 'init') {
    role = m.role;
    port = m.port;
    canvas = m.canvas ?? null;
    read = m.read ?? 'draw';
    wasmThreads.count = m.threads ?? 1;
    if (role === 'body') {
      [body, palm] = await Promise.all([BodyTracker.create({ model: 'full' }), m.palmAhead === false ? null : PalmModel.create()]);
      port.onmessage = (e) => {
        const d = e.data as PalmDue;
        if (d.type === 'palm-due') palmAt = d.seq;
      };
    } else {
      hands = await HandTracker.create({ model: m.handModel ?? 'full', ...(m.batchHands !== undefined ? { batchHands: m.batchHands } : {}) });
      port.onmessage = (e) => void queue(e.data as ToHands);
    }
    self.postMessage({ type: 'ready', role, runtime: await runtimeInfo() } satisfies FromWorker);
    return;
  }
  if (m.type === 'reset') {
    parts = m.parts;
    body?.reset();
    hands?.reset();
    palmAt = -1;
    if (role === 'body') port.postMessage(m);
    return;
  }
  const frame: Frame = { index: m.seq, time: m.time, width: m.width, height: m.height, data: new Uint8Array(m.buf) };
  try {
    if (role === 'body') {
      const f = (m as Extract<ToWorker, { type: 'frame' }>).frame;
      const r0 = performance.now();
      if (f) {
        try {
          await readFrame(f, m.width, m.height, frame.data);
        } finally {
          f.close();
        }
      }
      const row = new Float32Array(ROW);
      clearRow(row);
      const t0 = performance.now();
      const readMs = t0 - r0;
      let bodyVisible = false;
      let hints: [Roi | null, Roi | null] | null = null;
      if (parts.body) {
        bodyVisible = (await body!.process(frame, row)) > 0;
        hints = [body!.handHints[0], body!.handHints[1]];
      }
      const t1 = performance.now();
      let palmRaw: Float32Array | null = null;
      if (palm && parts.hands && m.seq === palmAt) palmRaw = (await palm.run(frame)).slice();
      const msg: ToHands = { type: 'frame', seq: m.seq, time: m.time, width: m.width, height: m.height, buf: m.buf, row, hints, bodyVisible, bodyMs: t1 - t0, readMs, palm: palmRaw, palmMs: performance.now() - t1 };
      port.postMessage(msg, palmRaw ? [row.buffer, m.buf, palmRaw.buffer] : [row.buffer, m.buf]);
      return;
    }
    const h = m as Extract<ToHands, { type: 'frame' }>;
    const t0 = performance.now();
    let palmAhead = false;
    if (parts.hands) {
      const given = hands!.stats.palmGiven;
      await hands!.process(frame, h.row, h.hints, h.bodyVisible, h.palm);
      palmAhead = hands!.stats.palmGiven > given;
      const due = hands!.palmDue();
      if (Number.isFinite(due)) port.postMessage({ type: 'palm-due', seq: h.seq + due } satisfies PalmDue);
    }
    self.postMessage({ type: 'row', seq: h.seq, buf: h.buf, row: h.row, bodyMs: h.bodyMs + h.palmMs, handMs: performance.now() - t0, readMs: h.readMs, palmAhead } satisfies FromWorker, [h.row.buffer, h.buf]);
  } catch (err) {
    self.postMessage({ type: 'error', seq: m.seq, message: (err as Error).message || String(err) } satisfies FromWorker);
  }
}

// One message at a time, in arrival order (model loading awaits the network; frames must wait for it).
let chain: Promise<void> = Promise.resolve();
function queue(m: ToWorker | ToHands): void {
  chain = chain.then(() => handle(m)).catch((err) => self.postMessage({ type: 'error', seq: -1, message: (err as Error).message || String(err) } satisfies FromWorker));
}

self.onmessage = (e) => queue(e.data as ToWorker);
