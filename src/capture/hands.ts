/**
 * Hands: MediaPipe palm detector + hand landmark model (21 image points, 21 world points in metres, presence,
 * handedness), with MediaPipe's region-of-interest logic. Two slots (left, right). A slot tracked on the
 * previous frame is cropped from that frame's landmarks; a lost slot is re-acquired from the body's wrist when
 * the body tracker gives one, else from the palm detector, which runs at most every `detectEvery` frames.
 */
import type { Frame } from './video.ts';
import { loadRunner, type ModelRunner } from './runner.ts';
import {
  type Roi, alignRotation, cropRoi, cropToFrame, decodeDetections, letterboxRoi, normalizeRadians, roiIou, ssdAnchors,
} from './roi.ts';
import { H_HANDEDNESS, H_IMAGE, H_SCORE, H_SOURCE, H_WORLD, HAND_N, handBase } from './layout.ts';

const PALM_SIZE = 256;
const LM_SIZE = 224;
const PARTIAL = [0, 1, 2, 3, 5, 6, 9, 10, 13, 14, 17, 18];

export interface HandOptions {
  /** 'full' (default) or 'lite' hand landmark model. */
  model?: 'full' | 'lite';
  /** Landmark presence needed to keep a hand (MediaPipe: 0.5). */
  minPresence?: number;
  /** Run the palm detector at most every N frames while a hand slot is empty (default 5). */
  detectEvery?: number;
  /** Palm detector score threshold (default 0.5). */
  minDetection?: number;
  /** While detections keep finding nothing new, the interval doubles up to this many frames (default 30). */
  maxDetectEvery?: number;
  /** Run both tracked hands in one batched landmark call (default: on with onnxruntime, where it is faster). */
  batchHands?: boolean;
}

interface Slot {
  roi: Roi | null;
  /** Running average of P(right). */
  handedness: number;
}

export interface HandStats {
  landmarkCalls: number;
  /** Landmark calls that ran both tracked hands in one batch of two (counted twice in landmarkCalls). */
  batchedPairs: number;
  palmCalls: number;
  /** Palm detections whose model output was given to `process` (computed elsewhere), counted in palmCalls. */
  palmGiven: number;
}

/**
 * The palm detector's raw output for a frame (the whole picture letterboxed to 256×256): what `HandTracker` computes
 * when it looks for hands, so another thread can compute it for a frame ahead of time (`HandTracker.palmDue`) and
 * hand it to `process` with identical results.
 */
export class PalmModel {
  private readonly input = new Float32Array(PALM_SIZE * PALM_SIZE * 3);
  constructor(readonly runner: ModelRunner) {}

  static async create(): Promise<PalmModel> {
    return new PalmModel(await loadRunner('handdetect', PALM_SIZE));
  }

  async run(frame: Frame): Promise<Float32Array> {
    cropRoi(frame.data, frame.width, frame.height, letterboxRoi(frame.width, frame.height), PALM_SIZE, -1, 1, this.input);
    const [raw] = await this.runner.run(this.input);
    return raw;
  }
}

export class HandTracker {
  readonly stats: HandStats = { landmarkCalls: 0, palmCalls: 0, batchedPairs: 0, palmGiven: 0 };
  private slots: [Slot, Slot] = [{ roi: null, handedness: 0.5 }, { roi: null, handedness: 0.5 }];
  private sincePalm = Infinity;
  /** Frames between palm detections while a slot is empty: grows while nothing is found. */
  private palmInterval = 0;
  private readonly hintWait = [0, 0];
  private readonly hintInterval = [1, 1];
  /** Whether the last frame ended with the palm detector allowed to run (a slot empty, not held back by the body). */
  private palmArmed = false;
  /** Room for two crops: both tracked hands go through the landmark model in one call where the runtime gains from it. */
  private readonly lmIn = new Float32Array(2 * LM_SIZE * LM_SIZE * 3);
  /** Outputs of a batched call for slot 0 / 1 of this frame, consumed by the slot loop. */
  private readonly pre: [Float32Array[] | null, Float32Array[] | null] = [null, null];
  private readonly anchors = ssdAnchors(PALM_SIZE, [8, 16, 32, 32, 32]);
  private readonly pts = new Float64Array(HAND_N * 2);
  private readonly tmp = new Float64Array(2);
  private readonly opts: Required<HandOptions>;
  // Results of the last landmark call.
  private readonly lmImage = new Float32Array(HAND_N * 3);
  private readonly lmWorld = new Float32Array(HAND_N * 3);
  private lmPresence = 0;
  private lmHandedness = 0.5;

