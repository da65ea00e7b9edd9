/**
 * The bad-input corpus (issue 16, "Done means"): cases derived at test time from ../shared/data and the
 * project's robots — truncations, garbage, NaN/Inf, huge numbers, wrong dtypes and shapes, zip bombs, deep
 * nesting, escape sequences, symlinks — each run through the library call of every command that takes that
 * kind of file (pose import / run / qa → importPose, qaFile; pose info; validate → checkFeasibilityFiles;
 * view → motionFileSource; robot inspect / retarget → loadUrdf; run / consent check → gateIngest; store verify).
 * Every case must give one clear line (a UserError: one line, no control characters, naming the file), leave
 * no file behind, stay under 1 GB and finish in time. A few cases also go through the real CLI.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UserError, safeText } from '../../src/errors.ts';
import { importPose } from '../../src/pose/import.ts';
import { poseInfo } from '../../src/pose/info.ts';
import { saveTrack } from '../../src/pose/track.ts';
import { qaFile } from '../../src/quality/qa.ts';
import { loadUrdf } from '../../src/robot/urdf.ts';
import { Kinematics } from '../../src/robot/kinematics.ts';
import { saveMotion, loadMotion } from '../../src/robot/motion.ts';
import { checkFeasibilityFiles } from '../../src/sim/index.ts';
import { motionFileSource } from '../../src/viewer/server.ts';
import { gateIngest } from '../../src/privacy/gate.ts';
import { openStore } from '../../src/store/store.ts';
import { encodeNpy, nd, zipStore, readNpz } from '../../src/io/npz.ts';
import { deflateRawSync } from 'node:zlib';
import { writeConsent, TEST_OPERATOR_KEY } from '../helpers/consent.ts';
import { PROJECT_ROOT, SHARED_DATA } from '../helpers/shared.ts';

const HUMANOID = path.join(PROJECT_ROOT, 'robots/r2r_humanoid/r2r_humanoid.urdf');
const SRC = {
  bvh: 'motions/cmu_bvh11/cmu_131_03_start_hop_stop.bvh',
  trc: 'motions/opensim_rajagopal2016_walk/markers_walk.trc',
  npy: 'keypoints/dex_retargeting_human_joint_right.npy',
  handJson: 'keypoints/dex_retargeting_human_joint_right.json',
  poseJson: 'keypoints/tfjs_pose_squats.full.json',
  deepmimic: 'motions/deepmimic/humanoid3d_walk.json',
};
const haveShared = Object.values(SRC).every((f) => fs.existsSync(path.join(SHARED_DATA, f)));
const MEMORY_CEILING_MB = 1024;
const CASE_SECONDS = 20;

let root: string; // sources derived once (outside `work`)
let work: string; // where the cases live; checked for left-over files
type Call = (file: string) => unknown | Promise<unknown>;
interface Case { kind: string; name: string; file: string; calls: [string, Call][] }
const cases: Case[] = [];

// ---- mutations --------------------------------------------------------------------------------------
let seed = 12345;
const rnd = () => ((seed = (seed * 16807) % 2147483647) / 2147483647);
const ESC = '\x1b[2J\x1b[H\x1b]0;pwned\x07\x1b[31m';
type Mut = [string, (b: Buffer) => Buffer];
const BYTES: Mut[] = [
  ['empty', () => Buffer.alloc(0)],
  ['one-byte', (b) => b.subarray(0, 1)],
  ['half', (b) => b.subarray(0, b.length >> 1)],
  ['cut-last-tenth', (b) => b.subarray(0, Math.floor(b.length * 0.9))],
  ['garbage', (b) => Buffer.from(Array.from({ length: Math.min(b.length, 65536) }, () => Math.floor(rnd() * 256)))],
  ['escape-prefix', (b) => Buffer.concat([Buffer.from(ESC), b])],
];
/** For text formats: NUL bytes in the middle (in a binary array they would only be zeros, which are valid). */
const NULS: Mut = ['nul-bytes', (b) => { const c = Buffer.from(b); c.fill(0, c.length >> 2, (c.length >> 2) + 64); return c; }];
const TEXT: Mut[] = [
  ['nan', (b) => Buffer.from(b.toString('latin1').replace(/-?\d+\.\d+/g, (m) => (rnd() < 0.5 ? 'NaN' : m)), 'latin1')],
  ['inf', (b) => Buffer.from(b.toString('latin1').replace(/-?\d+\.\d+/g, (m) => (rnd() < 0.3 ? 'Infinity' : m)), 'latin1')],
  ['huge-1e30', (b) => Buffer.from(b.toString('latin1').replace(/-?\d+\.\d+/g, (m) => (rnd() < 0.2 ? '1e30' : m)), 'latin1')],
  ['huge-1e308', (b) => Buffer.from(b.toString('latin1').replace(/-?\d+\.\d+/g, (m) => (rnd() < 0.2 ? '-1e308' : m)), 'latin1')],
  ['all-numbers-nan', (b) => Buffer.from(b.toString('latin1').replace(/-?\d+\.\d+(e-?\d+)?/g, 'NaN'), 'latin1')],
];

