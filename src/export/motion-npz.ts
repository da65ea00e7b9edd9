/**
 * Per-clip motion files in the style humanoid motion-tracking trainers read (GMR / PHC-like): one `.npz`
 * per episode that numpy opens alone, plus a `meta.json` listing the clips.
 *
 *   episode_000000.npz
 *     fps        f8 []       frames per second
 *     root_pos   f4 [T,3]    root link position, metres, world frame, Z up
 *     root_rot   f4 [T,4]    root link orientation, quaternion in (x, y, z, w) order (scipy's order, as GMR)
 *     dof_pos    f4 [T,n]    joint positions in joint_names order
 *     timestamps f8 [T]      frame_index / fps
 *     hand_dof_pos f4 [T,h]  with a separate hand model: its joints (hand_joint_names), nearest hand frame in time
 *     meta.json             {"kind": "reel2real-motion-clip", "fps", "joint_names", "root_rot_order": "xyzw",
 *                            "root_link", "robot", "episode_id", "task", ...}
 */
import * as path from 'node:path';
import * as fs from 'node:fs';
import { encodeNpz, nd } from '../io/npz.ts';
import { framesOf, type DatasetInput } from './lerobot.ts';

export function writeMotionNpz(dir: string, input: DatasetInput): string[] {
  const written: string[] = [];
  const clips: unknown[] = [];
  let index0 = 0;
  input.episodes.forEach((e, i) => {
    const ep = input.load(i);
    const m = ep.motion!;
    const T = m.timestamps.length;
    const n = m.jointNames.length;
    const rootRot = new Float32Array(T * 4);
    for (let t = 0; t < T; t++) {
      rootRot[t * 4] = m.rootQuat[t * 4 + 1];
      rootRot[t * 4 + 1] = m.rootQuat[t * 4 + 2];
      rootRot[t * 4 + 2] = m.rootQuat[t * 4 + 3];
      rootRot[t * 4 + 3] = m.rootQuat[t * 4];
    }
    const timestamps = new Float64Array(T);
    for (let t = 0; t < T; t++) timestamps[t] = t / m.fps;
    const hand: Record<string, ReturnType<typeof nd>> = {};
    if (input.layout.handJoints) {
      // The hand's joints as exported in observation.state (sampled at the nearest hand frame in time).
      const nb = input.layout.bodyJoints;
      const nh = input.layout.handJoints.length;
      const state = framesOf(input, i, index0).columns['observation.state'] as Float32Array;
      const hq = new Float32Array(T * nh);
      for (let t = 0; t < T; t++) hq.set(state.subarray(t * (nb + nh) + nb, t * (nb + nh) + nb + nh), t * nh);
      hand.hand_dof_pos = nd(hq, [T, nh]);
    }
    const name = `episode_${String(i).padStart(6, '0')}.npz`;
    const task = input.tasks[input.taskOf[i]];
    const meta = {
      kind: 'reel2real-motion-clip',
      fps: m.fps,
      joint_names: m.jointNames,
      root_rot_order: 'xyzw',
      root_link: m.rootLink,
      robot: m.robot,
      episode_id: e.id,
      task,
      feasible: e.entry.feasible ?? null,
      ...(input.layout.handJoints ? { hand_joint_names: input.layout.handJoints, hand_robot: ep.handMotion!.robot } : {}),
    };
    fs.writeFileSync(path.join(dir, name), encodeNpz({
      arrays: {
        fps: nd(Float64Array.from([m.fps]), []),
        root_pos: nd(Float32Array.from(m.rootPos), [T, 3]),
        root_rot: nd(rootRot, [T, 4]),
        dof_pos: nd(Float32Array.from(m.q), [T, n]),
        timestamps: nd(timestamps, [T]),
        ...hand,
      },
      meta,
    }));
    written.push(name);
    clips.push({ file: name, episode_index: i, id: e.id, frames: T, task, contributor: e.provenance.contributor, consent: e.provenance.consent.id });
    index0 += T;
  });
  fs.writeFileSync(path.join(dir, 'meta.json'), JSON.stringify({
    kind: 'reel2real-motion-npz',
    robot: input.layout.robot,
    fps: input.layout.fps,
    joint_names: input.layout.jointNames.slice(0, input.layout.bodyJoints),
    ...(input.layout.handJoints ? { hand_joint_names: input.layout.handJoints } : {}),
    root_rot_order: 'xyzw',
    arrays: { fps: 'f8 []', root_pos: 'f4 [T,3] metres, Z up', root_rot: 'f4 [T,4] quaternion x,y,z,w', dof_pos: 'f4 [T,n] joint_names order', timestamps: 'f8 [T] seconds' },
    clips,
  }, null, 1) + '\n');
  return written;
}
