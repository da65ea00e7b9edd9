/**
 * TRC marker files (OpenSim / Motion Analysis): tab-separated, a 5-line header (path line, keys,
 * values with DataRate, NumFrames, NumMarkers, Units; marker names; X1 Y1 Z1 ...), then one row per frame
 * `Frame# Time x y z ...`. Blank cells are missing markers (NaN, confidence 0).
 *
 * Every marker is kept as a joint (its own name, hung on the canonical joint of its body segment). The
 * canonical joints are estimated from the markers where the marker set allows it:
 * - hips: Harrington et al. (2007) regression from the ASIS/PSIS markers (pelvis width and depth);
 * - pelvis: centre of the ASIS and PSIS markers;
 * - knees / ankles: lateral knee marker / lateral malleolus moved medially by half a typical joint width
 *   (50 / 35 mm) along the pelvis's left-right axis (medial markers are used instead when present);
 * - toes: between the toe and 5th-metatarsal markers (ball of the foot);
 * - shoulders: acromion marker 40 mm down the trunk; elbows, wrists: their markers (midpoint of medial and
 *   lateral markers when both exist);
 * - neck: midway between the clavicle (sternal notch) markers and the acromions; spine and chest
 *   interpolated along pelvis → neck; head: only with head markers (none → missing).
 */
import { UserError } from '../errors.ts';
import {
  assembleTrack, baseSource, dominantAxis, frameRotation, newSeries, quantile, readInput,
  type Axis, type InputFile, type JointSeries,
} from './common.ts';
import type { PoseTrack } from './track.ts';

export interface TrcOptions {
  /** Source up axis (default: detected; OpenSim files are Y up). */
  up?: Axis;
  /** Metres per file unit (default: from the Units header). */
  scale?: number;
}

export interface TrcData {
  markers: string[];
  rate: number;
  units: string;
  frames: number;
  time: Float64Array;
  /** frames × markers × 3, file units; NaN = missing. */
  xyz: Float64Array;
}

const UNIT_SCALE: Record<string, number> = { mm: 0.001, cm: 0.01, m: 1, meters: 1, metres: 1, millimeters: 0.001, in: 0.0254 };

