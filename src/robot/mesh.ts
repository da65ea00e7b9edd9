/**
 * Triangle meshes from the files URDFs reference: STL (binary and ASCII), Wavefront OBJ, Collada DAE and
 * glTF binary (GLB). Output is one flat vertex array (metres, the mesh file's frame with the URDF `scale`
 * applied) and a triangle index array. Node transforms (DAE, GLB), Collada `<unit meter>` and `up_axis`
 * are applied, so every format lands in the same frame the URDF expects.
 *
 * A truncated or malformed file is a UserError naming the file.
 *
 * Why not three.js's ColladaLoader / GLTFLoader (three is a dependency; measured 2026-12-07, Node 20, 2-core
 * VM under load ≈ 15): GLTFLoader.parse answers through a promise chain even for a self-contained GLB (its
 * callback has not run when parse() returns), while loadMesh is synchronous under loadUrdf, the kinematics and
 * the simulator's geometry (85 loadUrdf call sites in src/ and test/ would turn async); on a real GLB (Inspire
 * hand, 5752 triangles) ten parses took 428 ms with GLTFLoader and 492 ms here — no speed to gain.
 * ColladaLoader is synchronous but needs a global DOMParser in Node (xmldom), logs to the console on every
 * file, and turns Z-up assets into Y-up by rotating the scene, which would have to be undone for URDF frames;
 * on a 12-triangle cube it took 84 ms against 2.6 ms here. So both readers stay, tested against hand-written
 * files with transforms, units and up axes (test/robot/mesh.test.ts).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { createRequire } from 'node:module';
import type { Element as XElement } from '@xmldom/xmldom';
import { UserError, wrapFileError } from '../errors.ts';
import { quatToMat3 } from '../math/rotation.ts';

/** @xmldom/xmldom's DOMParser, loaded with the first Collada file (its import is 35-70 ms; most robots have none). */
let DomParserClass: typeof import('@xmldom/xmldom').DOMParser | null = null;
function domParser(): typeof import('@xmldom/xmldom').DOMParser {
  return (DomParserClass ??= (createRequire(import.meta.url)('@xmldom/xmldom') as typeof import('@xmldom/xmldom')).DOMParser);
}

export interface TriMesh {
  /** x,y,z per vertex. */
  positions: Float32Array;
  /** Three vertex indices per triangle. */
  indices: Uint32Array;
  file: string;
}

export type MeshFormat = 'stl' | 'obj' | 'dae' | 'glb';

export function meshFormat(file: string): MeshFormat {
  const ext = path.extname(file).toLowerCase();
  if (ext === '.stl') return 'stl';
  if (ext === '.obj') return 'obj';
  if (ext === '.dae') return 'dae';
  if (ext === '.glb') return 'glb';
  throw new UserError(`unsupported mesh format "${ext || '(none)'}" (supported: .stl, .obj, .dae, .glb)`, file);
}

/** Load a mesh file and apply a scale (URDF `<mesh scale>`). */
export function loadMesh(file: string, scale: ArrayLike<number> = [1, 1, 1]): TriMesh {
  let buf: Buffer;
  try {
    buf = fs.readFileSync(file);
  } catch (err) {
    wrapFileError(err, file);
  }
  const fmt = meshFormat(file);
  let m: { positions: Float32Array; indices: Uint32Array };
  switch (fmt) {
    case 'stl': m = parseStl(buf, file); break;
    case 'obj': m = parseObj(buf.toString('utf8'), file); break;
    case 'dae': m = parseDae(buf.toString('utf8'), file); break;
    case 'glb': m = parseGlb(buf, file); break;
  }
  if (m.positions.length === 0 || m.indices.length === 0) throw new UserError('mesh has no triangles', file);
  const p = m.positions;
  const sx = scale[0], sy = scale[1], sz = scale[2];
  if (sx !== 1 || sy !== 1 || sz !== 1) {
    for (let i = 0; i < p.length; i += 3) { p[i] *= sx; p[i + 1] *= sy; p[i + 2] *= sz; }
  }
  for (let i = 0; i < p.length; i++) if (!Number.isFinite(p[i])) throw new UserError(`vertex coordinate ${i} is not finite`, file);
  const nv = p.length / 3;
  for (let i = 0; i < m.indices.length; i++) if (m.indices[i] >= nv) throw new UserError(`triangle index ${m.indices[i]} out of range (${nv} vertices)`, file);
  return { positions: p, indices: m.indices, file };
}

