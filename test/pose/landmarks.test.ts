import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { importPose } from '../../src/pose/import.ts';
import { BLAZEPOSE_LANDMARKS, COCO17, importBlazePoseJson, importMediapipeHandJson, importNpy } from '../../src/pose/landmarks.ts';
import { builtinMotion } from '../../src/pose/builtin.ts';
import { geometricHeight } from '../../src/pose/info.ts';
import { HAND_LANDMARKS } from '../../src/pose/skeleton.ts';
import { loadTrack, saveTrack } from '../../src/pose/track.ts';
import { encodeNpy, nd } from '../../src/io/npz.ts';
import { UserError } from '../../src/errors.ts';
import { describeShared, shared } from '../helpers/shared.ts';
import { dist, pos, tmpDir } from './util.ts';

const HAND_JSON = 'keypoints/dex_retargeting_human_joint_right.json';
const HAND_NPY = 'keypoints/dex_retargeting_human_joint_right.npy';
const BP_WORLD = 'keypoints/tfjs_pose_squats_3d.full.json';
const BP_IMAGE = 'keypoints/tfjs_pose_squats.full.json';

function roundTrip(t: ReturnType<typeof importPose>) {
  const f = path.join(tmpDir('lm'), 't.npz');
  saveTrack(f, t);
  const back = loadTrack(f);
  expect(back.jointNames).toEqual(t.jointNames);
  expect(back.parents).toEqual(t.parents);
  expect(back.source).toEqual(t.source);
  expect(Buffer.from(back.positions.buffer).equals(Buffer.from(t.positions.buffer))).toBe(true);
  expect(Buffer.from(back.confidence.buffer).equals(Buffer.from(t.confidence.buffer))).toBe(true);
}

describeShared('MediaPipe hand landmarks (JSON and .npy)', [HAND_JSON, HAND_NPY], () => {
  const fromJson = importPose(shared(HAND_JSON));
  const fromNpy = importPose(shared(HAND_NPY));

  it('detects the format and gives right_hand_* joints in MediaPipe order, frame stated in meta', () => {
    expect(fromJson.source.format).toBe('mediapipe-hand-json');
    expect(fromNpy.source.format).toBe('npy');
    expect(fromJson.jointNames).toEqual(HAND_LANDMARKS.map((l) => `right_hand_${l}`));
    expect(fromJson.timestamps.length).toBe(621);
    expect(fromJson.fps).toBe(30);
    expect(String(fromJson.meta?.coordinate_frame)).toMatch(/MANO wrist frame/);
    expect(fromJson.parents[0]).toBe(-1);
    expect(fromJson.parents[8]).toBe(7);
  });

  it('JSON and .npy give the same track (JSON is rounded to 1e-6)', () => {
    expect(fromNpy.jointNames).toEqual(fromJson.jointNames);
    let worst = 0;
    for (let k = 0; k < fromJson.positions.length; k++) worst = Math.max(worst, Math.abs(fromJson.positions[k] - fromNpy.positions[k]));
    expect(worst).toBeLessThan(2e-6);
    expect(Array.from(fromNpy.timestamps)).toEqual(Array.from(fromJson.timestamps));
  });

  it('keeps the values as given: the wrist at the origin, fingers ~7-20 cm away', () => {
    for (let f = 0; f < 621; f += 31) {
      expect(pos(fromJson, 'right_hand_wrist', f)).toEqual([0, 0, 0]);
      const tip = dist(pos(fromJson, 'right_hand_middle_finger_tip', f), [0, 0, 0]);
      expect(tip).toBeGreaterThan(0.07);
      expect(tip).toBeLessThan(0.25);
    }
  });

  it('takes the hand from --hand', () => {
    const left = importMediapipeHandJson(shared(HAND_JSON), { hand: 'left' });
    expect(left.jointNames[0]).toBe('left_hand_wrist');
    expect(left.source.hand).toBe('left');
  });

  it('round-trips', () => roundTrip(fromJson));
});

