/**
 * Landmark importers: MediaPipe hand landmarks (JSON, .npy), BlazePose 33-landmark JSON (world or image),
 * and `.npy` keypoint arrays with a stated layout (mediapipe-hand, blazepose33, coco17, canonical).
 */
import { BLAZEPOSE_LANDMARKS } from '../pose/blazepose.ts';
import { UserError } from '../errors.ts';
import { decodeNpy } from '../io/npz.ts';
import {
  assembleTrack, baseSource, frameRotation, midSeries, newSeries, parseJson, quantile, readInput, renamed,
  transformPoints, uniformTimestamps, type Axis, type CanonicalParts, type InputFile, type JointSeries,
} from './common.ts';
import { geometricHeight } from './info.ts';
import { canonicalSkeleton, HAND_LANDMARKS, type Side } from './skeleton.ts';
import type { PoseSource, PoseTrack } from './track.ts';

/** Frames × joints × (3 or 4) values; NaN = missing. `channels` is 3 (xyz) or 4 (xyz + confidence). */
export interface LandmarkFrames {
  T: number;
  J: number;
  channels: 3 | 4;
  data: Float64Array;
}

// ---- generic frame parsing --------------------------------------------------------------------------

/** Read a landmark: [x,y,z], [x,y,z,c] or {x,y,z, visibility|score|presence}; null → missing. */
function readPoint(p: unknown, where: string, file: string): [number, number, number, number] {
  if (p === null || p === undefined) return [NaN, NaN, NaN, 0];
  let x: unknown, y: unknown, z: unknown, c: unknown = 1;
  if (Array.isArray(p)) {
    if (p.length < 3 || p.length > 4) throw new UserError(`${where} has ${p.length} values, expected 3 (x,y,z) or 4 (x,y,z,confidence)`, file);
    [x, y, z] = p;
    if (p.length === 4) c = p[3];
  } else if (typeof p === 'object') {
    const o = p as Record<string, unknown>;
    x = o.x; y = o.y; z = o.z ?? 0;
    c = o.visibility ?? o.score ?? o.presence ?? 1;
  } else throw new UserError(`${where} is not a point (${JSON.stringify(p).slice(0, 40)})`, file);
  for (const v of [x, y, z, c]) {
    if (v === null) return [NaN, NaN, NaN, 0];
    if (typeof v !== 'number' || !Number.isFinite(v)) throw new UserError(`${where} has a value that is not a finite number (${JSON.stringify(v)})`, file);
    // Pixels or metres: a million of either is garbage, not a landmark.
    if (Math.abs(v) > 1e6) throw new UserError(`${where} has a value of ${v.toExponential(2)} (over 1e6: not a landmark coordinate)`, file);
  }
  const conf = c as number;
  if (conf < 0 || conf > 1) throw new UserError(`${where} has confidence ${conf}, outside [0,1]`, file);
  return [x as number, y as number, z as number, conf];
}

/** Frames given as arrays of points (or null for no detection); every frame must have `J` points (J inferred when absent). */
export function framesFromJson(frames: unknown[], file: string, J?: number): LandmarkFrames {
  if (!frames.length) throw new UserError('no frames', file);
  const first = frames.find((f) => f !== null && f !== undefined);
  if (!first) throw new UserError('no frame has landmarks (all are null)', file);
  if (!Array.isArray(first)) throw new UserError('a frame is not a list of landmarks', file);
  const n = J ?? first.length;
  const T = frames.length;
  const data = new Float64Array(T * n * 4);
  for (let t = 0; t < T; t++) {
    const f = frames[t];
    if (f === null || f === undefined || (Array.isArray(f) && f.length === 0)) {
      for (let j = 0; j < n; j++) data.set([NaN, NaN, NaN, 0], 4 * (t * n + j));
      continue;
    }
    if (!Array.isArray(f)) throw new UserError(`frame ${t} is not a list of landmarks`, file);
    if (f.length !== n) throw new UserError(`frame ${t} has ${f.length} landmarks, expected ${n}`, file);
    for (let j = 0; j < n; j++) data.set(readPoint(f[j], `frame ${t} landmark ${j}`, file), 4 * (t * n + j));
  }
  return { T, J: n, channels: 4, data };
}