function add(kind: string, name: string, file: string, calls: [string, Call][]) {
  cases.push({ kind, name, file, calls });
}
function writeCase(kind: string, name: string, ext: string, data: Buffer | string): string {
  const f = path.join(work, kind, `${name}${ext}`);
  fs.mkdirSync(path.dirname(f), { recursive: true });
  fs.writeFileSync(f, data);
  return f;
}
/** The file-system cases every kind gets: symlinks, a directory, a device, an escape sequence in the name. */
function fsCases(kind: string, ext: string, good: string, calls: [string, Call][]) {
  const d = path.join(work, kind);
  fs.mkdirSync(d, { recursive: true });
  const mk = (name: string, make: (f: string) => void) => { const f = path.join(d, name + ext); make(f); add(kind, name, f, calls); };
  mk('symlink-dangling', (f) => fs.symlinkSync(path.join(d, 'nowhere' + ext), f));
  mk('symlink-loop', (f) => { fs.symlinkSync(f + '.b', f); fs.symlinkSync(f, f + '.b'); });
  mk('symlink-to-dir', (f) => fs.symlinkSync(d, f));
  mk('symlink-to-dev-zero', (f) => fs.symlinkSync('/dev/zero', f));
  mk('directory', (f) => fs.mkdirSync(f));
  mk('missing', () => {});
  // A name carrying a terminal escape sequence and a newline, with garbage inside.
  const evil = path.join(d, `evil\x1b[31m\nname${ext}`);
  fs.writeFileSync(evil, Buffer.concat([Buffer.from(ESC), fs.readFileSync(good).subarray(0, 100)]));
  add(kind, 'escape-in-name', evil, calls);
}

const pose: [string, Call][] = [
  ['importPose (pose import, run)', (f) => importPose(f)],
  ['poseInfo (pose info)', (f) => poseInfo(importPose(f))],
  ['qaFile (qa)', (f) => qaFile(f)],
];

function npyWith(header: string, body: Buffer): Buffer {
  const pad = 64 - ((10 + header.length + 1) % 64);
  const h = header + ' '.repeat(pad % 64) + '\n';
  const pre = Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0, h.length & 0xff, h.length >> 8]);
  return Buffer.concat([pre, Buffer.from(h, 'latin1'), body]);
}

function deflatedZip(name: string, payload: Uint8Array, declared: number): Buffer {
  const comp = deflateRawSync(payload);
  const z = Buffer.from(zipStore([{ name, data: Buffer.alloc(comp.length) }]));
  const cd = z.indexOf(Buffer.from([0x50, 0x4b, 0x01, 0x02]));
  z.writeUInt16LE(8, 8); z.writeUInt16LE(8, cd + 10);
  z.writeUInt32LE(declared, 22); z.writeUInt32LE(declared, cd + 24);
  comp.copy(z, 30 + Buffer.byteLength(name));
  return z;
}

/** Replace members of an npz (decoded arrays re-encoded, or raw member bytes). */
function npzWith(src: string, change: (m: Map<string, Buffer>) => void): Buffer {
  const z = readNpz(src);
  const members = new Map<string, Buffer>();
  for (const [k, a] of Object.entries(z.arrays)) members.set(`${k}.npy`, Buffer.from(encodeNpy(a)));
  members.set('meta.json', Buffer.from(JSON.stringify(z.meta)));
  change(members);
  return Buffer.from(zipStore([...members].map(([name, data]) => ({ name, data }))));
}