describeShared('BlazePose landmarks (world and image JSON)', [BP_WORLD, BP_IMAGE], () => {
  const raw = JSON.parse(fs.readFileSync(shared(BP_WORLD), 'utf8')) as number[][][];
  const world = importPose(shared(BP_WORLD));

  it('detects the format, keeps the 33 originals and maps them to the canonical body', () => {
    expect(world.source.format).toBe('blazepose-json');
    expect(world.source.coordinates).toBe('world');
    for (const n of BLAZEPOSE_LANDMARKS) expect(world.jointNames).toContain(`blazepose_${n}`);
    expect(world.jointNames.length).toBe(19 + 33);
  });

  it('pelvis is the mid-hip point, toes are foot_index, head is mid-ears', () => {
    for (let f = 0; f < raw.length; f++) {
      const l = pos(world, 'blazepose_left_hip', f), r = pos(world, 'blazepose_right_hip', f);
      expect(dist(pos(world, 'pelvis', f), [(l[0] + r[0]) / 2, (l[1] + r[1]) / 2, (l[2] + r[2]) / 2])).toBeLessThan(1e-6);
      expect(pos(world, 'left_toe', f)).toEqual(pos(world, 'blazepose_left_foot_index', f));
      const el = pos(world, 'blazepose_left_ear', f), er = pos(world, 'blazepose_right_ear', f);
      expect(dist(pos(world, 'head', f), [(el[0] + er[0]) / 2, (el[1] + er[1]) / 2, (el[2] + er[2]) / 2])).toBeLessThan(1e-6);
    }
  });

  it('converts BlazePose (x right, y down, z away) to Z up, X toward the camera, Y = image right, feet grounded per frame', () => {
    for (let f = 0; f < raw.length; f++) {
      for (const [j, n] of BLAZEPOSE_LANDMARKS.entries()) {
        const [x, y, z] = raw[f][j];
        const p = pos(world, `blazepose_${n}`, f);
        expect(p[0]).toBeCloseTo(-z, 6);
        expect(p[1]).toBeCloseTo(x, 6);
      }
      // Vertical: −y minus the frame's ground offset; the lowest foot point is at z = 0.
      const foot = ['left_heel', 'right_heel', 'left_foot_index', 'right_foot_index', 'left_ankle', 'right_ankle'].map((n) => pos(world, `blazepose_${n}`, f)[2]);
      expect(Math.min(...foot)).toBeCloseTo(0, 6);
      const dz = pos(world, 'blazepose_nose', f)[2] - pos(world, 'blazepose_left_hip', f)[2];
      expect(dz).toBeCloseTo(-(raw[f][0][1] - raw[f][23][1]), 5);
      expect(pos(world, 'head', f)[2]).toBeGreaterThan(pos(world, 'pelvis', f)[2]);
      expect(pos(world, 'pelvis', f)[2]).toBeGreaterThan(pos(world, 'left_ankle', f)[2]);
    }
  });

  it('scales image landmarks (pixels) to an assumed 1.7 m person and states it', () => {
    const img = importBlazePoseJson(shared(BP_IMAGE));
    expect(img.source.coordinates).toBe('image');
    expect(String(img.source.scale_source)).toMatch(/assumed 1.7 m/);
    expect(geometricHeight(img).height!).toBeCloseTo(1.7, 6);
    const stated = importBlazePoseJson(shared(BP_IMAGE), { scale: 0.002 });
    expect(stated.source.scale).toBe(0.002);
  });

  it('round-trips', () => roundTrip(world));
});

describe('hand landmark JSON variants', () => {
  it('reads {x,y,z,visibility} objects, null frames and a plain list of frames', () => {
    const pt = (k: number) => ({ x: k / 100, y: 0, z: 0.01, visibility: 0.9 });
    const frame = Array.from({ length: 21 }, (_, k) => pt(k));
    const f = path.join(tmpDir('lm'), 'left_hand.json');
    fs.writeFileSync(f, JSON.stringify([frame, null, frame]));
    const t = importPose(f, { sourceFps: 25 });
    expect(t.jointNames[0]).toBe('left_hand_wrist'); // from the file name
    expect(t.fps).toBe(25);
    expect(t.timestamps[2]).toBeCloseTo(0.08, 12);
    expect(pos(t, 'left_hand_index_finger_tip', 0)).toEqual([Math.fround(0.08), 0, Math.fround(0.01)]);
    expect(t.confidence[0]).toBeCloseTo(0.9, 6);
    expect(t.confidence[21]).toBe(0);
    expect(Number.isNaN(pos(t, 'left_hand_wrist', 1)[0])).toBe(true);
  });
});