export function parseTrc(text: string, file: string): TrcData {
  const lines = text.split(/\r\n|\r|\n/);
  const fail = (msg: string, line?: number): never => {
    throw new UserError(line !== undefined ? `line ${line}: ${msg}` : msg, file);
  };
  if (!/^PathFileType/.test(lines[0] ?? '')) fail(`not a TRC file (first line does not start with PathFileType)`, 1);
  if (lines.length < 5) fail('truncated: the TRC header needs 5 lines');
  const keys = lines[1].split('\t').map((s) => s.trim());
  const vals = lines[2].split('\t').map((s) => s.trim()).filter((s) => s.length);
  const hk = keys.filter((s) => s.length);
  if (hk.length !== vals.length) fail(`header has ${hk.length} keys but ${vals.length} values`, 3);
  const header = new Map(hk.map((k, i) => [k, vals[i]]));
  const rate = Number(header.get('DataRate'));
  const nFrames = Number(header.get('NumFrames'));
  const nMarkers = Number(header.get('NumMarkers'));
  const units = header.get('Units') ?? '';
  if (!(rate > 0) || !Number.isFinite(rate)) fail(`DataRate is not a positive number (${header.get('DataRate')})`, 3);
  if (!Number.isInteger(nMarkers) || nMarkers <= 0) fail(`NumMarkers is not a positive integer (${header.get('NumMarkers')})`, 3);
  if (!Number.isInteger(nFrames) || nFrames < 0) fail(`NumFrames is not an integer (${header.get('NumFrames')})`, 3);
  const nameCells = lines[3].split('\t');
  if (nameCells[0].trim() !== 'Frame#') fail(`expected 'Frame#' to start the marker-name line`, 4);
  const markers = nameCells.slice(2).map((s) => s.trim()).filter((s) => s.length);
  if (markers.length !== nMarkers) fail(`NumMarkers is ${nMarkers} but ${markers.length} marker names are listed`, 4);
  if (new Set(markers).size !== markers.length) fail('a marker name appears twice', 4);
  const rows: { cells: string[]; line: number }[] = [];
  for (let i = 5; i < lines.length; i++) {
    if (!lines[i].trim().length) continue;
    rows.push({ cells: lines[i].split('\t'), line: i + 1 });
  }
  if (!rows.length) fail('no data rows');
  if (rows.length < nFrames) fail(`truncated: NumFrames is ${nFrames} but ${rows.length} rows follow`);
  if (rows.length > nFrames) fail(`NumFrames is ${nFrames} but ${rows.length} rows follow`);
  const T = rows.length;
  const time = new Float64Array(T);
  const xyz = new Float64Array(T * nMarkers * 3).fill(NaN);
  for (let t = 0; t < T; t++) {
    const { cells, line } = rows[t];
    if (cells.length < 2 + 3 * nMarkers) {
      // Trailing missing markers may be left off entirely; anything shorter than Frame#+Time is broken.
      if (cells.length < 2) fail(`row has ${cells.length} cells`, line);
    }
    if (cells.length > 2 + 3 * nMarkers && cells.slice(2 + 3 * nMarkers).some((c) => c.trim().length)) {
      fail(`row has more values than ${nMarkers} markers`, line);
    }
    const tv = Number(cells[1]);
    if (!cells[1]?.trim().length || !Number.isFinite(tv)) fail(`Time '${cells[1] ?? ''}' is not a finite number`, line);
    if (t > 0 && !(tv > time[t - 1])) fail(`Time ${tv} does not increase`, line);
    time[t] = tv;
    for (let k = 0; k < 3 * nMarkers; k++) {
      const c = (cells[2 + k] ?? '').trim();
      if (!c.length) continue;
      const v = Number(c);
      if (!Number.isFinite(v)) {
        if (/^nan$/i.test(c)) continue;
        fail(`marker ${markers[Math.floor(k / 3)]} ${'XYZ'[k % 3]} '${c}' is not a finite number`, line);
      }
      xyz[3 * t * nMarkers + k] = v;
    }
    // A marker is missing unless all three coordinates are present.
    for (let m = 0; m < nMarkers; m++) {
      const o = 3 * (t * nMarkers + m);
      if (Number.isNaN(xyz[o]) || Number.isNaN(xyz[o + 1]) || Number.isNaN(xyz[o + 2])) xyz[o] = xyz[o + 1] = xyz[o + 2] = NaN;
    }
  }
  return { markers, rate, units, frames: T, time, xyz };
}

// Marker name lookup: case-insensitive, '.', '_', ' ' ignored; side prefixes R/L, Right/Left, r_/l_ and suffixes.
function norm(s: string): string {
  return s.toLowerCase().replace(/[^a-z0-9]/g, '');
}

function findMarker(markers: string[], side: 'left' | 'right' | null, names: string[]): number {
  const n = markers.map(norm);
  const sides = side === 'left' ? ['l', 'left'] : side === 'right' ? ['r', 'right'] : [''];
  for (const name of names) {
    for (const s of sides) {
      const i = n.findIndex((m) => m === s + name || m === name + s || (s === '' && m === name));
      if (i >= 0) return i;
    }
  }
  return -1;
}