/** `.npy` [T,J,3] or [T,J,4] (float). NaN positions = missing. */
export function framesFromNpy(input: InputFile, file: string): LandmarkFrames {
  let arr;
  try {
    arr = decodeNpy(new Uint8Array(input.bytes.buffer, input.bytes.byteOffset, input.bytes.byteLength), 'file');
  } catch (err) {
    throw new UserError((err as Error).message.replace(/^file:?\s*/, ''), file);
  }
  if (arr.shape.length !== 3 || (arr.shape[2] !== 3 && arr.shape[2] !== 4)) {
    throw new UserError(`array shape is [${arr.shape.join(', ')}], expected [frames, joints, 3] or [frames, joints, 4]`, file);
  }
  if (arr.dtype !== 'f4' && arr.dtype !== 'f8') throw new UserError(`array dtype is ${arr.dtype}, expected float32 or float64`, file);
  const [T, J, C] = arr.shape;
  if (T === 0 || J === 0) throw new UserError(`array has no frames or no joints (shape [${arr.shape.join(', ')}])`, file);
  const data = new Float64Array(T * J * 4);
  const src = arr.data as Float32Array | Float64Array;
  for (let k = 0; k < T * J; k++) {
    const x = src[C * k], y = src[C * k + 1], z = src[C * k + 2];
    const c = C === 4 ? src[C * k + 3] : 1;
    for (const v of [x, y, z, c]) {
      if (v === Infinity || v === -Infinity) throw new UserError(`frame ${Math.floor(k / J)} joint ${k % J} has an infinite value`, file);
    }
    const missing = Number.isNaN(x) || Number.isNaN(y) || Number.isNaN(z) || Number.isNaN(c);
    if (!missing && (c < 0 || c > 1)) throw new UserError(`frame ${Math.floor(k / J)} joint ${k % J} has confidence ${c}, outside [0,1] (is the 4th column a confidence?)`, file);
    data.set(missing ? [NaN, NaN, NaN, 0] : [x, y, z, c], 4 * k);
  }
  return { T, J, channels: C as 3 | 4, data };
}

function seriesOf(lf: LandmarkFrames, j: number, name: string, parent: string | null): JointSeries {
  const s = newSeries(name, parent, lf.T);
  for (let t = 0; t < lf.T; t++) {
    const o = 4 * (t * lf.J + j);
    const c = lf.data[o + 3];
    if (!(c > 0) || Number.isNaN(lf.data[o])) continue;
    s.pos[3 * t] = lf.data[o]; s.pos[3 * t + 1] = lf.data[o + 1]; s.pos[3 * t + 2] = lf.data[o + 2];
    s.conf[t] = c;
  }
  return s;
}

// ---- MediaPipe hands --------------------------------------------------------------------------------

export interface HandOptions {
  /** Which hand the landmarks are (default: from the file's handedness/description/name, else right). */
  hand?: Side;
  /** Frame rate when the file does not state one (default 30). */
  fps?: number;
}

function guessSide(text: string): Side | null {
  if (/\bright\b|_right\b|right[_ ]hand|\bright_/i.test(text)) return 'right';
  if (/\bleft\b|_left\b|left[_ ]hand|\bleft_/i.test(text)) return 'left';
  return null;
}

/**
 * Hand landmarks (21 per frame, MediaPipe order) → `<side>_hand_*` joints. The points are kept in the
 * frame they are given in (MediaPipe world landmarks are hand-centred; dex-retargeting's are in the MANO
 * wrist frame): `meta.coordinate_frame` says which.
 */
export function handTrack(lf: LandmarkFrames, fps: number, side: Side, source: PoseSource, frameNote: string, file: string): PoseTrack {
  if (lf.J !== 21) throw new UserError(`hand landmarks must be 21 per frame (MediaPipe order), found ${lf.J}`, file);
  const canonical = new Map<string, JointSeries>();
  HAND_LANDMARKS.forEach((l, j) => canonical.set(`${side}_hand_${l}`, seriesOf(lf, j, `${side}_hand_${l}`, null)));
  return assembleTrack({
    T: lf.T, timestamps: uniformTimestamps(lf.T, fps), fps, file,
    parts: { body: false, hands: [side] }, canonical, extras: [],
    source: { ...source, hand: side }, meta: { coordinate_frame: frameNote },
  });
}

