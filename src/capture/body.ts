/**
 * Body: MediaPipe BlazePose person detector + landmark model (33 image landmarks, 33 metric world landmarks,
 * visibility, presence), with MediaPipe's region-of-interest logic. One person: the region of interest comes
 * from the previous frame's auxiliary landmarks; the detector runs only when the track is lost, and then
 * prefers the detection nearest to where the person was last seen, so a second person entering does not
 * steal the track.
 */
import type { Frame } from './video.ts';
import { loadRunner, type ModelRunner } from './runner.ts';
import { type Roi, alignRotation, cropRoi, cropToFrame, decodeDetections, letterboxRoi } from './roi.ts';
import { ssdAnchors } from './roi.ts';
import { BODY_N, R_BODY_NEXT_ROI, R_BODY_DETECTED, R_BODY_IMAGE, R_BODY_PRES, R_BODY_SCORE, R_BODY_VIS, R_BODY_WORLD } from './layout.ts';
import { handRoiFromBody } from './hands.ts';

const DET_SIZE = 224;
const LM_SIZE = 256;
const LM_ALL = 39;

export interface BodyOptions {
  /** BlazePose landmark model: 'full' (default), 'lite' or 'heavy'. */
  model?: 'full' | 'lite' | 'heavy';
  /** Pose presence needed to keep tracking (MediaPipe: 0.5). */
  minPresence?: number;
  /** Person detector score threshold (MediaPipe: 0.5). */
  minDetection?: number;
  /** While lost, run the detector at most every N frames (default 1). */
  detectEvery?: number;
}

export interface BodyStats {
  landmarkCalls: number;
  detectorCalls: number;
}

const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));

export class BodyTracker {
  readonly stats: BodyStats = { landmarkCalls: 0, detectorCalls: 0 };
  private roi: Roi | null = null;
  private lastCenter: [number, number] | null = null;
  private sinceDetect = Infinity;
  private readonly detIn = new Float32Array(DET_SIZE * DET_SIZE * 3);
  private readonly lmIn = new Float32Array(LM_SIZE * LM_SIZE * 3);
  private readonly anchors = ssdAnchors(DET_SIZE, [8, 16, 32, 32, 32]);
  private readonly px = new Float64Array(LM_ALL * 2);
  private readonly tmp = new Float64Array(2);
  private readonly opts: Required<BodyOptions>;
  /** Hand ROIs from the last frame's wrists: [left, right]. */
  readonly handHints: [Roi | null, Roi | null] = [null, null];

  private constructor(private detector: ModelRunner, private landmark: ModelRunner, opts: BodyOptions) {
    this.opts = { model: opts.model ?? 'full', minPresence: opts.minPresence ?? 0.5, minDetection: opts.minDetection ?? 0.5, detectEvery: opts.detectEvery ?? 1 };
  }

  static async create(opts: BodyOptions = {}): Promise<BodyTracker> {
    // Only the landmark heads are requested: the segmentation and heatmap heads are pruned.
    const [det, lm] = await Promise.all([
      loadRunner('blazepose-detector', DET_SIZE),
      loadRunner(`blazepose-${opts.model ?? 'full'}`, LM_SIZE, { outputs: ['Identity_3', 'Identity_2', 'Identity_4'] }),
    ]);
    return new BodyTracker(det, lm, opts);
  }

  reset(): void {
    this.roi = null;
    this.lastCenter = null;
    this.sinceDetect = Infinity;
    this.lostAt = this.frameNo;
  }

  /** Start from a known region (e.g. where the previous segment's last frame left the person). */
  seed(roi: Roi): void {
    this.roi = { ...roi };
    this.lastCenter = [roi.cx, roi.cy];
    this.lostAt = this.frameNo;
  }

  /** Track the body in `frame`, writing the body fields of `row`; updates `handHints`. Returns presence. */
  async process(frame: Frame, row: Float32Array): Promise<number> {
    this.handHints[0] = this.handHints[1] = null;
    this.sinceDetect++;
    if (this.roi) {
      if (await this.runLandmarks(frame, this.roi, row)) return row[R_BODY_SCORE];
      this.roi = null;
      this.lostAt = this.frameNo;
    }
    this.frameNo++;
    // Nobody found for a while: look less often (every frame at first, backing off to every 4th).
    const lostFor = this.frameNo - this.lostAt;
    const every = Math.max(this.opts.detectEvery, lostFor > 60 ? 4 : lostFor > 15 ? 2 : 1);
    if (this.sinceDetect < every) return 0;
    this.sinceDetect = 0;
    row[R_BODY_DETECTED] = 1;
    const W = frame.width;
    const H = frame.height;
    // The whole picture first; when nobody is confirmed there, square tiles along the long side, where a
    // person far from the camera is twice as large in the detector's input.
    const boxes: Roi[] = [letterboxRoi(W, H)];
    if (Math.max(W, H) > 1.3 * Math.min(W, H)) {
      const S = Math.min(W, H);
      const n = Math.ceil(Math.max(W, H) / S);
      for (let k = 0; k < n; k++) {
        const c = S / 2 + ((Math.max(W, H) - S) * k) / (n - 1);
        boxes.push(W >= H ? { cx: c, cy: H / 2, size: S, rotation: 0 } : { cx: W / 2, cy: c, size: S, rotation: 0 });
      }
    }
    const pass = [boxes.slice(0, 1), boxes.slice(1)];
    for (const group of pass) {
      let cands: number[][] = [];
      for (const box of group) cands = cands.concat(await this.detectIn(frame, box));
      // Just lost someone (within a second or so): try the detection nearest to where they were first.
      if (this.lastCenter && lostFor <= 30) {
        const [lx, ly] = this.lastCenter;
        cands.sort((p, q) => Math.hypot(p[0] - lx, p[1] - ly) - Math.hypot(q[0] - lx, q[1] - ly));
      }
      for (const d of cands.slice(0, 3)) {
        const roi = this.roiFromPoints(d[0], d[1], d[2], d[3]);
        if (await this.runLandmarks(frame, roi, row)) return row[R_BODY_SCORE];
      }
    }
    return 0;
  }