/** Axis-aligned bounding box [minx, miny, minz, maxx, maxy, maxz]. */
export function meshBounds(positions: ArrayLike<number>): number[] {
  const b = [Infinity, Infinity, Infinity, -Infinity, -Infinity, -Infinity];
  for (let i = 0; i < positions.length; i += 3) {
    for (let k = 0; k < 3; k++) {
      const v = positions[i + k];
      if (v < b[k]) b[k] = v;
      if (v > b[k + 3]) b[k + 3] = v;
    }
  }
  return b;
}

/** Enclosed volume by the divergence theorem (absolute value; meaningful for closed meshes). */
export function meshVolume(m: { positions: ArrayLike<number>; indices: ArrayLike<number> }): number {
  const p = m.positions;
  const t = m.indices;
  let v = 0;
  for (let i = 0; i < t.length; i += 3) {
    const a = 3 * t[i], b = 3 * t[i + 1], c = 3 * t[i + 2];
    v += p[a] * (p[b + 1] * p[c + 2] - p[b + 2] * p[c + 1])
      - p[a + 1] * (p[b] * p[c + 2] - p[b + 2] * p[c])
      + p[a + 2] * (p[b] * p[c + 1] - p[b + 1] * p[c]);
  }
  return Math.abs(v) / 6;
}

// ---- STL ------------------------------------------------------------------------------------------------

function parseStl(buf: Buffer, file: string): { positions: Float32Array; indices: Uint32Array } {
  // Many binary STLs start with "solid" too: decide by the size the triangle count implies.
  if (buf.length >= 84) {
    const n = buf.readUInt32LE(80);
    if (84 + 50 * n === buf.length) return parseBinaryStl(buf, n);
  }
  const head = buf.subarray(0, Math.min(buf.length, 512)).toString('latin1');
  if (/^\s*solid/.test(head) && /facet|endsolid/.test(buf.subarray(0, Math.min(buf.length, 4096)).toString('latin1'))) {
    return parseAsciiStl(buf.toString('latin1'), file);
  }
  if (buf.length < 84) throw new UserError(`truncated STL: ${buf.length} bytes, a binary STL header alone is 84`, file);
  const n = buf.readUInt32LE(80);
  throw new UserError(`truncated or malformed binary STL: header says ${n} triangles (${84 + 50 * n} bytes), file has ${buf.length} bytes`, file);
}

function parseBinaryStl(buf: Buffer, n: number): { positions: Float32Array; indices: Uint32Array } {
  const positions = new Float32Array(9 * n);
  const indices = new Uint32Array(3 * n);
  // A DataView reads the (unaligned) little-endian floats several times faster than Buffer.readFloatLE.
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  for (let i = 0; i < n; i++) {
    const o = 84 + 50 * i + 12;
    for (let k = 0; k < 9; k++) positions[9 * i + k] = view.getFloat32(o + 4 * k, true);
  }
  for (let i = 0; i < 3 * n; i++) indices[i] = i;
  return weld(positions, indices);
}

function parseAsciiStl(text: string, file: string): { positions: Float32Array; indices: Uint32Array } {
  const out: number[] = [];
  const re = /vertex\s+(\S+)\s+(\S+)\s+(\S+)/g;
  let m: RegExpExecArray | null;
  while ((m = re.exec(text))) out.push(Number(m[1]), Number(m[2]), Number(m[3]));
  if (out.length % 9 !== 0) throw new UserError(`malformed ASCII STL: ${out.length / 3} vertices is not a whole number of triangles`, file);
  if (!/endsolid/.test(text.slice(-2048))) throw new UserError('truncated ASCII STL: no "endsolid"', file);
  const positions = Float32Array.from(out);
  const indices = new Uint32Array(out.length / 3);
  for (let i = 0; i < indices.length; i++) indices[i] = i;
  return weld(positions, indices);
}

