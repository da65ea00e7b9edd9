import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { bvhPositions, importBvh, parseBvh } from '../../src/pose/bvh.ts';
import { BODY_JOINTS } from '../../src/pose/skeleton.ts';
import { loadTrack, saveTrack, validateTrack } from '../../src/pose/track.ts';
import { poseInfo } from '../../src/pose/info.ts';
import { UserError } from '../../src/errors.ts';
import { describeShared, shared } from '../helpers/shared.ts';
import { boneCv, dist, pos, tmpDir } from './util.ts';

const MB_WALK = 'motions/cmu_small_gods_game/cmu_104_02_neutral_male_walk.bvh';
const MAX_WALK = 'motions/cmu_bvh11/cmu_131_01_start_walk_stop.bvh';
const MAX_WALK_M = 'motions/cmu_bvh11/cmu_131_01_start_walk_stop_scaled_metres.bvh';
const JUMPS = 'motions/cmu_01_01_forward_jumps_turn_around.bvh';

const BONES = BODY_JOINTS.filter((j) => j !== 'pelvis');

describe('BVH parsing and forward kinematics (synthetic files)', () => {
  const chain = (rootCh: string, childCh: string, frame: string) => [
    'HIERARCHY', 'ROOT A', '{', '  OFFSET 0 0 0', `  CHANNELS ${rootCh.split(' ').length} ${rootCh}`,
    '  JOINT B', '  {', '    OFFSET 0 1 0', `    CHANNELS ${childCh.split(' ').length} ${childCh}`,
    '    End Site', '    {', '      OFFSET 0 1 0', '    }', '  }', '}',
    'MOTION', 'Frames: 1', 'Frame Time: 0.1', frame, '',
  ].join('\r\n');

  it('applies rotation channels in file order (v\' = R1 R2 R3 v)', () => {
    // Root rotates Z 90 then X 90 (as listed): R = Rz(90) Rx(90). B's offset (0,1,0) → Rz Rx (0,1,0) = (0,0,1).
    const a = parseBvh(chain('Xposition Yposition Zposition Zrotation Xrotation', 'Zrotation', '1 2 3 90 90 0'), 'a.bvh');
    const pa = bvhPositions(a);
    expect(Array.from(pa.slice(3, 6)).map((v) => +v.toFixed(9))).toEqual([1, 2, 4]);
    // Listed the other way: R = Rx(90) Rz(90); (0,1,0) → Rz → (−1,0,0) → Rx → (−1,0,0).
    const b = parseBvh(chain('Xposition Yposition Zposition Xrotation Zrotation', 'Zrotation', '1 2 3 90 90 0'), 'b.bvh');
    const pb = bvhPositions(b);
    expect(Array.from(pb.slice(3, 6)).map((v) => +v.toFixed(9))).toEqual([0, 2, 3]);
  });

  it('chains rotations down the tree and places End Sites with the parent rotation', () => {
    // Root Z 90: B at (−1,0,0); B Z 90 more: End Site offset (0,1,0) turned 180° → (0,−1,0) from B.
    const a = parseBvh(chain('Xposition Yposition Zposition Zrotation', 'Zrotation', '0 0 0 90 90'), 'a.bvh');
    const p = bvhPositions(a);
    expect(Array.from(p.slice(3, 9)).map((v) => +v.toFixed(9) + 0)).toEqual([-1, 0, 0, -1, -1, 0]);
  });

  it('uses position channels of a non-root joint as its local translation', () => {
    const a = parseBvh(chain('Zrotation', 'Xposition Yposition Zposition', '0 0.5 2 0'), 'a.bvh');
    const p = bvhPositions(a);
    expect(Array.from(p.slice(3, 6))).toEqual([0.5, 2, 0]);
  });

  it('rejects malformed and truncated files with one line naming the file', () => {
    const good = chain('Zrotation', 'Zrotation', '10 20');
    const cases: [string, RegExp][] = [
      [good.replace('Frames: 1', 'Frames: 2'), /truncated: header says 2 frames/],
      [good.replace('10 20', '10 nan'), /not a finite number \('nan'\)/],
      [good.replace('10 20', '10 inf'), /not a finite number/],
      [good.replace('CHANNELS 1 Zrotation\r\n    End', 'CHANNELS 1 Qrotation\r\n    End'), /unknown channel 'Qrotation'/],
      [good.slice(0, good.indexOf('MOTION')), /truncated/],
      ['hello world', /not a BVH file/],
      [good.replace('10 20', '10 20 30'), /more motion values/],
    ];
    for (const [text, re] of cases) {
      let err: unknown;
      try { parseBvh(text, 'x.bvh'); } catch (e) { err = e; }
      expect(err).toBeInstanceOf(UserError);
      expect((err as Error).message).toMatch(/^x\.bvh: /);
      expect((err as Error).message).toMatch(re);
      expect((err as Error).message).not.toContain('\n');
    }
  });
});