  private constructor(private palm: PalmModel, private landmark: ModelRunner, opts: HandOptions) {
    this.opts = { model: opts.model ?? 'full', minPresence: opts.minPresence ?? 0.5, detectEvery: opts.detectEvery ?? 5, minDetection: opts.minDetection ?? 0.5, maxDetectEvery: opts.maxDetectEvery ?? 30, batchHands: opts.batchHands ?? landmark.backend === 'onnxruntime' };
    this.palmInterval = this.opts.detectEvery;
  }

  static async create(opts: HandOptions = {}): Promise<HandTracker> {
    const [palm, lm] = await Promise.all([
      PalmModel.create(),
      loadRunner(`handlandmark-${opts.model ?? 'full'}`, LM_SIZE, { outputs: ['Identity', 'Identity_1', 'Identity_2', 'Identity_3'] }),
    ]);
    return new HandTracker(palm, lm, opts);
  }

  reset(): void {
    this.slots = [{ roi: null, handedness: 0.5 }, { roi: null, handedness: 0.5 }];
    this.sincePalm = Infinity;
    this.palmInterval = this.opts.detectEvery;
    this.palmArmed = false;
    this.hintWait[0] = this.hintWait[1] = 0;
    this.hintInterval[0] = this.hintInterval[1] = 1;
  }

  /**
   * Track hands in `frame`, writing both hand blocks of `row`. `hints` are hand ROIs from the body (index 0 =
   * the person's left hand, 1 = right), or null entries when the body gives none; `bodyVisible` says the body
   * was tracked in this frame (then the palm detector is not run). `palmRaw`: the palm detector's output for this
   * frame if another thread computed it already (`PalmModel.run`), used if the detector runs on this frame.
   */
  async process(frame: Frame, row: Float32Array, hints: [Roi | null, Roi | null] | null, bodyVisible = false, palmRaw: Float32Array | null = null): Promise<void> {
    const W = frame.width;
    const H = frame.height;
    // Both hands tracked: one batched landmark call (onnxruntime: ≈ 1.15× faster than two calls). The slot
    // loop below changes a slot's region only after using its result, so the results stay valid.
    this.pre[0] = this.pre[1] = null;
    if (this.opts.batchHands && this.slots[0].roi && this.slots[1].roi) {
      const n = LM_SIZE * LM_SIZE * 3;
      cropRoi(frame.data, W, H, this.slots[0].roi, LM_SIZE, 0, 1, this.lmIn.subarray(0, n));
      cropRoi(frame.data, W, H, this.slots[1].roi, LM_SIZE, 0, 1, this.lmIn.subarray(n));
      const outs = await this.landmark.run(this.lmIn, 2);
      this.stats.landmarkCalls += 2;
      this.stats.batchedPairs++;
      for (const k of [0, 1]) this.pre[k] = outs.map((o) => o.subarray((k * o.length) / 2, ((k + 1) * o.length) / 2));
    }
    for (const side of [0, 1] as const) {
      const slot = this.slots[side];
      const hint = hints?.[side] ?? null;
      let ok = false;
      let source = 0;
      if (slot.roi) {
        const pre = this.pre[side];
        ok = pre ? this.readLandmarks(slot.roi, pre) : await this.runLandmarks(frame, slot.roi);
        source = 1;
        if (!ok) this.palmInterval = this.opts.detectEvery; // just lost: look again soon
      }
      // Not tracked (or just lost, e.g. a fast move): try the region at the body's wrist.
      if (!ok && hint && (slot.roi ? roiIou(hint, slot.roi) < 0.5 : --this.hintWait[side] <= 0)) {
        source = 2;
        ok = await this.runLandmarks(frame, hint);
        if (ok) {
          const refined = this.roiFromLandmarks(W);
          if (refined.size > 1.5 * hint.size || refined.size < hint.size / 1.5 || Math.hypot(refined.cx - hint.cx, refined.cy - hint.cy) > 0.25 * hint.size) {
            // The body's region is far from the hand's own: run once more on the hand's region.
            ok = await this.runLandmarks(frame, refined);
          }
        }
        if (ok) this.hintInterval[side] = 1;
        else this.hintFailed(side);
      }
      if (!ok) {
        slot.roi = null;
        continue;
      }
      this.accept(side, source, row, W, H);
    }
    // Two slots on one hand: keep the one whose handedness agrees with its side.
    const [a, b] = this.slots;
    if (a.roi && b.roi && roiIou(a.roi, b.roi) > 0.5) {
      const drop = a.handedness > 0.5 ? 0 : 1;
      this.slots[drop].roi = null;
      clearHand(row, drop);
    }
    this.sincePalm++;
    // With a tracked body the wrists say where hands can be, and the palm detector is for footage without one — unless
    // an empty slot's wrist region has held no hand (or the body gives none): a body model can report a person whose
    // wrists are nowhere near the hands in the picture (a close-up of a hand), and then only the detector finds them.
    this.palmArmed = false;
    if (bodyVisible && ![0, 1].some((k) => !this.slots[k].roi && (!hints?.[k] || this.hintInterval[k] > 1))) return;
    if (!a.roi || !b.roi) {
      this.palmArmed = true;
      if (this.sincePalm >= this.palmInterval) await this.detectPalms(frame, row, palmRaw);
    }
  }