/** Merge bit-identical vertices (STL stores three per triangle). */
function weld(positions: Float32Array, indices: Uint32Array): { positions: Float32Array; indices: Uint32Array } {
  // Vertices with the same coordinates (as float32; -0 counts as 0) become one. Open-addressing hash table on the
  // coordinates' bit patterns: no string per vertex (a string-keyed Map made this most of a robot's load time).
  const n = positions.length / 3;
  const bits = new Uint32Array(3 * n);
  const u = new Uint32Array(positions.buffer, positions.byteOffset, 3 * n);
  for (let i = 0; i < 3 * n; i++) { const v = u[i]; bits[i] = v === 0x80000000 ? 0 : v; } // -0 as 0
  let cap = 16;
  while (cap < 2 * n) cap *= 2;
  const table = new Int32Array(cap).fill(-1); // first vertex index of each distinct position
  const remap = new Uint32Array(n);
  const first: number[] = [];
  for (let i = 0; i < n; i++) {
    const a = bits[3 * i], b = bits[3 * i + 1], c = bits[3 * i + 2];
    let h = (Math.imul(a, 0x9e3779b1) ^ Math.imul(b, 0x85ebca77) ^ Math.imul(c, 0xc2b2ae3d)) >>> 0;
    for (;;) {
      h &= cap - 1;
      const j = table[h];
      if (j < 0) { table[h] = i; remap[i] = first.length; first.push(i); break; }
      if (bits[3 * j] === a && bits[3 * j + 1] === b && bits[3 * j + 2] === c) { remap[i] = remap[j]; break; }
      h++;
    }
  }
  const out = new Float32Array(3 * first.length);
  for (let k = 0; k < first.length; k++) { const i = first[k]; out[3 * k] = positions[3 * i]; out[3 * k + 1] = positions[3 * i + 1]; out[3 * k + 2] = positions[3 * i + 2]; }
  const idx = new Uint32Array(indices.length);
  for (let i = 0; i < indices.length; i++) idx[i] = remap[indices[i]];
  return { positions: out, indices: idx };
}

// ---- OBJ ------------------------------------------------------------------------------------------------

function parseObj(text: string, file: string): { positions: Float32Array; indices: Uint32Array } {
  const pos: number[] = [];
  const idx: number[] = [];
  const lines = text.split('\n');
  for (let ln = 0; ln < lines.length; ln++) {
    const line = lines[ln].trim();
    if (line.startsWith('v ')) {
      const parts = line.split(/\s+/);
      if (parts.length < 4) throw new UserError(`line ${ln + 1}: vertex needs 3 coordinates`, file);
      const x = Number(parts[1]), y = Number(parts[2]), z = Number(parts[3]);
      if (!Number.isFinite(x) || !Number.isFinite(y) || !Number.isFinite(z)) throw new UserError(`line ${ln + 1}: vertex coordinate is not a number`, file);
      pos.push(x, y, z);
    } else if (line.startsWith('f ')) {
      const parts = line.split(/\s+/).slice(1);
      if (parts.length < 3) throw new UserError(`line ${ln + 1}: face needs at least 3 vertices`, file);
      const nv = pos.length / 3;
      const vs = parts.map((s) => {
        const k = parseInt(s.split('/')[0], 10);
        if (!Number.isFinite(k) || k === 0) throw new UserError(`line ${ln + 1}: bad face index "${s}"`, file);
        const v = k < 0 ? nv + k : k - 1;
        if (v < 0 || v >= nv) throw new UserError(`line ${ln + 1}: face index ${k} out of range (${nv} vertices so far)`, file);
        return v;
      });
      for (let i = 1; i + 1 < vs.length; i++) idx.push(vs[0], vs[i], vs[i + 1]);
    }
  }
  return { positions: Float32Array.from(pos), indices: Uint32Array.from(idx) };
}

// ---- Collada (DAE) --------------------------------------------------------------------------------------

type Mat4 = number[]; // row-major 4x4

const I4: Mat4 = [1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1];