  private frameNo = 0;
  private lostAt = 0;

  /** Landmarks in `roi`; on presence, fills the row, sets the next ROI and the hand hints. */
  private async runLandmarks(frame: Frame, roi: Roi, row: Float32Array): Promise<boolean> {
    const W = frame.width;
    const H = frame.height;
    cropRoi(frame.data, W, H, roi, LM_SIZE, 0, 1, this.lmIn);
    this.stats.landmarkCalls++;
    const [flag, ld, world] = await this.landmark.run(this.lmIn);
    const presence = flag[0];
    if (!(presence >= this.opts.minPresence)) return false;
    const c = Math.cos(roi.rotation);
    const s = Math.sin(roi.rotation);
    const p = this.tmp;
    for (let k = 0; k < LM_ALL; k++) {
      cropToFrame(roi, ld[5 * k] / LM_SIZE, ld[5 * k + 1] / LM_SIZE, p);
      this.px[2 * k] = p[0];
      this.px[2 * k + 1] = p[1];
      if (k >= BODY_N) continue;
      row[R_BODY_IMAGE + 3 * k] = p[0] / W;
      row[R_BODY_IMAGE + 3 * k + 1] = p[1] / H;
      row[R_BODY_IMAGE + 3 * k + 2] = ((ld[5 * k + 2] / LM_SIZE) * roi.size) / W;
      row[R_BODY_VIS + k] = sigmoid(ld[5 * k + 3]);
      row[R_BODY_PRES + k] = sigmoid(ld[5 * k + 4]);
      const wx = world[3 * k];
      const wy = world[3 * k + 1];
      row[R_BODY_WORLD + 3 * k] = c * wx - s * wy;
      row[R_BODY_WORLD + 3 * k + 1] = s * wx + c * wy;
      row[R_BODY_WORLD + 3 * k + 2] = world[3 * k + 2];
    }
    row[R_BODY_SCORE] = presence;
    // Next frame's region from the auxiliary landmarks 33 (hip centre) and 34 (body size and rotation).
    this.roi = this.roiFromPoints(this.px[66], this.px[67], this.px[68], this.px[69]);
    this.lastCenter = [this.px[66], this.px[67]];
    row[R_BODY_NEXT_ROI] = this.roi.cx;
    row[R_BODY_NEXT_ROI + 1] = this.roi.cy;
    row[R_BODY_NEXT_ROI + 2] = this.roi.size;
    row[R_BODY_NEXT_ROI + 3] = this.roi.rotation;
    // Hand regions from the wrists (15/16), pinkies (17/18), index fingers (19/20) when visible.
    for (const side of [0, 1] as const) {
      const w = 15 + side;
      const pk = 17 + side;
      const ix = 19 + side;
      const vis = row[R_BODY_VIS + w];
      if (vis < 0.5) continue;
      const hx = this.px[2 * w];
      const hy = this.px[2 * w + 1];
      if (hx < 0 || hy < 0 || hx >= W || hy >= H) continue;
      this.handHints[side] = handRoiFromBody(hx, hy, this.px[2 * ix], this.px[2 * ix + 1], this.px[2 * pk], this.px[2 * pk + 1]);
    }
    return true;
  }

  private roiFromPoints(x0: number, y0: number, x1: number, y1: number): Roi {
    const size = 2 * Math.hypot(x1 - x0, y1 - y0) * 1.25;
    return { cx: x0, cy: y0, size, rotation: alignRotation(x0, y0, x1, y1) };
  }

  /** Person detections inside `box` (a square of the frame), best first, as [hipX, hipY, sizeX, sizeY] pixels. */
  private async detectIn(frame: Frame, box: Roi): Promise<number[][]> {
    cropRoi(frame.data, frame.width, frame.height, box, DET_SIZE, -1, 1, this.detIn);
    this.stats.detectorCalls++;
    const [raw] = await this.detector.run(this.detIn);
    const dets = decodeDetections(raw, this.anchors, DET_SIZE, { score: 0, box: 1, kp: 5, nkp: 4, stride: 13 }, this.opts.minDetection, 0.3, 5);
    return dets.map((d) => {
      const p0 = new Float64Array(2);
      const p1 = new Float64Array(2);
      cropToFrame(box, d.kp[0], d.kp[1], p0);
      cropToFrame(box, d.kp[2], d.kp[3], p1);
      return [p0[0], p0[1], p1[0], p1[1]];
    });
  }
}