export function importMediapipeHandJson(file: string, opts: HandOptions = {}, input?: InputFile): PoseTrack {
  const inp = input ?? readInput(file);
  const doc = parseJson(inp);
  let frames: unknown[];
  let fps = opts.fps;
  let description = '';
  let handed: string | undefined;
  if (Array.isArray(doc)) frames = doc;
  else if (doc && typeof doc === 'object') {
    const o = doc as Record<string, unknown>;
    const f = o.frames ?? o.landmarks ?? o.world_landmarks;
    if (!Array.isArray(f)) throw new UserError('hand landmark JSON has no "frames" list', file);
    frames = f;
    if (fps === undefined && o.fps !== undefined) {
      if (typeof o.fps !== 'number' || !(o.fps > 0)) throw new UserError(`"fps" is not a positive number (${JSON.stringify(o.fps)})`, file);
      fps = o.fps;
    }
    if (typeof o.description === 'string') description = o.description;
    if (typeof o.handedness === 'string') handed = o.handedness;
    if (o.num_frames !== undefined && o.num_frames !== frames.length) {
      throw new UserError(`"num_frames" is ${JSON.stringify(o.num_frames)} but ${frames.length} frames are listed (truncated?)`, file);
    }
  } else throw new UserError('hand landmark JSON must be a list of frames or an object with "frames"', file);
  const lf = framesFromJson(frames, file);
  const side = opts.hand ?? (handed ? guessSide(handed) : null) ?? guessSide(description) ?? guessSide(inp.file.split('/').pop() ?? '') ?? 'right';
  const frameNote = /mano/i.test(description)
    ? 'MANO wrist frame (wrist at origin), metres; not the Z-up world frame'
    : 'as given by the source (MediaPipe world landmarks: hand-centred, metres); not the Z-up world frame';
  return handTrack(lf, fps ?? 30, side, baseSource(inp, 'mediapipe-hand-json', { fps_source: opts.fps ? 'stated' : fps ? 'file' : 'default' }), frameNote, file);
}

// ---- BlazePose --------------------------------------------------------------------------------------

export { BLAZEPOSE_LANDMARKS };

/** Parent (BlazePose name) of each landmark as kept in the track: a tree over the 33. */
const BLAZEPOSE_PARENT: Record<string, string | null> = {
  nose: null, left_eye_inner: 'nose', left_eye: 'left_eye_inner', left_eye_outer: 'left_eye', right_eye_inner: 'nose',
  right_eye: 'right_eye_inner', right_eye_outer: 'right_eye', left_ear: 'left_eye_outer', right_ear: 'right_eye_outer',
  mouth_left: 'nose', mouth_right: 'nose', left_shoulder: null, right_shoulder: null, left_elbow: 'left_shoulder',
  right_elbow: 'right_shoulder', left_wrist: 'left_elbow', right_wrist: 'right_elbow', left_pinky: 'left_wrist',
  right_pinky: 'right_wrist', left_index: 'left_wrist', right_index: 'right_wrist', left_thumb: 'left_wrist',
  right_thumb: 'right_wrist', left_hip: null, right_hip: null, left_knee: 'left_hip', right_knee: 'right_hip',
  left_ankle: 'left_knee', right_ankle: 'right_knee', left_heel: 'left_ankle', right_heel: 'right_ankle',
  left_foot_index: 'left_ankle', right_foot_index: 'right_ankle',
};
/** Canonical joint a root BlazePose landmark hangs from. */
const BLAZEPOSE_ROOT_PARENT: Record<string, string> = { nose: 'head', left_shoulder: 'chest', right_shoulder: 'chest', left_hip: 'pelvis', right_hip: 'pelvis' };

export interface BlazePoseOptions {
  fps?: number;
  /** 'world' (metres, hip-centred) or 'image' (pixels); default: detected from the value range. */
  coordinates?: 'world' | 'image';
  /** Metres per pixel for image landmarks (default: scaled to `assumeHeight`). */
  scale?: number;
  /** Standing height assumed when scaling image landmarks (default 1.7 m). */
  assumeHeight?: number;
  /** Ground the feet: 'frame' (lowest foot point at z=0 in every frame; default for hip-centred world
   * landmarks), 'clip' (one offset for the clip; default for image landmarks) or 'none'. */
  ground?: 'frame' | 'clip' | 'none';
}

const FOOT_POINTS = ['left_heel', 'right_heel', 'left_foot_index', 'right_foot_index', 'left_ankle', 'right_ankle'];

