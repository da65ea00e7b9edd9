import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadMesh, meshBounds, meshVolume } from '../../src/robot/mesh.ts';
import { loadUrdf } from '../../src/robot/urdf.ts';
import { UserError } from '../../src/errors.ts';
import { describeShared, shared } from '../helpers/shared.ts';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'r2r-mesh-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** A unit cube (12 triangles) as binary STL, ASCII STL, OBJ, DAE and GLB, written at test time. */
const cubeV = [[0, 0, 0], [1, 0, 0], [1, 1, 0], [0, 1, 0], [0, 0, 1], [1, 0, 1], [1, 1, 1], [0, 1, 1]];
const cubeF = [[0, 2, 1], [0, 3, 2], [4, 5, 6], [4, 6, 7], [0, 1, 5], [0, 5, 4], [1, 2, 6], [1, 6, 5], [2, 3, 7], [2, 7, 6], [3, 0, 4], [3, 4, 7]];

function binaryStl(): Buffer {
  const b = Buffer.alloc(84 + 50 * cubeF.length);
  b.write('solid but actually binary', 0, 'latin1'); // the header may start with "solid"
  b.writeUInt32LE(cubeF.length, 80);
  cubeF.forEach((f, i) => f.forEach((v, k) => cubeV[v].forEach((c, j) => b.writeFloatLE(c, 84 + 50 * i + 12 + 12 * k + 4 * j))));
  return b;
}

function asciiStl(): string {
  return `solid cube\n${cubeF.map((f) => `facet normal 0 0 0\n outer loop\n${f.map((v) => `  vertex ${cubeV[v].join(' ')}`).join('\n')}\n endloop\nendfacet`).join('\n')}\nendsolid cube\n`;
}

function obj(): string {
  return `# cube\n${cubeV.map((v) => `v ${v.join(' ')}`).join('\n')}\n${cubeF.map((f) => `f ${f.map((v) => `${v + 1}/1/1`).join(' ')}`).join('\n')}\n`;
}

function dae(unit: number, up: string, translate: number[]): string {
  return `<?xml version="1.0"?>
<COLLADA xmlns="http://www.collada.org/2005/11/COLLADASchema" version="1.4.1">
 <asset><unit meter="${unit}"/><up_axis>${up}</up_axis></asset>
 <library_geometries><geometry id="cube"><mesh>
  <source id="pos"><float_array id="pos-a" count="${cubeV.length * 3}">${cubeV.flat().join(' ')}</float_array></source>
  <vertices id="verts"><input semantic="POSITION" source="#pos"/></vertices>
  <triangles count="${cubeF.length}"><input semantic="VERTEX" source="#verts" offset="0"/><input semantic="NORMAL" source="#pos" offset="1"/>
   <p>${cubeF.flat().map((v) => `${v} 0`).join(' ')}</p></triangles>
 </mesh></geometry></library_geometries>
 <library_visual_scenes><visual_scene id="s"><node id="n"><translate>${translate.join(' ')}</translate><instance_geometry url="#cube"/></node></visual_scene></library_visual_scenes>
 <scene><instance_visual_scene url="#s"/></scene>
</COLLADA>`;
}

function glb(translation: number[]): Buffer {
  const pos = Buffer.alloc(cubeV.length * 12);
  cubeV.flat().forEach((c, i) => pos.writeFloatLE(c, 4 * i));
  const idx = Buffer.alloc(cubeF.length * 3 * 2);
  cubeF.flat().forEach((v, i) => idx.writeUInt16LE(v, 2 * i));
  const bin = Buffer.concat([pos, idx]);
  const json = {
    asset: { version: '2.0' }, scene: 0, scenes: [{ nodes: [0] }], nodes: [{ mesh: 0, translation }],
    meshes: [{ primitives: [{ attributes: { POSITION: 0 }, indices: 1 }] }],
    buffers: [{ byteLength: bin.length }],
    bufferViews: [{ buffer: 0, byteOffset: 0, byteLength: pos.length }, { buffer: 0, byteOffset: pos.length, byteLength: idx.length }],
    accessors: [{ bufferView: 0, componentType: 5126, count: cubeV.length, type: 'VEC3' }, { bufferView: 1, componentType: 5123, count: cubeF.length * 3, type: 'SCALAR' }],
  };
  let j = Buffer.from(JSON.stringify(json));
  j = Buffer.concat([j, Buffer.alloc((4 - (j.length % 4)) % 4, 0x20)]);
  const binPadded = Buffer.concat([bin, Buffer.alloc((4 - (bin.length % 4)) % 4)]);
  const header = Buffer.alloc(12);
  header.writeUInt32LE(0x46546c67, 0); header.writeUInt32LE(2, 4); header.writeUInt32LE(12 + 8 + j.length + 8 + binPadded.length, 8);
  const ch = (len: number, type: number): Buffer => { const b = Buffer.alloc(8); b.writeUInt32LE(len, 0); b.writeUInt32LE(type, 4); return b; };
  return Buffer.concat([header, ch(j.length, 0x4e4f534a), j, ch(binPadded.length, 0x004e4942), binPadded]);
}

function write(name: string, data: string | Buffer): string {
  const f = path.join(tmp, name);
  fs.writeFileSync(f, data);
  return f;
}