export function importTrc(file: string, opts: TrcOptions = {}, input?: InputFile): PoseTrack {
  const inp = input ?? readInput(file);
  const trc = parseTrc(inp.bytes.toString('utf8'), file);
  const { markers, frames: T } = trc;
  const M = markers.length;
  let scale = opts.scale;
  let scaleSource = 'stated';
  if (scale === undefined) {
    scale = UNIT_SCALE[trc.units.toLowerCase()];
    scaleSource = 'Units header';
    if (scale === undefined) throw new UserError(`unknown Units '${trc.units}'; state --scale (metres per unit)`, file);
  } else if (!(scale > 0) || !Number.isFinite(scale)) throw new UserError(`--scale must be a positive number, got ${scale}`, file);

  const side = (s: 'left' | 'right', ...names: string[]) => findMarker(markers, s, names);
  const idx = {
    asis: { left: side('left', 'asis'), right: side('right', 'asis') },
    psis: { left: side('left', 'psis'), right: side('right', 'psis') },
    sacrum: findMarker(markers, null, ['s2', 'sacrum', 'sacr', 'vsacral']),
  };

  // Up axis: from the feet to the shoulders (or the pelvis), median over frames.
  let up = opts.up;
  if (!up) {
    const topM = [side('left', 'shoulder', 'acromion', 'sho'), side('right', 'shoulder', 'acromion', 'sho'), idx.asis.left, idx.asis.right].filter((i) => i >= 0);
    const lowM = [side('left', 'ankle', 'lmal', 'malleolus', 'ank'), side('right', 'ankle', 'lmal', 'malleolus', 'ank'), side('left', 'heel', 'hee'), side('right', 'heel', 'hee'), side('left', 'toe'), side('right', 'toe')].filter((i) => i >= 0);
    if (!topM.length || !lowM.length) up = 'y';
    else {
      const d: [number, number, number] = [0, 0, 0];
      for (let a = 0; a < 3; a++) {
        const v: number[] = [];
        for (let t = 0; t < T; t++) {
          const top = quantile(topM.map((m) => trc.xyz[3 * (t * M + m) + a]), 0.5);
          const low = quantile(lowM.map((m) => trc.xyz[3 * (t * M + m) + a]), 0.5);
          v.push(top - low);
        }
        d[a] = quantile(v, 0.5);
      }
      up = Number.isFinite(d[0] + d[1] + d[2]) ? dominantAxis(d) : 'y';
    }
  }
  const upName = up[up.length - 1];
  // OpenSim: X forward, Y up. Z-up labs conventionally walk along X or Y; X forward unless X is up.
  const forward: Axis = upName === 'x' ? 'y' : 'x';
  const R = frameRotation(up, forward);

  const markerSeries: JointSeries[] = markers.map((name, m) => {
    const s = newSeries(name, null, T);
    for (let t = 0; t < T; t++) {
      const o = 3 * (t * M + m);
      const x = trc.xyz[o], y = trc.xyz[o + 1], z = trc.xyz[o + 2];
      s.pos[3 * t] = scale! * (R[0] * x + R[1] * y + R[2] * z);
      s.pos[3 * t + 1] = scale! * (R[3] * x + R[4] * y + R[5] * z);
      s.pos[3 * t + 2] = scale! * (R[6] * x + R[7] * y + R[8] * z);
      s.conf[t] = Number.isNaN(x) ? 0 : 1;
    }
    return s;
  });

  const canonical = deriveCanonical(markers, markerSeries, T);
  const parentOf = (name: string): string | null => {
    const n = norm(name);
    const sd = markerSide(name);
    const seg = (re: RegExp) => re.test(n);
    const pick = (base: string) => (sd && canonical.has(`${sd}_${base}`) ? `${sd}_${base}` : canonical.has('pelvis') ? 'pelvis' : null);
    if (seg(/asis|psis|s2|sacr|pelvis|ilium/)) return canonical.has('pelvis') ? 'pelvis' : null;
    if (seg(/clav|sternum|c7|t10|strn|clav/)) return canonical.has('chest') ? 'chest' : null;
    if (seg(/shoulder|acrom|bicep|uparm|humer/)) return pick('shoulder');
    if (seg(/elbow|forearm|radius|ulna/)) return pick('elbow');
    if (seg(/wrist|hand|finger/)) return pick('wrist');
    if (seg(/th\d|thigh|knee|femur/)) return pick(seg(/knee/) ? 'knee' : 'hip');
    if (seg(/sh\d|shank|tib|ankle|mal/)) return pick(seg(/ankle|mal/) ? 'ankle' : 'knee');
    if (seg(/heel|toe|mt\d|meta|foot/)) return pick('ankle');
    if (seg(/head|ear|temple/)) return canonical.has('head') ? 'head' : null;
    return canonical.has('pelvis') ? 'pelvis' : null;
  };
  for (const s of markerSeries) s.parent = parentOf(s.name);

  return assembleTrack({
    T,
    timestamps: Float64Array.from(trc.time, (t) => t - trc.time[0]),
    fps: trc.rate,
    file,
    parts: { body: true, hands: [] },
    canonical,
    extras: markerSeries,
    source: baseSource(inp, 'trc', {
      units: trc.units, scale, scale_source: scaleSource, up_axis: up, markers: M, start_time: trc.time[0],
      derived_joints: [...canonical.keys()],
    }),
  });
}

/** Side of a marker from its name: `R.Knee`, `RKNE`, `Right_Knee`, `knee_r` → 'right'. */
function markerSide(name: string): 'left' | 'right' | null {
  for (const [side, full, letter] of [['right', 'right', 'r'], ['left', 'left', 'l']] as const) {
    const prefix = new RegExp(`^(${full}|${letter})[._\\-\\s]`, 'i');
    const camel = new RegExp(`^(${letter.toUpperCase()}|${full[0].toUpperCase()}${full.slice(1)})[A-Z]`);
    const suffix = new RegExp(`[._\\-](${full}|${letter})$`, 'i');
    if (prefix.test(name) || camel.test(name) || suffix.test(name)) return side;
  }
  return null;
}