  /**
   * In how many frames the palm detector runs next if the hands stay as they are after the last frame (1 = the next
   * frame), or Infinity when it would not run: a hint for computing its input ahead (`PalmModel`), never needed
   * for correct results.
   */
  palmDue(): number {
    if (!this.palmArmed || (this.slots[0].roi && this.slots[1].roi)) return Infinity;
    return Math.max(1, this.palmInterval - this.sincePalm);
  }

  private async detectPalms(frame: Frame, row: Float32Array, palmRaw: Float32Array | null): Promise<void> {
    this.sincePalm = 0;
    const W = frame.width;
    const H = frame.height;
    const box = letterboxRoi(W, H);
    this.stats.palmCalls++;
    if (palmRaw) this.stats.palmGiven++;
    const raw = palmRaw ?? (await this.palm.run(frame));
    const dets = decodeDetections(raw, this.anchors, PALM_SIZE, { score: 0, box: 1, kp: 5, nkp: 7, stride: 19 }, this.opts.minDetection, 0.3, 4);
    let added = 0;
    for (const d of dets) {
      // Detection (normalized in the letterboxed input) → frame pixels.
      const c = this.tmp;
      cropToFrame(box, d.cx, d.cy, c);
      const cx = c[0];
      const cy = c[1];
      const w = d.w * box.size;
      const h = d.h * box.size;
      cropToFrame(box, d.kp[0], d.kp[1], c);
      const x0 = c[0];
      const y0 = c[1];
      cropToFrame(box, d.kp[4], d.kp[5], c);
      const rot = alignRotation(x0, y0, c[0], c[1]);
      const roi = transformRect(cx, cy, w, h, rot, 2.6, -0.5);
      if (this.slots.some((s) => s.roi && roiIou(s.roi, roi) > 0.3)) continue;
      if (!(await this.runLandmarks(frame, roi))) continue;
      const want: 0 | 1 = this.lmHandedness > 0.5 ? 1 : 0;
      const side: 0 | 1 | -1 = !this.slots[want].roi ? want : !this.slots[1 - want].roi ? ((1 - want) as 0 | 1) : -1;
      if (side < 0 || side !== want) continue; // never label a hand against the model's handedness
      this.slots[side].handedness = this.lmHandedness;
      this.accept(side, 3, row, W, H);
      added++;
    }
    this.palmInterval = added ? this.opts.detectEvery : Math.min(this.opts.maxDetectEvery, this.palmInterval * 2);
  }

  /** A body-wrist region held no hand (hidden, out of frame): try again later, backing off up to 8 frames. */
  private hintFailed(side: 0 | 1): void {
    this.hintInterval[side] = Math.min(8, this.hintInterval[side] * 2);
    this.hintWait[side] = this.hintInterval[side];
  }

  /** Run the landmark model on `roi`; fills lmImage (frame px) / lmWorld; returns presence ≥ threshold. */
  private async runLandmarks(frame: Frame, roi: Roi): Promise<boolean> {
    cropRoi(frame.data, frame.width, frame.height, roi, LM_SIZE, 0, 1, this.lmIn);
    this.stats.landmarkCalls++;
    return this.readLandmarks(roi, await this.landmark.run(this.lmIn, 1));
  }

  /** Landmark model outputs for `roi` → lmImage (frame px) / lmWorld; returns presence ≥ threshold. */
  private readLandmarks(roi: Roi, [img, pres, hand, world]: Float32Array[]): boolean {
    this.lmPresence = pres[0];
    this.lmHandedness = hand[0];
    if (!(this.lmPresence >= this.opts.minPresence)) return false;
    const c = Math.cos(roi.rotation);
    const s = Math.sin(roi.rotation);
    const p = this.tmp;
    for (let k = 0; k < HAND_N; k++) {
      cropToFrame(roi, img[3 * k] / LM_SIZE, img[3 * k + 1] / LM_SIZE, p);
      this.lmImage[3 * k] = p[0];
      this.lmImage[3 * k + 1] = p[1];
      this.lmImage[3 * k + 2] = (img[3 * k + 2] / LM_SIZE) * roi.size;
      const wx = world[3 * k];
      const wy = world[3 * k + 1];
      this.lmWorld[3 * k] = c * wx - s * wy;
      this.lmWorld[3 * k + 1] = s * wx + c * wy;
      this.lmWorld[3 * k + 2] = world[3 * k + 2];
    }
    return true;
  }


