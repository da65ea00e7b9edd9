/**
 * Geometry shared by the detectors and landmark models: rotated square regions of interest (MediaPipe's
 * "normalized rect" in pixel units), cropping one into a model input, SSD anchors and detection decoding.
 * Crops are written into caller-owned Float32Arrays: nothing is allocated per frame.
 */

/** A rotated square in frame pixels: centre, side length, rotation (radians, clockwise in image y-down). */
export interface Roi {
  cx: number;
  cy: number;
  size: number;
  rotation: number;
}

export function normalizeRadians(a: number): number {
  return a - 2 * Math.PI * Math.floor((a + Math.PI) / (2 * Math.PI));
}

/** Rotation that turns the direction p0→p1 to point "up" in the crop (MediaPipe's target angle 90°). */
export function alignRotation(x0: number, y0: number, x1: number, y1: number): number {
  return normalizeRadians(Math.PI / 2 - Math.atan2(-(y1 - y0), x1 - x0));
}

/** The square covering the whole frame (letterbox), for full-frame detectors. */
export function letterboxRoi(width: number, height: number): Roi {
  return { cx: width / 2, cy: height / 2, size: Math.max(width, height), rotation: 0 };
}

/** Map a point given in crop-normalized coordinates ([0,1]², y down) back to frame pixels. */
export function cropToFrame(roi: Roi, u: number, v: number, out: Float64Array | number[], o = 0): void {
  const dx = (u - 0.5) * roi.size;
  const dy = (v - 0.5) * roi.size;
  const c = Math.cos(roi.rotation);
  const s = Math.sin(roi.rotation);
  out[o] = roi.cx + dx * c - dy * s;
  out[o + 1] = roi.cy + dx * s + dy * c;
}

/**
 * Sample `roi` of an RGB24 frame into an S×S×3 float tensor buffer (bilinear, zero outside the frame), mapping
 * byte values 0..255 to [lo, hi].
 */
export function cropRoi(rgb: Uint8Array, width: number, height: number, roi: Roi, S: number, lo: number, hi: number, dst: Float32Array): void {
  const scale = (hi - lo) / 255;
  const c = Math.cos(roi.rotation);
  const s = Math.sin(roi.rotation);
  const step = roi.size / S;
  // Pixel centre convention: frame pixel (i, j) covers [j, j+1) with centre j + 0.5.
  let o = 0;
  for (let i = 0; i < S; i++) {
    const dy = (i + 0.5) * step - roi.size / 2;
    const dx0 = 0.5 * step - roi.size / 2;
    let x = roi.cx + dx0 * c - dy * s - 0.5;
    let y = roi.cy + dx0 * s + dy * c - 0.5;
    const sx = step * c;
    const sy = step * s;
    for (let j = 0; j < S; j++, x += sx, y += sy) {
      const x0 = Math.floor(x);
      const y0 = Math.floor(y);
      if (x0 < -1 || y0 < -1 || x0 >= width || y0 >= height) {
        dst[o++] = lo;
        dst[o++] = lo;
        dst[o++] = lo;
        continue;
      }
      const fx = x - x0;
      const fy = y - y0;
      const x1 = x0 + 1;
      const y1 = y0 + 1;
      const w00 = (1 - fx) * (1 - fy);
      const w01 = fx * (1 - fy);
      const w10 = (1 - fx) * fy;
      const w11 = fx * fy;
      if (x0 >= 0 && y0 >= 0 && x1 < width && y1 < height) {
        // All four neighbours inside the frame (nearly every sample): no per-channel bounds checks.
        const p00 = (y0 * width + x0) * 3;
        const p10 = p00 + width * 3;
        dst[o++] = lo + (w00 * rgb[p00] + w01 * rgb[p00 + 3] + w10 * rgb[p10] + w11 * rgb[p10 + 3]) * scale;
        dst[o++] = lo + (w00 * rgb[p00 + 1] + w01 * rgb[p00 + 4] + w10 * rgb[p10 + 1] + w11 * rgb[p10 + 4]) * scale;
        dst[o++] = lo + (w00 * rgb[p00 + 2] + w01 * rgb[p00 + 5] + w10 * rgb[p10 + 2] + w11 * rgb[p10 + 5]) * scale;
        continue;
      }
      const in00 = x0 >= 0 && y0 >= 0;
      const in01 = x1 < width && y0 >= 0;
      const in10 = x0 >= 0 && y1 < height;
      const in11 = x1 < width && y1 < height;
      const p00 = (y0 * width + x0) * 3;
      const p01 = p00 + 3;
      const p10 = p00 + width * 3;
      const p11 = p10 + 3;
      for (let ch = 0; ch < 3; ch++) {
        let v = 0;
        if (in00) v += w00 * rgb[p00 + ch];
        if (in01) v += w01 * rgb[p01 + ch];
        if (in10) v += w10 * rgb[p10 + ch];
        if (in11) v += w11 * rgb[p11 + ch];
        dst[o++] = lo + v * scale;
      }
    }
  }
}