describeShared('BVH import: CMU MotionBuilder dialect (neutral walk)', [MB_WALK], () => {
  const file = shared(MB_WALK);
  const track = importBvh(file);
  const T = track.timestamps.length;

  it('drops the synthetic T-pose frame and records it', () => {
    const frames = Number(/Frames:\s*(\d+)/.exec(fs.readFileSync(file, 'utf8'))![1]);
    expect(T).toBe(frames - 1);
    expect(track.source.t_pose_frame).toBe('dropped');
    const kept = importBvh(file, { keepTPose: true });
    expect(kept.timestamps.length).toBe(frames);
    expect(kept.source.t_pose_frame).toBe('kept');
    // The kept frame 0 is a T-pose: arms out sideways at shoulder height; frame 1 equals the first real frame.
    for (const s of ['left', 'right']) {
      const sh = pos(kept, `${s}_shoulder`, 0), wr = pos(kept, `${s}_wrist`, 0);
      expect(Math.abs(wr[2] - sh[2])).toBeLessThan(0.1);
      expect(Math.abs(wr[1] - sh[1])).toBeGreaterThan(0.4);
    }
    expect(pos(kept, 'left_wrist', 1)).toEqual(pos(track, 'left_wrist', 0));
  });

  it('canonical joints come first, then every BVH joint and End Site', () => {
    expect(track.jointNames.slice(0, BODY_JOINTS.length)).toEqual([...BODY_JOINTS]);
    for (const n of ['Hips', 'LeftShoulder', 'LeftArm', 'LeftFingerBase', 'Head_end', 'LThumb_end']) expect(track.jointNames).toContain(n);
    // MotionBuilder names: LeftShoulder is the clavicle, the upper arm starts at LeftArm.
    expect(track.source.joint_map).toMatchObject({ left_shoulder: 'LeftArm', left_elbow: 'LeftForeArm', left_wrist: 'LeftHand', right_hip: 'RightUpLeg' });
    expect(pos(track, 'left_shoulder', 10)).toEqual(pos(track, 'LeftArm', 10));
    validateTrack(track);
  });

  it('is in metres with a human standing height (detected CMU units)', () => {
    expect(track.source.scale).toBeCloseTo(0.056444, 6);
    const info = poseInfo(track);
    expect(info.standing_height_m).toBeGreaterThan(1.5);
    expect(info.standing_height_m).toBeLessThan(1.95);
  });

  it('has Z up in every frame: head above pelvis above both ankles', () => {
    for (let f = 0; f < T; f++) {
      const head = pos(track, 'head', f)[2], pelvis = pos(track, 'pelvis', f)[2];
      expect(head).toBeGreaterThan(pelvis + 0.3);
      expect(pelvis).toBeGreaterThan(pos(track, 'left_ankle', f)[2] + 0.5);
      expect(pelvis).toBeGreaterThan(pos(track, 'right_ankle', f)[2] + 0.5);
    }
  });

  it('keeps bone lengths constant over the clip (CV < 1%) and walks forward more than 1 m', () => {
    for (const b of BONES) expect(boneCv(track, b).cv, b).toBeLessThan(0.01);
    const a = pos(track, 'pelvis', 0), b = pos(track, 'pelvis', T - 1);
    expect(Math.hypot(b[0] - a[0], b[1] - a[1])).toBeGreaterThan(1);
  });

  it('has the left side on the left (+Y when facing +X)', () => {
    // Facing direction from the pelvis: hips' left-right axis × up. Left hip must be on the left of the right hip.
    for (let f = 0; f < T; f += 50) {
      const l = pos(track, 'left_hip', f), r = pos(track, 'right_hip', f), toe = pos(track, 'left_toe', f), ankle = pos(track, 'left_ankle', f);
      const lr = [l[0] - r[0], l[1] - r[1]];
      const fwd = [toe[0] - ankle[0], toe[1] - ankle[1]];
      // left × forward has positive z component ⇔ forward is clockwise from left (x forward, y left convention)
      expect(fwd[0] * lr[1] - fwd[1] * lr[0]).toBeGreaterThan(0);
    }
  });

  it('round-trips through saveTrack/loadTrack exactly', () => {
    const f = path.join(tmpDir('bvh'), 'walk.npz');
    saveTrack(f, track);
    const back = loadTrack(f);
    expect(back.jointNames).toEqual(track.jointNames);
    expect(back.parents).toEqual(track.parents);
    expect(back.fps).toBe(track.fps);
    expect(back.source).toEqual(track.source);
    expect(Buffer.from(back.positions.buffer).equals(Buffer.from(track.positions.buffer))).toBe(true);
    expect(Array.from(back.timestamps)).toEqual(Array.from(track.timestamps));
  });

  it('maps a skeleton with unrecognised joint names by its tree structure alone', () => {
    const text = fs.readFileSync(file, 'utf8');
    let k = 0;
    const renamed = text.replace(/(ROOT|JOINT) (\S+)/g, (_m, kw) => `${kw} j${k++}`);
    const f = path.join(tmpDir('bvh'), 'anon.bvh');
    fs.writeFileSync(f, renamed);
    const anon = importBvh(f);
    expect(anon.source.mapped_by).toBe('structure');
    for (const j of ['left_shoulder', 'left_elbow', 'left_wrist', 'right_elbow', 'left_hip', 'left_knee', 'left_ankle', 'right_knee', 'right_ankle', 'head']) {
      expect(dist(pos(anon, j, 100), pos(track, j, 100)), j).toBeLessThan(1e-6);
    }
  });
});