function mul4(a: Mat4, b: Mat4): Mat4 {
  const r = new Array(16).fill(0);
  for (let i = 0; i < 4; i++) for (let j = 0; j < 4; j++) for (let k = 0; k < 4; k++) r[4 * i + j] += a[4 * i + k] * b[4 * k + j];
  return r;
}

function axisAngle4(x: number, y: number, z: number, deg: number): Mat4 {
  const n = Math.hypot(x, y, z) || 1;
  x /= n; y /= n; z /= n;
  const a = (deg * Math.PI) / 180, c = Math.cos(a), s = Math.sin(a), C = 1 - c;
  return [
    c + x * x * C, x * y * C - z * s, x * z * C + y * s, 0,
    y * x * C + z * s, c + y * y * C, y * z * C - x * s, 0,
    z * x * C - y * s, z * y * C + x * s, c + z * z * C, 0,
    0, 0, 0, 1,
  ];
}

function elems(el: XElement | Document, tag: string): XElement[] {
  return Array.from((el as XElement).getElementsByTagName(tag) as unknown as ArrayLike<XElement>);
}

function kids(el: XElement, tag?: string): XElement[] {
  const out: XElement[] = [];
  for (let n = el.firstChild; n; n = n.nextSibling) if (n.nodeType === 1 && (!tag || (n as XElement).nodeName === tag)) out.push(n as XElement);
  return out;
}

function numbers(s: string | null | undefined): number[] {
  if (!s) return [];
  const t = s.trim();
  return t ? t.split(/\s+/).map(Number) : [];
}