beforeAll(() => {
  if (!haveShared) return;
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'r2r-corpus-src-'));
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'r2r-corpus-'));
  const shared = (k: keyof typeof SRC) => fs.readFileSync(path.join(SHARED_DATA, SRC[k]));

  // Text formats read by the pose importers.
  for (const [kind, key, ext] of [['bvh', 'bvh', '.bvh'], ['trc', 'trc', '.trc'], ['hand-json', 'handJson', '.json'], ['pose-json', 'poseJson', '.json'], ['deepmimic', 'deepmimic', '.json']] as const) {
    const good = shared(key);
    for (const [name, m] of [...BYTES, NULS, ...TEXT]) add(kind, name, writeCase(kind, name, ext, m(good)), kind === 'deepmimic' ? [['importPose (pose import, run)', (f) => importPose(f, { format: 'deepmimic' })]] : pose);
    fsCases(kind, ext, path.join(SHARED_DATA, SRC[key]), pose);
  }
  // BVH: deep nesting, a frame count that lies, escape sequences in a joint name.
  const deep = 'HIERARCHY\n' + Array.from({ length: 20000 }, (_, i) => `${i ? 'JOINT' : 'ROOT'} j${i}\n{\nOFFSET 0 0 1\nCHANNELS 3 Zrotation Xrotation Yrotation\n`).join('') + '}\n'.repeat(20000) + 'MOTION\nFrames: 1\nFrame Time: 0.01\n' + '0 '.repeat(60000) + '\n';
  add('bvh', 'deep-20000', writeCase('bvh', 'deep-20000', '.bvh', deep), pose);
  const bvhText = shared('bvh').toString('latin1');
  add('bvh', 'frames-1e12', writeCase('bvh', 'frames-1e12', '.bvh', bvhText.replace(/Frames:\s*\d+/, 'Frames: 1000000000000')), pose);
  add('bvh', 'frame-time-0', writeCase('bvh', 'frame-time-0', '.bvh', bvhText.replace(/Frame Time:\s*[\d.]+/, 'Frame Time: 0')), pose);
  add('bvh', 'escape-joint-name', writeCase('bvh', 'escape-joint-name', '.bvh', bvhText.replace(/ROOT (\S+)/, `ROOT ${ESC}x\nJOINT`)), pose);
  add('bvh', 'offset-1e30', writeCase('bvh', 'offset-1e30', '.bvh', bvhText.replace(/OFFSET [^\n]+/, 'OFFSET 1e30 1e30 1e30')), pose);

  // JSON deep nesting.
  add('pose-json', 'deep-nesting', writeCase('pose-json', 'deep-nesting', '.json', '['.repeat(200_000) + ']'.repeat(200_000)), pose);

  // .npy keypoints: wrong dtypes, shapes, headers.
  const npy = shared('npy');
  const body = npy.subarray(npy.indexOf(0x0a, 10) + 1);
  const shape = /'shape':\s*\(([^)]*)\)/.exec(npy.toString('latin1', 10, 200))![1];
  const npyCases: [string, Buffer][] = [
    ...BYTES.map(([n, m]) => [n, m(npy)] as [string, Buffer]),
    ['dtype-int64', npyWith(`{'descr': '<i8', 'fortran_order': False, 'shape': (${shape}), }`, Buffer.concat([body, body]))],
    ['dtype-string', npyWith(`{'descr': '<U8', 'fortran_order': False, 'shape': (${shape}), }`, body)],
    ['dtype-object', npyWith(`{'descr': '|O', 'fortran_order': False, 'shape': (${shape}), }`, body)],
    ['big-endian', npyWith(`{'descr': '>f8', 'fortran_order': False, 'shape': (${shape}), }`, body)],
    ['shape-lies', npyWith(`{'descr': '<f8', 'fortran_order': False, 'shape': (100000, 21, 3), }`, body)],
    ['shape-negative', npyWith(`{'descr': '<f8', 'fortran_order': False, 'shape': (-5, 21, 3), }`, body)],
    ['shape-huge', npyWith(`{'descr': '<f8', 'fortran_order': False, 'shape': (99999999999, 99999999, 3), }`, body)],
    ['shape-2d', npyWith(`{'descr': '<f8', 'fortran_order': False, 'shape': (${Math.floor(body.length / 8)},), }`, body)],
    ['shape-wrong-joints', npyWith(`{'descr': '<f8', 'fortran_order': False, 'shape': (${Math.floor(body.length / 8 / 7 / 3)}, 7, 3), }`, body.subarray(0, Math.floor(body.length / 8 / 7 / 3) * 7 * 3 * 8))],
    ['header-garbage', npyWith(`${ESC}{'descr': nonsense}`, body)],
    ['version-9', Buffer.concat([npy.subarray(0, 6), Buffer.from([9, 0]), npy.subarray(8)])],
    ['all-nan', npyWith(`{'descr': '<f8', 'fortran_order': False, 'shape': (${shape}), }`, Buffer.from(new Float64Array(body.length / 8).fill(NaN).buffer))],
    ['all-1e30', npyWith(`{'descr': '<f8', 'fortran_order': False, 'shape': (${shape}), }`, Buffer.from(new Float64Array(body.length / 8).fill(1e30).buffer))],
    ['inf', npyWith(`{'descr': '<f8', 'fortran_order': False, 'shape': (${shape}), }`, Buffer.from(new Float64Array(body.length / 8).fill(Infinity).buffer))],
  ];
  for (const [n, b] of npyCases) add('npy', n, writeCase('npy', n, '.npy', b), pose);
  fsCases('npy', '.npy', path.join(SHARED_DATA, SRC.npy), pose);

  // Pose-track .npz made from the BVH, then broken.
  const trackSrc = path.join(root, 'track.npz');
  saveTrack(trackSrc, importPose(path.join(SHARED_DATA, SRC.bvh)));
  const trackCases: [string, Buffer][] = [
    ...BYTES.map(([n, m]) => [n, m(fs.readFileSync(trackSrc))] as [string, Buffer]),
    ['positions-int64', npzWith(trackSrc, (m) => { const a = readNpz(trackSrc).arrays.positions; m.set('positions.npy', Buffer.from(encodeNpy(nd(BigInt64Array.from(a.data as Float32Array, (v) => BigInt(Math.round(v))), a.shape)))); })],
    ['positions-all-nan', npzWith(trackSrc, (m) => { const a = readNpz(trackSrc).arrays.positions; m.set('positions.npy', Buffer.from(encodeNpy(nd(new Float32Array(a.data.length).fill(NaN), a.shape)))); m.set('confidence.npy', Buffer.from(encodeNpy(nd(new Float32Array(readNpz(trackSrc).arrays.confidence.data.length), readNpz(trackSrc).arrays.confidence.shape)))); })],
    ['positions-1e30', npzWith(trackSrc, (m) => { const a = readNpz(trackSrc).arrays.positions; m.set('positions.npy', Buffer.from(encodeNpy(nd(new Float32Array(a.data.length).fill(1e30), a.shape)))); })],
    ['positions-wrong-shape', npzWith(trackSrc, (m) => { m.set('positions.npy', Buffer.from(encodeNpy(nd(new Float32Array(12), [4, 3])))); })],
    ['no-positions', npzWith(trackSrc, (m) => { m.delete('positions.npy'); })],
    ['meta-not-json', npzWith(trackSrc, (m) => { m.set('meta.json', Buffer.from(ESC + '{not json')); })],
    ['meta-wrong-kind', npzWith(trackSrc, (m) => { m.set('meta.json', Buffer.from(JSON.stringify({ kind: ESC }))); })],
    ['meta-parents-cycle', npzWith(trackSrc, (m) => { const meta = JSON.parse(m.get('meta.json')!.toString()); meta.parents = meta.parents.map((_: number, i: number) => (i + 1) % meta.parents.length); m.set('meta.json', Buffer.from(JSON.stringify(meta))); })],
    ['zip-bomb', deflatedZip('positions.npy', new Uint8Array(32 * 2 ** 20), 2048)],
    ['zip-declares-4gb', deflatedZip('positions.npy', new Uint8Array(1024), 0xfffffff0)],
    ['zip-crc-wrong', (() => { const b = Buffer.from(fs.readFileSync(trackSrc)); b[200] ^= 0xff; return b; })()],
  ];
  for (const [n, b] of trackCases) add('track-npz', n, writeCase('track-npz', n, '.npz', b), pose);
  fsCases('track-npz', '.npz', trackSrc, pose);

  // Robot motion .npz for the project's humanoid (zeros), then broken: validate and view take it.
  const robot = loadUrdf(HUMANOID);
  const kin = new Kinematics(robot);
  const T = 20;
  const rootQuat = new Float32Array(T * 4);
  const rootPos = new Float32Array(T * 3);
  for (let t = 0; t < T; t++) { rootQuat[4 * t] = 1; rootPos[3 * t + 2] = 0.9; }
  const motionSrc = path.join(root, 'motion.npz');
  saveMotion(motionSrc, { q: new Float32Array(T * kin.nq), rootPos, rootQuat, timestamps: Float64Array.from({ length: T }, (_, i) => i / 30), fps: 30, jointNames: kin.dofNames, rootLink: robot.rootLink, robot: { name: robot.name, urdf_sha256: robot.sha256 } });
  const motionCalls: [string, Call][] = [
    ['checkFeasibilityFiles (validate)', (f) => checkFeasibilityFiles(f, HUMANOID, { mode: 'assisted' })],
    ['motionFileSource (view)', (f) => motionFileSource(f, { robot: HUMANOID })],
  ];
  const arr = (k: string) => readNpz(motionSrc).arrays[k];
  const motionCases: [string, Buffer][] = [
    ...BYTES.map(([n, m]) => [n, m(fs.readFileSync(motionSrc))] as [string, Buffer]),
    ['root-quat-zero', npzWith(motionSrc, (m) => m.set('root_quat.npy', Buffer.from(encodeNpy(nd(new Float32Array(T * 4), [T, 4])))))],
    ['q-int64', npzWith(motionSrc, (m) => m.set('q.npy', Buffer.from(encodeNpy(nd(new BigInt64Array(T * kin.nq).fill(9007199254740993n), [T, kin.nq])))))],
    ['q-1e30', npzWith(motionSrc, (m) => m.set('q.npy', Buffer.from(encodeNpy(nd(new Float32Array(T * kin.nq).fill(1e30), [T, kin.nq])))))],
    ['q-nan', npzWith(motionSrc, (m) => m.set('q.npy', Buffer.from(encodeNpy(nd(new Float32Array(T * kin.nq).fill(NaN), [T, kin.nq])))))],
    ['root-pos-1e30', npzWith(motionSrc, (m) => m.set('root_pos.npy', Buffer.from(encodeNpy(nd(new Float32Array(T * 3).fill(1e30), [T, 3])))))],
    ['timestamps-backwards', npzWith(motionSrc, (m) => m.set('timestamps.npy', Buffer.from(encodeNpy(nd(Float64Array.from({ length: T }, (_, i) => -i), [T])))))],
    ['no-frames', npzWith(motionSrc, (m) => { for (const k of ['q', 'root_pos', 'root_quat', 'timestamps']) { const a = arr(k); m.set(`${k}.npy`, Buffer.from(encodeNpy(nd(new (a.data.constructor as Float32ArrayConstructor)(0), [0, ...a.shape.slice(1)])))); } })],
    ['other-robot', npzWith(motionSrc, (m) => { const meta = JSON.parse(m.get('meta.json')!.toString()); meta.robot = { name: 'unitree_g1', urdf_sha256: 'b'.repeat(64) }; m.set('meta.json', Buffer.from(JSON.stringify(meta))); })],
    ['joint-names-foreign', npzWith(motionSrc, (m) => { const meta = JSON.parse(m.get('meta.json')!.toString()); meta.joint_names = meta.joint_names.map((n: string) => `${ESC}${n}`); m.set('meta.json', Buffer.from(JSON.stringify(meta))); })],
    ['zip-bomb', deflatedZip('q.npy', new Uint8Array(32 * 2 ** 20), 100)],
  ];
  for (const [n, b] of motionCases) add('motion-npz', n, writeCase('motion-npz', n, '.npz', b), motionCalls);
  fsCases('motion-npz', '.npz', motionSrc, motionCalls);

  // URDF: the project's humanoid, broken.
  const urdf = fs.readFileSync(HUMANOID);
  const urdfText = urdf.toString('utf8');
  const urdfCalls: [string, Call][] = [['loadUrdf (robot inspect, retarget, validate, run)', (f) => loadUrdf(f, { checkMeshes: false })]];
  const urdfCases: [string, Buffer | string][] = [
    ...[...BYTES, NULS, ...TEXT].map(([n, m]) => [n, m(urdf)] as [string, Buffer]),
    ['mass-1e308', urdfText.replace(/<mass value="[^"]*"/, '<mass value="1e308"')],
    ['inertia-1e30', urdfText.replace(/ixx="[^"]*"/, 'ixx="1e30"')],
    ['deep-xml', '<robot name="r">' + '<a>'.repeat(100_000) + '</a>'.repeat(100_000) + '</robot>'],
    ['no-links', '<robot name="r"></robot>'],
    ['not-xml', `${ESC}{"robot": true}`],
    // The last joint's child is the root link: a cycle.
    ['joint-cycle', (() => { const rootLink = /<link name="([^"]+)"/.exec(urdfText)![1]; const i = urdfText.lastIndexOf('<child link="'); return urdfText.slice(0, i) + urdfText.slice(i).replace(/<child link="[^"]+"/, `<child link="${rootLink}"`); })()],
  ];
  for (const [n, b] of urdfCases) add('urdf', n, writeCase('urdf', n, '.urdf', b), urdfCalls);
  fsCases('urdf', '.urdf', HUMANOID, urdfCalls);

  // Consent manifests for a recording (the BVH), broken: run and consent check take them.
  const rec = path.join(root, 'rec.bvh');
  fs.copyFileSync(path.join(SHARED_DATA, SRC.bvh), rec);
  const goodManifest = path.join(root, 'good.consent.json');
  writeConsent(goodManifest, rec, {});
  const gm = fs.readFileSync(goodManifest);
  const consentCalls: [string, Call][] = [['gateIngest (run, consent check)', (f) => gateIngest({ recording: rec, manifestPath: f, scope: 'robot-training', key: TEST_OPERATOR_KEY })]];
  const j = JSON.parse(gm.toString());
  const consentCases: [string, Buffer | string][] = [
    ...[...BYTES, NULS].map(([n, m]) => [n, m(gm)] as [string, Buffer]),
    ['feb-30', JSON.stringify({ ...j, expires: '2031-02-30' })],
    ['scopes-widened', JSON.stringify({ ...j, scopes: [...j.scopes, 'public-release'] })],
    ['unsigned', JSON.stringify({ ...j, signature: undefined })],
    ['name-bound', JSON.stringify({ ...j, recordings: ['rec.bvh'] })],
    ['deep-nesting', '{"a":' + '['.repeat(100_000) + ']'.repeat(100_000) + '}'],
    ['escape-values', JSON.stringify({ ...j, consent_id: ESC, scopes: [ESC] })],
    ['huge-string', JSON.stringify({ ...j, contributor: 'x'.repeat(5_000_000) })],
  ];
  for (const [n, b] of consentCases) add('consent', n, writeCase('consent', n, '.consent.json', b), consentCalls);
  fsCases('consent', '.consent.json', goodManifest, consentCalls);
}, 120_000);

afterAll(() => {
  if (root) fs.rmSync(root, { recursive: true, force: true });
  if (work) fs.rmSync(work, { recursive: true, force: true });
});

/** Every path under dir (symlinks not followed). */
function tree(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const f of fs.readdirSync(d)) {
      const p = path.join(d, f);
      out.push(p);
      const st = fs.lstatSync(p);
      if (st.isDirectory()) walk(p);
    }
  };
  walk(dir);
  return out.sort();
}