describeShared('BVH import: CMU 3dsMax dialect and units', [MAX_WALK, MAX_WALK_M], () => {
  const cmu = importBvh(shared(MAX_WALK));
  const metres = importBvh(shared(MAX_WALK_M));

  it('maps LeftShoulder as the upper arm here and finds no T-pose frame', () => {
    expect(cmu.source.joint_map).toMatchObject({ left_shoulder: 'LeftShoulder', left_elbow: 'LeftElbow', left_wrist: 'LeftWrist', left_hip: 'LeftHip' });
    expect(cmu.source.t_pose_frame).toBe('none');
    expect(cmu.timestamps.length).toBe(994);
    const upper = boneCv(cmu, 'left_elbow').mean;
    expect(upper).toBeGreaterThan(0.2);
    expect(upper).toBeLessThan(0.35);
  });

  it('detects CMU units in one file and metres in the other; both give the same positions', () => {
    expect(cmu.source.scale).toBeCloseTo(0.056444, 6);
    expect(metres.source.scale).toBe(1);
    let worst = 0;
    for (let f = 0; f < 994; f += 7) for (const j of BODY_JOINTS) worst = Math.max(worst, dist(pos(cmu, j, f), pos(metres, j, f)));
    expect(worst).toBeLessThan(0.003);
  });

  it('maps this dialect by tree structure alone too (arms hanging in the rest pose)', () => {
    let k = 0;
    const renamed = fs.readFileSync(shared(MAX_WALK), 'utf8').replace(/(ROOT|JOINT) (\S+)/g, (_m, kw) => `${kw} n${k++}`);
    const f = path.join(tmpDir('bvh'), 'anon.bvh');
    fs.writeFileSync(f, renamed);
    const anon = importBvh(f);
    expect(anon.source.mapped_by).toBe('structure');
    expect(anon.source.scale).toBeCloseTo(0.056444, 6);
    for (const j of ['left_shoulder', 'left_elbow', 'left_wrist', 'right_shoulder', 'right_elbow', 'right_wrist', 'left_hip', 'left_knee', 'left_ankle', 'right_knee', 'right_ankle']) {
      expect(dist(pos(anon, j, 300), pos(cmu, j, 300)), j).toBeLessThan(1e-6);
    }
  });

  it('detects millimetres in a copy of the metres file scaled by 1000', () => {
    const text = fs.readFileSync(shared(MAX_WALK_M), 'utf8');
    let inMotion = false, rowsSeen = 0;
    const mm = text.split('\n').map((line) => {
      if (/^\s*OFFSET/.test(line)) return line.replace(/-?[\d.]+(e-?\d+)?/g, (v) => String(Number(v) * 1000));
      if (line.startsWith('Frame Time')) { inMotion = true; return line; }
      if (inMotion && line.trim()) {
        rowsSeen++;
        const v = line.trim().split(/\s+/);
        return [...v.slice(0, 3).map((x) => String(Number(x) * 1000)), ...v.slice(3)].join(' ');
      }
      return line;
    }).join('\n');
    expect(rowsSeen).toBe(995);
    const f = path.join(tmpDir('bvh'), 'mm.bvh');
    fs.writeFileSync(f, mm);
    const t = importBvh(f);
    expect(t.source.unit).toBe('mm');
    expect(t.source.scale).toBe(0.001);
    for (const j of BODY_JOINTS) expect(dist(pos(t, j, 500), pos(metres, j, 500)), j).toBeLessThan(1e-5);
  });

  it('honours a stated --scale', () => {
    const s = importBvh(shared(MAX_WALK), { scale: 0.01 });
    expect(s.source.scale_source).toBe('stated');
    const a = pos(s, 'head', 5), b = pos(cmu, 'head', 5);
    for (let k = 0; k < 3; k++) expect(a[k]).toBeCloseTo((b[k] * 0.01) / 0.056444, 4);
  });

  it('has a human height and constant bones', () => {
    const h = poseInfo(cmu).standing_height_m!;
    expect(h).toBeGreaterThan(1.5);
    expect(h).toBeLessThan(1.95);
    for (const b of BONES) expect(boneCv(cmu, b).cv, b).toBeLessThan(0.01);
  });
});

describeShared('BVH import: CMU forward jumps', [JUMPS], () => {
  it('imports 2751 frames at 120 fps, Z up, T-pose dropped', () => {
    const t = importBvh(shared(JUMPS));
    expect(t.timestamps.length).toBe(2751);
    expect(t.fps).toBe(120);
    expect(t.timestamps[1]).toBeCloseTo(1 / 120, 12);
    let above = 0;
    for (let f = 0; f < 2751; f++) if (pos(t, 'head', f)[2] > pos(t, 'pelvis', f)[2]) above++;
    expect(above).toBe(2751);
  });
});