describe('mesh formats (a unit cube written in each)', () => {
  it('binary STL whose header starts with "solid", ASCII STL and OBJ give the same closed cube', () => {
    for (const f of [write('c.stl', binaryStl()), write('a.stl', asciiStl()), write('c.obj', obj())]) {
      const m = loadMesh(f);
      expect(m.indices.length, f).toBe(36);
      expect(m.positions.length / 3, f).toBe(8); // STL vertices are welded
      expect(meshBounds(m.positions)).toEqual([0, 0, 0, 1, 1, 1]);
      expect(meshVolume(m)).toBeCloseTo(1, 6);
    }
  });

  it('applies the URDF scale per axis', () => {
    const m = loadMesh(write('s.stl', binaryStl()), [0.001, 0.002, 0.003]);
    expect(meshBounds(m.positions)).toEqual([0, 0, 0, 0.001, 0.002, 0.003].map((v) => Math.fround(v)));
    expect(meshVolume(m)).toBeCloseTo(6e-9, 12);
  });

  it('DAE: node transform, <unit meter> and up_axis', () => {
    const z = loadMesh(write('z.dae', dae(0.01, 'Z_UP', [10, 0, 0])));
    expect(meshBounds(z.positions).map((v) => +v.toFixed(6))).toEqual([0.1, 0, 0, 0.11, 0.01, 0.01]);
    // Y_UP: the file's +Y becomes +Z.
    const y = loadMesh(write('y.dae', dae(1, 'Y_UP', [0, 5, 0])));
    expect(meshBounds(y.positions).map((v) => +v.toFixed(6))).toEqual([0, -1, 5, 1, 0, 6]);
    expect(meshVolume(y)).toBeCloseTo(1, 6);
  });

  it('GLB: accessors, indices and node translation', () => {
    const m = loadMesh(write('c.glb', glb([0, 0, 2])));
    expect(m.indices.length).toBe(36);
    expect(meshBounds(m.positions)).toEqual([0, 0, 2, 1, 1, 3]);
    expect(meshVolume(m)).toBeCloseTo(1, 6);
  });

  it('truncated or malformed files are UserErrors naming the file', () => {
    const cases: [string, string | Buffer][] = [
      ['t.stl', binaryStl().subarray(0, 84 + 50 * 5 + 10)],
      ['tiny.stl', Buffer.from('abc')],
      ['bad.obj', 'v 0 0 0\nv 1 0 0\nf 1 2 9\n'],
      ['bad.dae', dae(1, 'Z_UP', [0, 0, 0]).replace(/<p>[^<]*<\/p>/, '<p>0 0 1 0</p>')],
      ['t.glb', glb([0, 0, 0]).subarray(0, 200)],
      ['x.dae', '<COLLADA><unclosed'],
    ];
    for (const [name, data] of cases) {
      const f = write(name, data);
      let err: unknown;
      try { loadMesh(f); } catch (e) { err = e; }
      expect(err, name).toBeInstanceOf(UserError);
      expect((err as UserError).message, name).toContain(f);
    }
    expect(() => loadMesh(path.join(tmp, 'missing.stl'))).toThrow(/no such file/);
    expect(() => loadMesh(write('m.ply', 'ply'))).toThrow(/unsupported mesh format/);
  });
});

describeShared('real robot meshes', ['robots/unitree_g1/g1_29dof_rev_1_0.urdf', 'hands/inspire_right/inspire_hand_right.urdf', 'hands/allegro_right/allegro_hand_right.urdf'], () => {
  it('G1: every collision STL loads; ~219k triangles in the model; link-sized, closed meshes', () => {
    const r = loadUrdf(shared('robots/unitree_g1/g1_29dof_rev_1_0.urdf'));
    let tris = 0;
    for (const l of r.links) for (const c of l.collisions) {
      if (c.geometry.kind !== 'mesh') continue;
      const m = loadMesh(c.geometry.file, c.geometry.scale);
      tris += m.indices.length / 3;
      const b = meshBounds(m.positions);
      const size = Math.max(b[3] - b[0], b[4] - b[1], b[5] - b[2]);
      expect(size, c.geometry.file).toBeGreaterThan(0.005);
      expect(size, c.geometry.file).toBeLessThan(0.6);
    }
    expect(tris).toBeGreaterThan(200_000);
    expect(tris).toBeLessThan(240_000);
    const pelvis = loadMesh(path.join(path.dirname(shared('robots/unitree_g1/g1_29dof_rev_1_0.urdf')), 'meshes', 'pelvis.STL'));
    const v = meshVolume(pelvis);
    expect(v).toBeGreaterThan(1e-4); // a few litres at most: metres, not millimetres
    expect(v).toBeLessThan(1e-2);
  });

  it('Inspire GLB visuals and OBJ collisions load with plausible finger-sized extents', () => {
    const r = loadUrdf(shared('hands/inspire_right/inspire_hand_right.urdf'));
    let glbs = 0;
    for (const l of r.links) for (const g of [...l.visuals, ...l.collisions]) {
      if (g.geometry.kind !== 'mesh') continue;
      const m = loadMesh(g.geometry.file, g.geometry.scale);
      const b = meshBounds(m.positions);
      const size = Math.max(b[3] - b[0], b[4] - b[1], b[5] - b[2]);
      expect(size, g.geometry.file).toBeGreaterThan(0.005);
      expect(size, g.geometry.file).toBeLessThan(0.25);
      if (g.geometry.file.endsWith('.glb')) glbs++;
    }
    expect(glbs).toBeGreaterThan(5);
  });

  it('Allegro OBJ (Blender export) vertex counts match the file', () => {
    const r = loadUrdf(shared('hands/allegro_right/allegro_hand_right.urdf'));
    const f = r.links.flatMap((l) => l.visuals).find((v) => v.geometry.kind === 'mesh' && v.geometry.file.endsWith('link_0.0.obj'))!;
    const file = (f.geometry as { file: string }).file;
    const m = loadMesh(file);
    const text = fs.readFileSync(file, 'utf8');
    expect(m.positions.length / 3).toBe((text.match(/^v /gm) ?? []).length);
  });
});