/**
 * 33 BlazePose landmarks → canonical body (pelvis = mid-hips, neck = mid-shoulders, chest and spine on the
 * pelvis→neck line, head = mid-ears, toes = foot_index) plus the 33 originals as `blazepose_<name>`.
 * BlazePose's frame (x right in the image, y down, z away from the camera) becomes X forward (toward the
 * camera), Y left, Z up.
 */
export function blazePoseTrack(lf: LandmarkFrames, fps: number, opts: BlazePoseOptions, source: PoseSource, file: string): PoseTrack {
  if (lf.J !== 33 && lf.J !== 39) throw new UserError(`BlazePose needs 33 landmarks per frame, found ${lf.J}`, file);
  const T = lf.T;
  let maxAbs = 0;
  for (let k = 0; k < T * lf.J; k++) {
    for (let a = 0; a < 3; a++) { const v = Math.abs(lf.data[4 * k + a]); if (v > maxAbs) maxAbs = v; }
  }
  const coords = opts.coordinates ?? (maxAbs > 5 ? 'image' : 'world');
  const R = frameRotation('-y', '-z');
  const bp = new Map<string, JointSeries>();
  BLAZEPOSE_LANDMARKS.forEach((n, j) => {
    const s = seriesOf(lf, j, `blazepose_${n}`, null);
    transformPoints(s.pos, R, 1);
    bp.set(n, s);
  });
  const get = (n: string) => bp.get(n)!;
  const canonical = canonicalFromKeypoints(get, T);
  for (const s of ['left', 'right']) canonical.set(`${s}_toe`, renamed(get(`${s}_foot_index`), `${s}_toe`, null));
  const extras: JointSeries[] = BLAZEPOSE_LANDMARKS.map((n) => {
    const p = BLAZEPOSE_PARENT[n];
    return renamed(get(n), `blazepose_${n}`, p ? `blazepose_${p}` : BLAZEPOSE_ROOT_PARENT[n]);
  });
  // Every series object is shared between canonical and extras or derived from them: transform once.
  const all = new Set<JointSeries>([...canonical.values(), ...extras]);
  const positionsOf = [...new Set([...all].map((s) => s.pos))];

  // Units: image pixels → metres.
  let scale = 1;
  let scaleNote: string | undefined;
  if (coords === 'image') {
    if (opts.scale !== undefined) {
      if (!(opts.scale > 0)) throw new UserError(`--scale must be positive, got ${opts.scale}`, file);
      scale = opts.scale;
      scaleNote = 'stated metres per pixel';
    } else {
      const trial = assembleTrack({ T, timestamps: uniformTimestamps(T, fps), fps, parts: { body: true, hands: [] }, canonical, extras: [], source, file });
      const h = geometricHeight(trial).height;
      if (!h) throw new UserError('cannot scale image landmarks (no frame shows head and feet); state --scale (metres per pixel)', file);
      const H = opts.assumeHeight ?? 1.7;
      scale = H / h;
      scaleNote = `pixels scaled so the standing height is an assumed ${H} m`;
    }
    for (const p of positionsOf) for (let i = 0; i < p.length; i++) p[i] *= scale;
  }

  // Grounding.
  const ground = opts.ground ?? (coords === 'world' ? 'frame' : 'clip');
  const footZ = (t: number) => {
    let lo = Infinity;
    for (const n of FOOT_POINTS) { const z = get(n).pos[3 * t + 2]; if (Number.isFinite(z) && z < lo) lo = z; }
    return lo;
  };
  if (ground !== 'none') {
    const offsets = new Float64Array(T);
    if (ground === 'frame') for (let t = 0; t < T; t++) offsets[t] = footZ(t);
    else {
      const zs: number[] = [];
      for (let t = 0; t < T; t++) zs.push(footZ(t));
      offsets.fill(quantile(zs, 0.05));
    }
    for (let t = 0; t < T; t++) {
      const o = Number.isFinite(offsets[t]) ? offsets[t] : 0;
      for (const p of positionsOf) p[3 * t + 2] -= o;
    }
  }
  return assembleTrack({
    T, timestamps: uniformTimestamps(T, fps), fps, file,
    parts: { body: true, hands: [] }, canonical, extras,
    source: { ...source, coordinates: coords, ...(coords === 'image' ? { scale, scale_source: scaleNote } : {}), grounding: ground },
  });
}