describe('.npy keypoints with a stated layout', () => {
  const dir = tmpDir('npy');
  const write = (name: string, data: Float32Array, shape: number[]) => {
    const f = path.join(dir, name);
    fs.writeFileSync(f, encodeNpy(nd(data, shape)));
    return f;
  };
  const ref = builtinMotion();
  const T = ref.timestamps.length;
  const J = ref.jointNames.length;

  it('canonical [T,61,3] reproduces the track; [T,61,4] carries confidence', () => {
    const t = importNpy(write('c.npy', ref.positions, [T, J, 3]), { layout: 'canonical', fps: 30 });
    expect(t.jointNames).toEqual(ref.jointNames);
    expect(t.parents).toEqual(ref.parents);
    expect(Buffer.from(t.positions.buffer).equals(Buffer.from(ref.positions.buffer))).toBe(true);
    const four = new Float32Array(T * J * 4);
    for (let k = 0; k < T * J; k++) {
      four.set(ref.positions.subarray(3 * k, 3 * k + 3), 4 * k);
      four[4 * k + 3] = k % 7 === 0 ? 0 : 0.5;
    }
    const t4 = importNpy(write('c4.npy', four, [T, J, 4]), { layout: 'canonical', fps: 30 });
    expect(t4.confidence[0]).toBe(0);
    expect(Number.isNaN(t4.positions[0])).toBe(true);
    expect(t4.confidence[1]).toBe(0.5);
  });

  it('coco17 (image-style y down) maps to Z up with pelvis at mid-hips', () => {
    const data = new Float32Array(T * 17 * 3);
    const src: Record<string, string> = { nose: 'head', left_eye: 'head', right_eye: 'head', left_ear: 'head', right_ear: 'head' };
    for (let f = 0; f < T; f++) {
      COCO17.forEach((n, j) => {
        const p = pos(ref, src[n] ?? n, f);
        // Our frame → camera-style (x right = our Y, y down = −Z, z away = −X).
        data.set([p[1], -p[2], -p[0]], 3 * (f * 17 + j));
      });
    }
    const t = importNpy(write('coco.npy', data, [T, 17, 3]), { layout: 'coco17', fps: 30 });
    for (let f = 0; f < T; f += 20) {
      for (const n of ['left_hip', 'left_knee', 'right_wrist']) expect(dist(pos(t, n, f), pos(ref, n, f)), n).toBeLessThan(1e-5);
      const l = pos(ref, 'left_hip', f), r = pos(ref, 'right_hip', f);
      expect(dist(pos(t, 'pelvis', f), [(l[0] + r[0]) / 2, (l[1] + r[1]) / 2, (l[2] + r[2]) / 2])).toBeLessThan(1e-5);
      expect(pos(t, 'head', f)[2]).toBeGreaterThan(pos(t, 'pelvis', f)[2] + 0.4);
      expect(Number.isNaN(pos(t, 'left_toe', f)[0])).toBe(true);
    }
  });

  it('refuses a wrong layout, shape or confidence with one line naming the file', () => {
    const f21 = write('h.npy', new Float32Array(2 * 21 * 3), [2, 21, 3]);
    const cases: [() => unknown, string, RegExp][] = [
      [() => importNpy(f21, { layout: 'blazepose33' }), f21, /layout blazepose33 needs 33 or 39 joints per frame, the array has 21/],
      [() => importNpy(write('w.npy', new Float32Array(2 * 20 * 3), [2, 20, 3])), path.join(dir, 'w.npy'), /cannot tell the keypoint layout of 20 joints/],
      [() => importNpy(write('s.npy', new Float32Array(2 * 21 * 2), [2, 21, 2])), path.join(dir, 's.npy'), /expected \[frames, joints, 3\]/],
      [() => importNpy(write('c.npy', Float32Array.from({ length: 2 * 21 * 4 }, () => 3), [2, 21, 4])), path.join(dir, 'c.npy'), /confidence 3, outside \[0,1\]/],
      [() => importNpy(write('i.npy', Float32Array.from({ length: 2 * 21 * 3 }, (_, k) => (k === 5 ? Infinity : 0)), [2, 21, 3])), path.join(dir, 'i.npy'), /infinite value/],
    ];
    for (const [fn, file, re] of cases) {
      let err: unknown;
      try { fn(); } catch (e) { err = e; }
      expect(err).toBeInstanceOf(UserError);
      expect((err as Error).message.startsWith(`${file}: `)).toBe(true);
      expect((err as Error).message).toMatch(re);
    }
  });
});