function parseDae(text: string, file: string): { positions: Float32Array; indices: Uint32Array } {
  const errors: string[] = [];
  let doc: Document;
  try {
    doc = new (domParser())({ onError: (level: string, msg: string) => { if (level !== 'warning') errors.push(msg); } })
      .parseFromString(text, 'text/xml') as unknown as Document;
  } catch (err) {
    throw new UserError(`malformed Collada file: ${String((err as Error).message).split('\n')[0]}`, file);
  }
  if (errors.length || !doc.documentElement || doc.documentElement.nodeName !== 'COLLADA') {
    throw new UserError(`malformed Collada file${errors.length ? ': ' + String(errors[0]).split('\n')[0] : ''}`, file);
  }
  const root = doc.documentElement as unknown as XElement;
  const byId = new Map<string, XElement>();
  for (const e of elems(root, '*')) { const id = e.getAttribute('id'); if (id) byId.set(id, e); }
  const ref = (u: string | null): XElement | undefined => (u ? byId.get(u.replace(/^#/, '')) : undefined);

  // Geometry id -> local triangles.
  const geoms = new Map<string, { positions: number[]; indices: number[] }>();
  for (const g of elems(root, 'geometry')) {
    const mesh = kids(g, 'mesh')[0];
    if (!mesh) continue;
    const positions: number[] = [];
    const indices: number[] = [];
    const vertsEl = kids(mesh, 'vertices')[0];
    const prims = [...kids(mesh, 'triangles'), ...kids(mesh, 'polylist'), ...kids(mesh, 'polygons')];
    for (const prim of prims) {
      const inputs = kids(prim, 'input');
      const stride = Math.max(...inputs.map((i) => Number(i.getAttribute('offset') ?? 0))) + 1;
      const vin = inputs.find((i) => i.getAttribute('semantic') === 'VERTEX');
      if (!vin) throw new UserError(`geometry "${g.getAttribute('id')}" has a primitive without a VERTEX input`, file);
      const voff = Number(vin.getAttribute('offset') ?? 0);
      let src = ref(vin.getAttribute('source'));
      if (src && src.nodeName === 'vertices') {
        const pin = kids(src, 'input').find((i) => i.getAttribute('semantic') === 'POSITION');
        src = ref(pin?.getAttribute('source') ?? null);
      } else if (!src && vertsEl) {
        const pin = kids(vertsEl, 'input').find((i) => i.getAttribute('semantic') === 'POSITION');
        src = ref(pin?.getAttribute('source') ?? null);
      }
      const fa = src ? kids(src, 'float_array')[0] : undefined;
      if (!fa) throw new UserError(`geometry "${g.getAttribute('id')}": position source not found`, file);
      const vals = numbers(fa.textContent);
      const declared = Number(fa.getAttribute('count') ?? vals.length);
      if (vals.length !== declared || vals.length % 3 !== 0) throw new UserError(`float_array "${fa.getAttribute('id')}" has ${vals.length} numbers, declares ${declared}`, file);
      const base = positions.length / 3;
      positions.push(...vals);
      const nv = vals.length / 3;
      const pushPoly = (vs: number[]): void => {
        for (const v of vs) if (!(v >= 0 && v < nv)) throw new UserError(`index ${v} out of range (${nv} positions)`, file);
        for (let i = 1; i + 1 < vs.length; i++) indices.push(base + vs[0], base + vs[i], base + vs[i + 1]);
      };
      const count = Number(prim.getAttribute('count') ?? 0);
      if (prim.nodeName === 'triangles') {
        const p = numbers(kids(prim, 'p')[0]?.textContent);
        if (p.length !== count * 3 * stride) throw new UserError(`<triangles> has ${p.length} indices, expected ${count * 3 * stride}`, file);
        for (let t = 0; t < count; t++) pushPoly([0, 1, 2].map((k) => p[(3 * t + k) * stride + voff]));
      } else if (prim.nodeName === 'polylist') {
        const vc = numbers(kids(prim, 'vcount')[0]?.textContent);
        const p = numbers(kids(prim, 'p')[0]?.textContent);
        const total = vc.reduce((a, b) => a + b, 0);
        if (vc.length !== count || p.length !== total * stride) throw new UserError(`<polylist> vcount/p sizes disagree (count ${count}, vcount ${vc.length}, p ${p.length})`, file);
        let at = 0;
        for (const n of vc) { pushPoly(Array.from({ length: n }, (_, k) => p[(at + k) * stride + voff])); at += n; }
      } else {
        for (const pe of kids(prim, 'p')) {
          const p = numbers(pe.textContent);
          pushPoly(Array.from({ length: p.length / stride }, (_, k) => p[k * stride + voff]));
        }
      }
    }
    geoms.set(g.getAttribute('id') ?? '', { positions, indices });
  }
  if (!geoms.size) throw new UserError('Collada file has no <geometry><mesh>', file);

  // Units and up axis.
  const asset = elems(root, 'asset')[0];
  const unitEl = asset ? elems(asset, 'unit')[0] : undefined;
  const meter = unitEl ? Number(unitEl.getAttribute('meter') ?? 1) : 1;
  const up = asset ? (elems(asset, 'up_axis')[0]?.textContent ?? 'Z_UP').trim() : 'Z_UP';
  // The URDF world is Z up: a Z_UP file is taken as is, Y_UP is rotated +90 deg about X (Y becomes Z),
  // X_UP -90 deg about Y (X becomes Z); the unit scales everything to metres.
  const U: Mat4 = up === 'Y_UP' ? [1, 0, 0, 0, 0, 0, -1, 0, 0, 1, 0, 0, 0, 0, 0, 1]
    : up === 'X_UP' ? [0, 0, -1, 0, 0, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 1] : I4;
  const S: Mat4 = mul4(U, [meter, 0, 0, 0, 0, meter, 0, 0, 0, 0, meter, 0, 0, 0, 0, 1]);

  const outPos: number[] = [];
  const outIdx: number[] = [];
  const emit = (gid: string, M: Mat4): void => {
    const g = geoms.get(gid);
    if (!g) return;
    const base = outPos.length / 3;
    for (let i = 0; i < g.positions.length; i += 3) {
      const x = g.positions[i], y = g.positions[i + 1], z = g.positions[i + 2];
      outPos.push(M[0] * x + M[1] * y + M[2] * z + M[3], M[4] * x + M[5] * y + M[6] * z + M[7], M[8] * x + M[9] * y + M[10] * z + M[11]);
    }
    for (const i of g.indices) outIdx.push(base + i);
  };
  const nodeTransform = (node: XElement): Mat4 => {
    let M = I4;
    for (const t of kids(node)) {
      const v = numbers(t.textContent);
      if (t.nodeName === 'matrix' && v.length === 16) M = mul4(M, v);
      else if (t.nodeName === 'translate' && v.length === 3) M = mul4(M, [1, 0, 0, v[0], 0, 1, 0, v[1], 0, 0, 1, v[2], 0, 0, 0, 1]);
      else if (t.nodeName === 'rotate' && v.length === 4) M = mul4(M, axisAngle4(v[0], v[1], v[2], v[3]));
      else if (t.nodeName === 'scale' && v.length === 3) M = mul4(M, [v[0], 0, 0, 0, 0, v[1], 0, 0, 0, 0, v[2], 0, 0, 0, 0, 1]);
    }
    return M;
  };
  const walk = (node: XElement, parent: Mat4, depth: number): void => {
    if (depth > 64) throw new UserError('Collada node hierarchy too deep (cycle?)', file);
    const M = mul4(parent, nodeTransform(node));
    for (const ig of kids(node, 'instance_geometry')) emit((ig.getAttribute('url') ?? '').replace(/^#/, ''), M);
    for (const inode of kids(node, 'instance_node')) {
      const target = ref(inode.getAttribute('url'));
      if (target) walk(target, M, depth + 1);
    }
    for (const c of kids(node, 'node')) walk(c, M, depth + 1);
  };
  const scene = elems(root, 'scene')[0];
  const ivs = scene ? kids(scene, 'instance_visual_scene')[0] : undefined;
  const vs = ivs ? ref(ivs.getAttribute('url')) : elems(root, 'visual_scene')[0];
  if (vs) for (const n of kids(vs, 'node')) walk(n, S, 0);
  if (!outIdx.length) {
    // No scene graph: take every geometry as is.
    for (const gid of geoms.keys()) emit(gid, S);
  }
  return { positions: Float32Array.from(outPos), indices: Uint32Array.from(outIdx) };
}

// ---- glTF binary (GLB) ----------------------------------------------------------------------------------

const COMPONENTS: Record<string, number> = { SCALAR: 1, VEC2: 2, VEC3: 3, VEC4: 4, MAT4: 16 };

function parseGlb(buf: Buffer, file: string): { positions: Float32Array; indices: Uint32Array } {
  if (buf.length < 20) throw new UserError(`truncated GLB: ${buf.length} bytes`, file);
  if (buf.readUInt32LE(0) !== 0x46546c67) throw new UserError('not a GLB file (bad magic)', file);
  const total = buf.readUInt32LE(8);
  if (total > buf.length) throw new UserError(`truncated GLB: header says ${total} bytes, file has ${buf.length}`, file);
  let off = 12;
  let json: any = null;
  let bin: Buffer | null = null;
  while (off + 8 <= total) {
    const len = buf.readUInt32LE(off);
    const type = buf.readUInt32LE(off + 4);
    if (off + 8 + len > total) throw new UserError('truncated GLB chunk', file);
    const data = buf.subarray(off + 8, off + 8 + len);
    if (type === 0x4e4f534a) {
      try { json = JSON.parse(data.toString('utf8')); } catch { throw new UserError('GLB JSON chunk is not valid JSON', file); }
    } else if (type === 0x004e4942) bin = data;
    off += 8 + len;
  }
  if (!json) throw new UserError('GLB has no JSON chunk', file);
  const accessor = (i: number): { data: Float64Array; comps: number } => {
    const a = json.accessors?.[i];
    if (!a) throw new UserError(`GLB accessor ${i} missing`, file);
    const comps = COMPONENTS[a.type] ?? 1;
    const out = new Float64Array(a.count * comps);
    if (a.bufferView === undefined) return { data: out, comps };
    const bv = json.bufferViews?.[a.bufferView];
    if (!bv || (bv.buffer ?? 0) !== 0 || !bin) throw new UserError(`GLB accessor ${i}: buffer view not in the binary chunk`, file);
    const ct = a.componentType;
    const size = ct === 5126 || ct === 5125 ? 4 : ct === 5123 || ct === 5122 ? 2 : 1;
    const stride = bv.byteStride || size * comps;
    const base = (bv.byteOffset ?? 0) + (a.byteOffset ?? 0);
    const end = base + stride * (a.count - 1) + size * comps;
    if (a.count > 0 && (end > (bv.byteOffset ?? 0) + bv.byteLength || end > bin.length)) throw new UserError(`GLB accessor ${i} runs past its buffer (truncated file?)`, file);
    for (let k = 0; k < a.count; k++) {
      for (let c = 0; c < comps; c++) {
        const o = base + k * stride + c * size;
        out[k * comps + c] = ct === 5126 ? bin.readFloatLE(o) : ct === 5125 ? bin.readUInt32LE(o) : ct === 5123 ? bin.readUInt16LE(o)
          : ct === 5122 ? bin.readInt16LE(o) : ct === 5121 ? bin.readUInt8(o) : bin.readInt8(o);
      }
    }
    return { data: out, comps };
  };
  const outPos: number[] = [];
  const outIdx: number[] = [];
  const emitMesh = (mi: number, M: Mat4): void => {
    const mesh = json.meshes?.[mi];
    if (!mesh) throw new UserError(`GLB mesh ${mi} missing`, file);
    for (const prim of mesh.primitives ?? []) {
      if (prim.mode !== undefined && prim.mode !== 4) continue; // triangles only
      if (prim.attributes?.POSITION === undefined) continue;
      const P = accessor(prim.attributes.POSITION).data;
      const base = outPos.length / 3;
      const nv = P.length / 3;
      for (let i = 0; i < P.length; i += 3) {
        const x = P[i], y = P[i + 1], z = P[i + 2];
        outPos.push(M[0] * x + M[1] * y + M[2] * z + M[3], M[4] * x + M[5] * y + M[6] * z + M[7], M[8] * x + M[9] * y + M[10] * z + M[11]);
      }
      if (prim.indices !== undefined) {
        const I = accessor(prim.indices).data;
        for (let i = 0; i + 2 < I.length; i += 3) {
          if (I[i] >= nv || I[i + 1] >= nv || I[i + 2] >= nv) throw new UserError(`GLB mesh ${mi}: index out of range`, file);
          outIdx.push(base + I[i], base + I[i + 1], base + I[i + 2]);
        }
      } else {
        for (let i = 0; i + 2 < nv; i += 3) outIdx.push(base + i, base + i + 1, base + i + 2);
      }
    }
  };
  const localMatrix = (n: any): Mat4 => {
    if (Array.isArray(n.matrix) && n.matrix.length === 16) {
      const m = n.matrix; // column-major
      return [m[0], m[4], m[8], m[12], m[1], m[5], m[9], m[13], m[2], m[6], m[10], m[14], m[3], m[7], m[11], m[15]];
    }
    const [tx, ty, tz] = n.translation ?? [0, 0, 0];
    const [x, y, z, w] = n.rotation ?? [0, 0, 0, 1];
    const [sx, sy, sz] = n.scale ?? [1, 1, 1];
    const R = quatToMat3(w, x, y, z);
    return [R[0] * sx, R[1] * sy, R[2] * sz, tx, R[3] * sx, R[4] * sy, R[5] * sz, ty, R[6] * sx, R[7] * sy, R[8] * sz, tz, 0, 0, 0, 1];
  };
  const walk = (ni: number, parent: Mat4, depth: number): void => {
    if (depth > 64) throw new UserError('GLB node hierarchy too deep (cycle?)', file);
    const n = json.nodes?.[ni];
    if (!n) throw new UserError(`GLB node ${ni} missing`, file);
    const M = mul4(parent, localMatrix(n));
    if (n.mesh !== undefined) emitMesh(n.mesh, M);
    for (const c of n.children ?? []) walk(c, M, depth + 1);
  };
  const sceneIdx = json.scene ?? 0;
  const roots: number[] | undefined = json.scenes?.[sceneIdx]?.nodes;
  if (roots) for (const r of roots) walk(r, I4, 0);
  else (json.meshes ?? []).forEach((_: unknown, i: number) => emitMesh(i, I4));
  return { positions: Float32Array.from(outPos), indices: Uint32Array.from(outIdx) };
}