export function importBlazePoseJson(file: string, opts: BlazePoseOptions = {}, input?: InputFile): PoseTrack {
  const inp = input ?? readInput(file);
  const doc = parseJson(inp);
  let frames: unknown[];
  let fps = opts.fps;
  if (Array.isArray(doc)) {
    // A list of frames; each a list of landmarks, or a tfjs pose-detection result ([{keypoints3D|keypoints}]).
    frames = doc.map((f, t) => {
      let g = f;
      if (Array.isArray(g) && g.length === 1 && g[0] && typeof g[0] === 'object' && !Array.isArray(g[0]) && ('keypoints' in g[0] || 'keypoints3D' in g[0])) g = g[0];
      if (g && typeof g === 'object' && !Array.isArray(g)) {
        const o = g as Record<string, unknown>;
        const k = o.keypoints3D ?? o.keypoints ?? o.landmarks ?? o.world_landmarks;
        if (!Array.isArray(k)) throw new UserError(`frame ${t} has no landmark list`, file);
        return k;
      }
      return g;
    });
  } else if (doc && typeof doc === 'object') {
    const o = doc as Record<string, unknown>;
    const f = o.frames ?? o.landmarks ?? o.world_landmarks;
    if (!Array.isArray(f)) throw new UserError('BlazePose JSON has no "frames" list', file);
    frames = f;
    if (fps === undefined && typeof o.fps === 'number' && o.fps > 0) fps = o.fps;
  } else throw new UserError('BlazePose JSON must be a list of frames or an object with "frames"', file);
  const lf = framesFromJson(frames, file);
  return blazePoseTrack(lf, fps ?? 30, opts, baseSource(inp, 'blazepose-json', { fps_source: fps ? 'stated or file' : 'default 30' }), file);
}

// ---- .npy with a stated layout ----------------------------------------------------------------------

export type NpyLayout = 'mediapipe-hand' | 'blazepose33' | 'coco17' | 'canonical';

export const COCO17 = [
  'nose', 'left_eye', 'right_eye', 'left_ear', 'right_ear', 'left_shoulder', 'right_shoulder', 'left_elbow',
  'right_elbow', 'left_wrist', 'right_wrist', 'left_hip', 'right_hip', 'left_knee', 'right_knee', 'left_ankle', 'right_ankle',
] as const;

export interface NpyOptions extends HandOptions, BlazePoseOptions {
  layout?: NpyLayout;
  fps?: number;
  /** Source up axis for coco17 / canonical (default: 'z' for canonical, '-y' (image-style y down) for coco17). */
  up?: Axis;
}

export function importNpy(file: string, opts: NpyOptions = {}, input?: InputFile): PoseTrack {
  const inp = input ?? readInput(file);
  const lf = framesFromNpy(inp, file);
  const layout = opts.layout ?? guessLayout(lf.J, file);
  const fps = opts.fps ?? 30;
  if (!(fps > 0) || !Number.isFinite(fps)) throw new UserError(`--fps must be a positive number, got ${fps}`, file);
  const src = baseSource(inp, 'npy', { layout, channels: lf.channels, fps_source: opts.fps ? 'stated' : 'default 30' });
  const expect = (n: number[]) => {
    if (!n.includes(lf.J)) throw new UserError(`layout ${layout} needs ${n.join(' or ')} joints per frame, the array has ${lf.J}`, file);
  };
  switch (layout) {
    case 'mediapipe-hand': {
      expect([21]);
      const side = opts.hand ?? guessSide(inp.file.split('/').pop() ?? '') ?? 'right';
      return handTrack(lf, fps, side, src, 'as given by the source (hand landmarks; not converted to the Z-up world frame)', file);
    }
    case 'blazepose33':
      expect([33, 39]);
      return blazePoseTrack(lf, fps, opts, src, file);
    case 'coco17': {
      expect([17]);
      return coco17Track(lf, fps, opts.up ?? '-y', src, file);
    }
    case 'canonical': {
      const sizes = canonicalSizes();
      const entry = sizes.find((s) => s.n === lf.J);
      if (!entry) throw new UserError(`layout canonical needs ${sizes.map((s) => `${s.n} (${s.what})`).join(', ')} joints, the array has ${lf.J}`, file);
      const canonical = new Map<string, JointSeries>();
      entry.names.forEach((n, j) => canonical.set(n, seriesOf(lf, j, n, null)));
      const up = opts.up ?? 'z';
      if (up !== 'z') { const R = frameRotation(up, up.endsWith('x') ? 'y' : 'x'); for (const s of canonical.values()) transformPoints(s.pos, R); }
      return assembleTrack({ T: lf.T, timestamps: uniformTimestamps(lf.T, fps), fps, file, parts: entry.parts, canonical, extras: [], source: src });
    }
    default:
      throw new UserError(`unknown layout '${String(layout)}' (use mediapipe-hand, blazepose33, coco17 or canonical)`, file);
  }
}

