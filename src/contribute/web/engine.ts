/**
 * How the page runs the trackers on its frames. Two engines with one contract:
 * - WorkerEngine (the default): body and hands in two workers (worker.ts), pipelined — the hands of frame t
 *   while the body of frame t+1 — so two cores work at once; up to DEPTH frames are in flight. A frame's pixels
 *   travel in a transferred buffer (page → body worker → hands worker → page), so no copy is made between them
 *   and no cross-origin isolation is needed. A decoded VideoFrame is handed to the body worker, which draws it
 *   into the page's picture canvas (given to it) and reads the pixels back from there.
 * - LocalEngine (where the browser cannot give a canvas to a worker): the same trackers on the page's thread,
 *   one frame after the other.
 * Either way every tracker sees every frame in order with the same inputs as `reel2real capture` gives it.
 */
import { ROW, clearRow } from '../../capture/layout.ts';
import { FrameGrabber, loadTrackers, type Trackers } from './capture.ts';
import { runtimeInfo } from './runner.ts';
import type { FromWorker, Parts, ToWorker } from './worker.ts';

export type Source = { video: HTMLVideoElement } | { frame: VideoFrame; width: number; height: number };

export interface Tracked {
  row: Float32Array;
  time: number;
  width: number;
  height: number;
  /** Milliseconds in the body and the hand trackers for this frame. */
  bodyMs: number;
  handMs: number;
  /** Milliseconds reading a handed-over VideoFrame's pixels (0 when the page copied them). */
  readMs: number;
  /** The palm detector's output for this frame was computed ahead in the body worker and used. */
  palmAhead?: boolean;
}

export interface Runtime {
  backend: string;
  simd: boolean;
  threads: boolean;
  isolated: boolean;
  /** Threads the wasm backend runs, per model runtime (the page's thread, or the body and the hands worker). */
  threadCounts?: number[];
}

export interface Engine {
  /** Workers running the models (0: the page's own thread). */
  readonly workers: number;
  /** The hand landmark model: 'full' (the default, as `reel2real capture`), or 'lite' (`?hand-model=lite`). */
  readonly handModel: 'full' | 'lite';
  readonly runtime: Runtime;
  /** Start over (a new recording): tracking restarts with detection, for these parts. Ordered with the frames. */
  reset(parts: Parts): void;
  /** Whether another frame can be taken now. */
  canTake(): boolean;
  /** Resolves when another frame can be taken. */
  ready(): Promise<void>;
  /**
   * Take a frame now: a <video>'s picture is copied before this returns; a VideoFrame is handed over (closed by
   * the engine) and drawn into the page's picture canvas. Resolves with its row, in the order frames were taken.
   */
  track(src: Source, time: number): Promise<Tracked>;
}

/** Frames in flight at most: one in each worker and one waiting (more only adds latency). */
const DEPTH = 3;

interface Waiting {
  resolve: (t: Tracked) => void;
  reject: (e: Error) => void;
  time: number;
  width: number;
  height: number;
}

export class WorkerEngine implements Engine {
  readonly workers = 2;
  handModel: 'full' | 'lite' = 'full';
  runtime!: Runtime;
  private seq = 0;
  private readonly waiting = new Map<number, Waiting>();
  /** Pixel buffers not in flight, of the current frame size. */
  private free: ArrayBuffer[] = [];
  private bufBytes = 0;
  private wakers: (() => void)[] = [];
  private failure: Error | null = null;

  private constructor(private body: Worker, private hands: Worker, private grabber: FrameGrabber) {}