describe.skipIf(!haveShared)('bad-input corpus', () => {
  it('has at least 150 cases, each refused with one clear line naming the file, nothing written, < 1 GB, in time', async () => {
    expect(cases.length).toBeGreaterThanOrEqual(150);
    const before = tree(work);
    const failures: string[] = [];
    let runs = 0;
    let peakMb = 0;
    for (const c of cases) {
      for (const [what, call] of c.calls) {
        runs++;
        const t0 = performance.now();
        let err: unknown = null;
        try {
          await call(c.file);
        } catch (e) {
          err = e;
        }
        const s = (performance.now() - t0) / 1000;
        const rss = process.memoryUsage().rss / 2 ** 20;
        peakMb = Math.max(peakMb, rss);
        const label = `${c.kind}/${c.name} via ${what}`;
        const msg = err instanceof Error ? err.message : '';
        if (!err) failures.push(`${label}: accepted`);
        else if (!(err instanceof UserError)) failures.push(`${label}: not a user error: ${safeText((err as Error)?.message ?? String(err), 200)}`);
        else if (/[\x00-\x1f\x7f]/.test(msg)) failures.push(`${label}: control characters in the message: ${safeText(msg, 200)}`);
        else if (!msg.includes(safeText(path.basename(c.file))) && !msg.includes(safeText(c.file, 300).slice(0, 250))) failures.push(`${label}: does not name the file: ${msg.slice(0, 200)}`);
        if (s > CASE_SECONDS) failures.push(`${label}: took ${s.toFixed(1)} s`);
        if (rss > MEMORY_CEILING_MB) failures.push(`${label}: resident memory ${rss.toFixed(0)} MB`);
      }
    }
    expect(tree(work)).toEqual(before);
    console.log(`corpus: ${cases.length} cases, ${runs} calls, peak RSS ${peakMb.toFixed(0)} MB`);
    expect(failures).toEqual([]);
  }, 600_000);

  it('a few through the real CLI: one line naming the file, exit 1, no output file', () => {
    const pick = ['bvh/deep-20000', 'bvh/escape-prefix', 'track-npz/zip-bomb', 'npy/all-nan', 'urdf/mass-1e308'];
    const outDir = fs.mkdtempSync(path.join(os.tmpdir(), 'r2r-corpus-cli-'));
    try {
      for (const key of pick) {
        const c = cases.find((x) => `${x.kind}/${x.name}` === key)!;
        const args = c.kind === 'urdf' ? ['robot', 'inspect', c.file] : ['pose', 'import', c.file, '--out', path.join(outDir, 'out.npz')];
        const r = spawnSync('/usr/bin/time', ['-f', 'MAXRSS_KB=%M', process.execPath, path.join(PROJECT_ROOT, 'bin/reel2real.js'), ...args], { encoding: 'utf8', timeout: 60_000 });
        const mem = Number(/MAXRSS_KB=(\d+)/.exec(r.stderr)?.[1] ?? NaN) / 1024;
        const stderr = r.stderr.replace(/Command exited with non-zero status \d+\n/, '').replace(/MAXRSS_KB=\d+\n?/, '');
        expect(r.status, `${key}: ${stderr}`).toBe(1);
        expect(stderr.trim().split('\n'), key).toHaveLength(1);
        expect(stderr, key).toContain(path.basename(c.file));
        expect(stderr, key).not.toContain('\x1b');
        expect(stderr, key).not.toMatch(/internal error/);
        expect(mem, key).toBeLessThan(MEMORY_CEILING_MB);
        expect(fs.readdirSync(outDir), key).toEqual([]);
      }
    } finally {
      fs.rmSync(outDir, { recursive: true, force: true });
    }
  }, 300_000);
});

describe('store verify on a garbage index (issue 16 item 14)', () => {
  it('calls an index of garbage corrupt, a torn last line only a warning', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'r2r-corpus-store-'));
    try {
      openStore(dir, { create: true });
      const index = path.join(dir, 'index.jsonl');
      fs.writeFileSync(index, `${ESC}garbage line\n\x00\x01\x02\nnot json either\n`);
      const r = openStore(dir).verify();
      expect(r.ok).toBe(false);
      expect(r.problems.filter((p) => /is not an index entry \(the index is corrupt\)/.test(p.problem))).toHaveLength(3);
      for (const p of r.problems) expect(p.problem).not.toMatch(/[\x00-\x1f]/);
      fs.writeFileSync(index, '{"id":"ab');
      fs.appendFileSync(index, '\n');
      const torn = openStore(dir).verify();
      expect(torn.ok).toBe(true);
      expect(torn.warnings.some((w) => /torn by a crash/.test(w.problem))).toBe(true);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