  /** Store the last landmark result in `side` of the row and set the slot's ROI for the next frame. */
  private accept(side: 0 | 1, source: number, row: Float32Array, W: number, H: number): void {
    const b = handBase(side);
    row[b + H_SCORE] = this.lmPresence;
    row[b + H_HANDEDNESS] = this.lmHandedness;
    row[b + H_SOURCE] = source;
    for (let k = 0; k < HAND_N; k++) {
      row[b + H_WORLD + 3 * k] = this.lmWorld[3 * k];
      row[b + H_WORLD + 3 * k + 1] = this.lmWorld[3 * k + 1];
      row[b + H_WORLD + 3 * k + 2] = this.lmWorld[3 * k + 2];
      row[b + H_IMAGE + 3 * k] = this.lmImage[3 * k] / W;
      row[b + H_IMAGE + 3 * k + 1] = this.lmImage[3 * k + 1] / H;
      row[b + H_IMAGE + 3 * k + 2] = this.lmImage[3 * k + 2] / W;
    }
    const slot = this.slots[side];
    slot.handedness = 0.8 * slot.handedness + 0.2 * this.lmHandedness;
    slot.roi = this.roiFromLandmarks(W);
  }

  /** MediaPipe's hand-landmarks-to-ROI: rotated bounding box of the palm landmarks, ×2, shifted to the fingers. */
  private roiFromLandmarks(_W: number): Roi {
    const L = this.lmImage;
    const x0 = L[0];
    const y0 = L[1];
    const x1 = ((L[15] + L[39]) / 2 + L[27]) / 2;
    const y1 = ((L[16] + L[40]) / 2 + L[28]) / 2;
    const rot = alignRotation(x0, y0, x1, y1);
    let minX = Infinity, minY = Infinity, maxX = -Infinity, maxY = -Infinity;
    for (const k of PARTIAL) {
      minX = Math.min(minX, L[3 * k]);
      maxX = Math.max(maxX, L[3 * k]);
      minY = Math.min(minY, L[3 * k + 1]);
      maxY = Math.max(maxY, L[3 * k + 1]);
    }
    const acx = (minX + maxX) / 2;
    const acy = (minY + maxY) / 2;
    const rev = normalizeRadians(-rot);
    const c = Math.cos(rev);
    const s = Math.sin(rev);
    let pminX = Infinity, pminY = Infinity, pmaxX = -Infinity, pmaxY = -Infinity;
    for (const k of PARTIAL) {
      const ox = L[3 * k] - acx;
      const oy = L[3 * k + 1] - acy;
      const px = ox * c - oy * s;
      const py = ox * s + oy * c;
      pminX = Math.min(pminX, px);
      pmaxX = Math.max(pmaxX, px);
      pminY = Math.min(pminY, py);
      pmaxY = Math.max(pmaxY, py);
    }
    const pcx = (pminX + pmaxX) / 2;
    const pcy = (pminY + pmaxY) / 2;
    const cr = Math.cos(rot);
    const sr = Math.sin(rot);
    const cx = pcx * cr - pcy * sr + acx;
    const cy = pcx * sr + pcy * cr + acy;
    return transformRect(cx, cy, pmaxX - pminX, pmaxY - pminY, rot, 2.0, -0.1);
  }
}

/** MediaPipe's RectTransformation: shift (in the rect's rotated frame), then square on the long side, scale. */
export function transformRect(cx: number, cy: number, w: number, h: number, rot: number, scale: number, shiftY: number): Roi {
  const c = Math.cos(rot);
  const s = Math.sin(rot);
  const xs = -h * shiftY * s;
  const ys = h * shiftY * c;
  return { cx: cx + xs, cy: cy + ys, size: Math.max(w, h) * scale, rotation: rot };
}

/**
 * Coarse hand ROI from the body's wrist, index and pinky landmarks (frame pixels), in the manner of MediaPipe
 * Holistic: centre at the estimated middle-finger base, size from the wrist distance, pointing wrist → fingers.
 */
export function handRoiFromBody(wx: number, wy: number, ix: number, iy: number, px: number, py: number): Roi {
  const mx = (2 * ix + px) / 3;
  const my = (2 * iy + py) / 3;
  const d = Math.hypot(mx - wx, my - wy);
  const rot = alignRotation(wx, wy, mx, my);
  return transformRect(mx, my, 2 * d, 2 * d, rot, 1.8, -0.1);
}

function clearHand(row: Float32Array, side: 0 | 1): void {
  const b = handBase(side);
  row.fill(NaN, b, b + H_IMAGE + HAND_N * 3);
  row[b + H_SCORE] = 0;
  row[b + H_SOURCE] = 0;
}