  /** Start both workers (each loads its two models) with the page's picture canvas handed to the body worker. */
  static async create(picture: HTMLCanvasElement): Promise<WorkerEngine> {
    const url = new URL('worker.js', location.href);
    const body = new Worker(url, { type: 'module', name: 'capture-body' });
    const hands = new Worker(url, { type: 'module', name: 'capture-hands' });
    const e = new WorkerEngine(body, hands, new FrameGrabber());
    e.handModel = new URLSearchParams(location.search).get('hand-model') === 'lite' ? 'lite' : 'full';
    const ch = new MessageChannel();
    const ready = Promise.all([e.expectReady(body), e.expectReady(hands)]);
    const canvas = picture.transferControlToOffscreen();
    const q = new URLSearchParams(location.search);
    const read = q.get('read') === 'draw' ? 'draw' : 'copy';
    // Threads of each worker's wasm backend (default 1: the two workers already fill two cores).
    const nThreads = (v: string | null) => Math.max(1, Math.min(4, Number(v) || 1));
    const threads = nThreads(q.get('threads'));
    const bodyThreads = q.has('body-threads') ? nThreads(q.get('body-threads')) : threads;
    const handThreads = q.has('hand-threads') ? nThreads(q.get('hand-threads')) : threads;
    const batchHands = q.has('batch-hands') ? q.get('batch-hands') !== '0' : undefined;
    // The palm detector runs in the body worker for the frames the hand tracker will want it on (?palm=hands: in the hands worker, as before).
    const palmAhead = q.get('palm') !== 'hands';
    body.postMessage({ type: 'init', role: 'body', port: ch.port1, canvas, read, threads: bodyThreads, palmAhead } satisfies ToWorker, [ch.port1, canvas]);
    hands.postMessage({ type: 'init', role: 'hands', port: ch.port2, handModel: e.handModel, threads: handThreads, batchHands } satisfies ToWorker, [ch.port2]);
    const [rt, rtHands] = await ready;
    e.runtime = { backend: rt.backend, simd: rt.simd, threads: rt.threads, isolated: rt.isolated, threadCounts: [rt.threadCount, rtHands.threadCount] };
    hands.onmessage = (m) => e.onResult(m.data as FromWorker);
    body.onmessage = (m) => e.onResult(m.data as FromWorker);
    return e;
  }

  private expectReady(w: Worker): Promise<Extract<FromWorker, { type: 'ready' }>['runtime']> {
    return new Promise((resolve, reject) => {
      w.onmessage = (m) => {
        const d = m.data as FromWorker;
        if (d.type === 'ready') resolve(d.runtime);
        else if (d.type === 'error') reject(new Error(`the capture worker could not start: ${d.message}`));
      };
      w.onerror = (ev) => reject(new Error(`the capture worker could not start: ${ev.message || 'script error'}`));
    });
  }

  private onResult(d: FromWorker): void {
    if (d.type === 'ready') return;
    const w = this.waiting.get(d.seq);
    if (d.type === 'error') {
      const err = new Error(d.message);
      if (!w) {
        // Not tied to a frame: the pipeline is broken; fail everything in flight and what comes next.
        this.failure = err;
        for (const x of this.waiting.values()) x.reject(err);
        this.waiting.clear();
      } else {
        this.waiting.delete(d.seq);
        w.reject(err);
      }
      this.wake();
      return;
    }
    if (!w) return;
    this.waiting.delete(d.seq);
    if (d.buf.byteLength === this.bufBytes) this.free.push(d.buf);
    w.resolve({ row: d.row, time: w.time, width: w.width, height: w.height, bodyMs: d.bodyMs, handMs: d.handMs, readMs: d.readMs, palmAhead: d.palmAhead });
    this.wake();
  }

  private wake(): void {
    const ws = this.wakers;
    this.wakers = [];
    for (const w of ws) w();
  }

  reset(parts: Parts): void {
    this.body.postMessage({ type: 'reset', parts } satisfies ToWorker);
  }

  canTake(): boolean {
    return this.waiting.size < DEPTH;
  }

  async ready(): Promise<void> {
    while (!this.canTake()) await new Promise<void>((r) => this.wakers.push(r));
  }