/** SSD anchor centres (normalized), MediaPipe's SsdAnchorsCalculator with fixed anchor size, aspect ratio 1. */
export function ssdAnchors(inputSize: number, strides: number[]): Float32Array {
  const out: number[] = [];
  let layer = 0;
  while (layer < strides.length) {
    let last = layer;
    let perCell = 0;
    while (last < strides.length && strides[last] === strides[layer]) {
      perCell += 2; // aspect ratio 1.0 plus the interpolated scale
      last++;
    }
    const fm = Math.ceil(inputSize / strides[layer]);
    for (let y = 0; y < fm; y++) for (let x = 0; x < fm; x++) for (let k = 0; k < perCell; k++) out.push((x + 0.5) / fm, (y + 0.5) / fm);
    layer = last;
  }
  return Float32Array.from(out);
}

/** A decoded detection in crop-normalized coordinates of the detector input. */
export interface Detection {
  score: number;
  /** Box centre and size, normalized. */
  cx: number;
  cy: number;
  w: number;
  h: number;
  /** Keypoints, normalized, [x0, y0, x1, y1, ...]. */
  kp: number[];
}

/**
 * Decode raw SSD output rows (`stride` values per anchor) into detections above `minScore`, then weighted
 * non-maximum suppression (MediaPipe's WEIGHTED mode) with IoU threshold `iou`.
 */
export function decodeDetections(
  raw: Float32Array, anchors: Float32Array, inputSize: number, layout: { score: number; box: number; kp: number; nkp: number; stride: number },
  minScore: number, iou: number, maxOut: number,
): Detection[] {
  const n = anchors.length / 2;
  const cands: Detection[] = [];
  const minLogit = Math.log(minScore / (1 - minScore));
  for (let i = 0; i < n; i++) {
    const r = i * layout.stride;
    let logit = raw[r + layout.score];
    if (!(logit >= minLogit)) continue;
    logit = Math.max(-100, Math.min(100, logit));
    const ax = anchors[2 * i];
    const ay = anchors[2 * i + 1];
    const b = r + layout.box;
    const kp: number[] = [];
    for (let k = 0; k < layout.nkp; k++) {
      kp.push(raw[r + layout.kp + 2 * k] / inputSize + ax, raw[r + layout.kp + 2 * k + 1] / inputSize + ay);
    }
    cands.push({
      score: 1 / (1 + Math.exp(-logit)),
      cx: raw[b] / inputSize + ax,
      cy: raw[b + 1] / inputSize + ay,
      w: raw[b + 2] / inputSize,
      h: raw[b + 3] / inputSize,
      kp,
    });
  }
  cands.sort((a, b) => b.score - a.score);
  const out: Detection[] = [];
  const used = new Uint8Array(cands.length);
  for (let i = 0; i < cands.length && out.length < maxOut; i++) {
    if (used[i]) continue;
    const group: Detection[] = [];
    for (let j = i; j < cands.length; j++) {
      if (!used[j] && boxIou(cands[i], cands[j]) > iou) {
        used[j] = 1;
        group.push(cands[j]);
      }
    }
    // Weighted average of the overlapping group, score of the best.
    let tw = 0;
    const avg: Detection = { score: cands[i].score, cx: 0, cy: 0, w: 0, h: 0, kp: cands[i].kp.map(() => 0) };
    for (const d of group) {
      tw += d.score;
      avg.cx += d.cx * d.score;
      avg.cy += d.cy * d.score;
      avg.w += d.w * d.score;
      avg.h += d.h * d.score;
      for (let k = 0; k < d.kp.length; k++) avg.kp[k] += d.kp[k] * d.score;
    }
    avg.cx /= tw;
    avg.cy /= tw;
    avg.w /= tw;
    avg.h /= tw;
    for (let k = 0; k < avg.kp.length; k++) avg.kp[k] /= tw;
    out.push(avg);
  }
  return out;
}

function boxIou(a: Detection, b: Detection): number {
  const ix = Math.max(0, Math.min(a.cx + a.w / 2, b.cx + b.w / 2) - Math.max(a.cx - a.w / 2, b.cx - b.w / 2));
  const iy = Math.max(0, Math.min(a.cy + a.h / 2, b.cy + b.h / 2) - Math.max(a.cy - a.h / 2, b.cy - b.h / 2));
  const inter = ix * iy;
  const uni = a.w * a.h + b.w * b.h - inter;
  return uni > 0 ? inter / uni : 0;
}

/** Overlap of two ROIs as IoU of their axis-aligned squares (enough to tell "same object"). */
export function roiIou(a: Roi, b: Roi): number {
  const ix = Math.max(0, Math.min(a.cx + a.size / 2, b.cx + b.size / 2) - Math.max(a.cx - a.size / 2, b.cx - b.size / 2));
  const iy = Math.max(0, Math.min(a.cy + a.size / 2, b.cy + b.size / 2) - Math.max(a.cy - a.size / 2, b.cy - b.size / 2));
  const inter = ix * iy;
  const uni = a.size * a.size + b.size * b.size - inter;
  return uni > 0 ? inter / uni : 0;
}