function canonicalSizes(): { n: number; what: string; parts: CanonicalParts; names: string[] }[] {
  const out: { n: number; what: string; parts: CanonicalParts; names: string[] }[] = [];
  for (const [what, parts] of [
    ['body', { body: true, hands: [] }],
    ['both hands', { body: false, hands: ['left', 'right'] }],
    ['body and both hands', { body: true, hands: ['left', 'right'] }],
  ] as [string, CanonicalParts][]) {
    const sk = canonicalSkeleton({ body: parts.body, hands: parts.hands.length > 0 });
    out.push({ n: sk.names.length, what, parts, names: sk.names });
  }
  return out;
}

function guessLayout(J: number, file: string): NpyLayout {
  if (J === 21) return 'mediapipe-hand';
  if (J === 33 || J === 39) return 'blazepose33';
  if (J === 17) return 'coco17';
  if (canonicalSizes().some((s) => s.n === J)) return 'canonical';
  throw new UserError(`cannot tell the keypoint layout of ${J} joints per frame; state --layout (mediapipe-hand, blazepose33, coco17 or canonical)`, file);
}

/**
 * Canonical body from keypoint sets that name ears, shoulders, elbows, wrists, hips, knees and ankles
 * (BlazePose, COCO): pelvis = mid-hips, neck = mid-shoulders, spine and chest at 30% / 65% of the way from
 * pelvis to neck, head = mid-ears; limbs as named.
 */
function canonicalFromKeypoints(get: (name: string) => JointSeries, T: number): Map<string, JointSeries> {
  const canonical = new Map<string, JointSeries>();
  const pelvis = midSeries('pelvis', null, get('left_hip'), get('right_hip'), T);
  const neck = midSeries('neck', null, get('left_shoulder'), get('right_shoulder'), T);
  canonical.set('pelvis', pelvis);
  canonical.set('neck', neck);
  canonical.set('spine', midSeries('spine', null, neck, pelvis, T, 0.3));
  canonical.set('chest', midSeries('chest', null, neck, pelvis, T, 0.65));
  canonical.set('head', midSeries('head', null, get('left_ear'), get('right_ear'), T));
  for (const s of ['left', 'right']) {
    for (const p of ['shoulder', 'elbow', 'wrist', 'hip', 'knee', 'ankle']) canonical.set(`${s}_${p}`, renamed(get(`${s}_${p}`), `${s}_${p}`, null));
  }
  return canonical;
}

/** COCO-17 → canonical: pelvis = mid-hips, neck = mid-shoulders, head = mid-ears; no toes (missing). */
function coco17Track(lf: LandmarkFrames, fps: number, up: Axis, source: PoseSource, file: string): PoseTrack {
  const T = lf.T;
  const forward: Axis = up.endsWith('y') ? '-z' : up.endsWith('z') ? 'x' : 'y';
  const R = frameRotation(up, forward);
  const c = new Map<string, JointSeries>();
  COCO17.forEach((n, j) => { const s = seriesOf(lf, j, `coco_${n}`, null); transformPoints(s.pos, R); c.set(n, s); });
  const g = (n: string) => c.get(n)!;
  const canonical = canonicalFromKeypoints(g, T);
  const parent: Record<string, string> = {
    nose: 'head', left_eye: 'coco_nose', right_eye: 'coco_nose', left_ear: 'coco_left_eye', right_ear: 'coco_right_eye',
  };
  const extras = COCO17.map((n) => renamed(g(n), `coco_${n}`, parent[n] ?? n.replace(/^(left|right)_.*$/, (m) => m)));
  return assembleTrack({ T, timestamps: uniformTimestamps(T, fps), fps, file, parts: { body: true, hands: [] }, canonical, extras, source: { ...source, up_axis: up } });
}