  track(src: Source, time: number): Promise<Tracked> {
    if (this.failure) return Promise.reject(this.failure);
    const width = 'video' in src ? src.video.videoWidth : src.width;
    const height = 'video' in src ? src.video.videoHeight : src.height;
    const bytes = width * height * 3;
    if (bytes !== this.bufBytes) {
      // Another frame size: buffers of the old size are dropped as they come back.
      this.bufBytes = bytes;
      this.free = [];
    }
    const buf = this.free.pop() ?? new ArrayBuffer(bytes);
    const seq = this.seq++;
    const msg: ToWorker = { type: 'frame', seq, time, width, height, buf };
    if ('video' in src) this.grabber.grabInto(src.video, width, height, new Uint8Array(buf));
    else msg.frame = src.frame;
    return new Promise<Tracked>((resolve, reject) => {
      this.waiting.set(seq, { resolve, reject, time, width, height });
      this.body.postMessage(msg, 'frame' in src ? [buf, src.frame as unknown as Transferable] : [buf]);
    });
  }
}

/** The trackers on the page's own thread (browsers that cannot hand a canvas to a worker). */
export class LocalEngine implements Engine {
  readonly workers = 0;
  readonly handModel = 'full' as const;
  runtime!: Runtime;
  private busy: Promise<unknown> = Promise.resolve();
  private pending = 0;
  private parts: Parts = { body: true, hands: true };
  private readonly grabber = new FrameGrabber();

  private constructor(private t: Trackers, private picture: HTMLCanvasElement) {}

  static async create(picture: HTMLCanvasElement): Promise<LocalEngine> {
    const e = new LocalEngine(await loadTrackers(), picture);
    const rt = await runtimeInfo();
    e.runtime = { backend: rt.backend, simd: rt.simd, threads: rt.threads, isolated: rt.isolated, threadCounts: [rt.threadCount] };
    return e;
  }

  reset(parts: Parts): void {
    this.parts = parts;
    this.t.body.reset();
    this.t.hands.reset();
  }

  canTake(): boolean {
    return this.pending === 0;
  }

  async ready(): Promise<void> {
    while (this.pending) await this.busy.catch(() => undefined);
  }

  track(src: Source, time: number): Promise<Tracked> {
    let frame;
    const r0 = performance.now();
    if ('video' in src) frame = this.grabber.grab(src.video, time);
    else {
      try {
        frame = this.grabber.grabSource(src.frame, src.width, src.height, time);
        const c = this.picture;
        if (c.width !== src.width || c.height !== src.height) Object.assign(c, { width: src.width, height: src.height });
        c.getContext('2d')!.drawImage(src.frame, 0, 0, src.width, src.height);
      } finally {
        src.frame.close();
      }
    }
    const readMs = 'video' in src ? 0 : performance.now() - r0;
    this.pending++;
    const run = (async () => {
      try {
        const row = new Float32Array(ROW);
        clearRow(row);
        const t0 = performance.now();
        let hints = null;
        let bodyVisible = false;
        if (this.parts.body) {
          bodyVisible = (await this.t.body.process(frame, row)) > 0;
          hints = this.t.body.handHints;
        }
        const t1 = performance.now();
        if (this.parts.hands) await this.t.hands.process(frame, row, hints, bodyVisible);
        return { row, time, width: frame.width, height: frame.height, bodyMs: t1 - t0, handMs: performance.now() - t1, readMs };
      } finally {
        this.pending--;
      }
    })();
    this.busy = run;
    return run;
  }
}

/** The worker engine where the browser can hand a canvas to a worker, else the page's own thread. */
export async function createEngine(picture: HTMLCanvasElement): Promise<Engine> {
  const workers = typeof Worker !== 'undefined' && typeof OffscreenCanvas !== 'undefined' && typeof picture.transferControlToOffscreen === 'function' && new URLSearchParams(location.search).get('engine') !== 'local';
  return workers ? WorkerEngine.create(picture) : LocalEngine.create(picture);
}