// ---- joint centres from markers ---------------------------------------------------------------------

type V = [number, number, number];

function deriveCanonical(markers: string[], ms: JointSeries[], T: number): Map<string, JointSeries> {
  const out = new Map<string, JointSeries>();
  const get = (i: number, t: number): V | null => {
    if (i < 0 || !(ms[i].conf[t] > 0)) return null;
    return [ms[i].pos[3 * t], ms[i].pos[3 * t + 1], ms[i].pos[3 * t + 2]];
  };
  const f = (s: 'left' | 'right' | null, ...names: string[]) => findMarker(markers, s, names);
  const M = {
    asisL: f('left', 'asis'), asisR: f('right', 'asis'), psisL: f('left', 'psis'), psisR: f('right', 'psis'),
    sacrum: f(null, 's2', 'sacrum', 'sacr', 'vsacral'),
    clavL: f('left', 'clavicle', 'clav'), clavR: f('right', 'clavicle', 'clav'), clav: f(null, 'clav', 'clavicle', 'sternum', 'strn'),
    head: [f('left', 'head', 'fhd', 'ear'), f('right', 'head', 'fhd', 'ear'), f(null, 'head', 'tophead')].filter((i) => i >= 0),
  };
  const sideM = (s: 'left' | 'right') => ({
    shoulder: f(s, 'shoulder', 'acromion', 'sho', 'acr'),
    elbow: f(s, 'elbow', 'lelb', 'elb', 'lepicondyle'), elbowMed: f(s, 'melbow', 'melb', 'medialelbow', 'mepicondyle'),
    wrist: f(s, 'wrist', 'wra', 'wrist1'), wristB: f(s, 'wrb', 'wrist2'),
    knee: f(s, 'knee', 'lknee', 'kne', 'lfemepicondyle'), kneeMed: f(s, 'mknee', 'medialknee', 'mfemepicondyle'),
    ankle: f(s, 'ankle', 'lmal', 'ank', 'malleolus', 'lateralmalleolus'), ankleMed: f(s, 'mankle', 'mmal', 'medialmalleolus'),
    toe: f(s, 'toe', 'toe1', 'mt1', 'mt2'), mt5: f(s, 'mt5', 'vmh', 'meta5'),
  });
  const L = sideM('left');
  const R = sideM('right');
  const series = (name: string, fn: (t: number) => V | null): JointSeries => {
    const s = newSeries(name, null, T);
    let any = false;
    for (let t = 0; t < T; t++) {
      const v = fn(t);
      if (!v) continue;
      s.pos.set(v, 3 * t);
      s.conf[t] = 1;
      any = true;
    }
    if (any) out.set(name, s);
    return s;
  };
  const add = (a: V, b: V, k = 1): V => [a[0] + k * b[0], a[1] + k * b[1], a[2] + k * b[2]];
  const sub = (a: V, b: V): V => [a[0] - b[0], a[1] - b[1], a[2] - b[2]];
  const scl = (a: V, k: number): V => [a[0] * k, a[1] * k, a[2] * k];
  const dot = (a: V, b: V) => a[0] * b[0] + a[1] * b[1] + a[2] * b[2];
  const unit = (a: V): V => scl(a, 1 / Math.hypot(...a));
  const cross = (a: V, b: V): V => [a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]];
  const mean = (...vs: (V | null)[]): V | null => {
    const ok = vs.filter((v): v is V => v !== null);
    if (ok.length !== vs.length || !ok.length) return null;
    return scl(ok.reduce((a, b) => add(a, b)), 1 / ok.length);
  };
  const meanAvail = (...vs: (V | null)[]): V | null => {
    const ok = vs.filter((v): v is V => v !== null);
    return ok.length ? scl(ok.reduce((a, b) => add(a, b)), 1 / ok.length) : null;
  };

  // Pelvis frame per frame: origin mid-ASIS, z = right (R.ASIS − L.ASIS), x anterior, y = z × x (up).
  const pelvisFrame = (t: number) => {
    const aL = get(M.asisL, t), aR = get(M.asisR, t);
    const back = M.psisL >= 0 && M.psisR >= 0 ? mean(get(M.psisL, t), get(M.psisR, t)) : get(M.sacrum, t);
    if (!aL || !aR || !back) return null;
    const mid = mean(aL, aR)!;
    const z = unit(sub(aR, aL));
    const a0 = sub(mid, back);
    const x = unit(sub(a0, scl(z, dot(a0, z))));
    const y = cross(z, x);
    return { mid, x, y, z, width: Math.hypot(...sub(aR, aL)), depth: Math.hypot(...sub(mid, back)), back };
  };
  series('pelvis', (t) => {
    const pf = pelvisFrame(t);
    return pf ? scl(add(pf.mid, pf.back), 0.5) : null;
  });
  // Harrington et al. 2007 (mm): x = −0.24 PD − 9.9, y = −0.30 PW − 10.9, z = ±(0.33 PW + 7.3).
  for (const [s, sign] of [['left', -1], ['right', 1]] as const) {
    series(`${s}_hip`, (t) => {
      const pf = pelvisFrame(t);
      if (!pf) return null;
      const PW = pf.width * 1000, PD = pf.depth * 1000;
      const hx = (-0.24 * PD - 9.9) / 1000, hy = (-0.3 * PW - 10.9) / 1000, hz = (sign * (0.33 * PW + 7.3)) / 1000;
      return add(add(add(pf.mid, pf.x, hx), pf.y, hy), pf.z, hz);
    });
  }
  const lateralToMedial = (s: 'left' | 'right', t: number): V | null => {
    const pf = pelvisFrame(t);
    if (!pf) return null;
    return scl(pf.z, s === 'left' ? 1 : -1); // left side: medial is +right; right side: medial is −right
  };
  for (const [s, m] of [['left', L], ['right', R]] as const) {
    const centre = (lat: number, med: number, halfWidth: number) => (t: number): V | null => {
      const a = get(lat, t);
      if (med >= 0) { const b = get(med, t); return a && b ? mean(a, b) : null; }
      const dir = lateralToMedial(s, t);
      return a && dir ? add(a, dir, halfWidth) : null;
    };
    series(`${s}_knee`, centre(m.knee, m.kneeMed, 0.05));
    series(`${s}_ankle`, centre(m.ankle, m.ankleMed, 0.035));
    series(`${s}_toe`, (t) => (m.mt5 >= 0 ? mean(get(m.toe, t), get(m.mt5, t)) : get(m.toe, t)));
    series(`${s}_elbow`, (t) => (m.elbowMed >= 0 ? mean(get(m.elbow, t), get(m.elbowMed, t)) : get(m.elbow, t)));
    series(`${s}_wrist`, (t) => (m.wristB >= 0 ? mean(get(m.wrist, t), get(m.wristB, t)) : get(m.wrist, t)));
  }
  // Neck: between the sternal notch (clavicle markers) and the acromions. Shoulders: acromion 40 mm down the trunk.
  const neckAt = (t: number): V | null => {
    const notch = M.clavL >= 0 || M.clavR >= 0 ? meanAvail(get(M.clavL, t), get(M.clavR, t)) : get(M.clav, t);
    const acr = mean(get(L.shoulder, t), get(R.shoulder, t));
    if (notch && acr) return scl(add(notch, acr), 0.5);
    return acr ?? notch;
  };
  const pelvisAt = (t: number): V | null => {
    const s = out.get('pelvis');
    return s && s.conf[t] > 0 ? [s.pos[3 * t], s.pos[3 * t + 1], s.pos[3 * t + 2]] : null;
  };
  series('neck', neckAt);
  for (const [s, m] of [['left', L], ['right', R]] as const) {
    series(`${s}_shoulder`, (t) => {
      const a = get(m.shoulder, t), n = neckAt(t), p = pelvisAt(t);
      if (!a) return null;
      if (!n || !p) return a;
      return add(a, unit(sub(p, n)), 0.04);
    });
  }
  series('spine', (t) => { const n = neckAt(t), p = pelvisAt(t); return n && p ? add(p, sub(n, p), 0.3) : null; });
  series('chest', (t) => { const n = neckAt(t), p = pelvisAt(t); return n && p ? add(p, sub(n, p), 0.65) : null; });
  if (M.head.length) series('head', (t) => mean(...M.head.map((i) => get(i, t))));
  return out;
}
