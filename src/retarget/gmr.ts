/**
 * A GMR-style motion file for trackers that read GMR's output fields, as `.npz` (numpy opens it alone):
 *
 *   fps             f8  []         frames per second
 *   root_pos        f4  [T, 3]     root link position, metres, world, Z up
 *   root_rot        f4  [T, 4]     root link orientation, quaternion in (x, y, z, w) order (GMR's order)
 *   dof_pos         f4  [T, n]     joint positions, radians, in meta.json `joint_names` order
 *   local_body_pos  f4  [T, B, 3]  each body's origin in the root link's frame
 *   timestamps      f8  [T]
 *   meta.json       {"kind": "robot-motion-gmr", "fps", "joint_names", "link_body_list", "root_link",
 *                    "quaternion_order": "xyzw", "robot", "quality", ...}
 */
import { Kinematics } from '../robot/kinematics.ts';
import type { UrdfRobot } from '../robot/urdf.ts';
import { nd, writeNpz } from '../io/npz.ts';
import { UserError } from '../errors.ts';
import { motionFrames, validateMotion, type RobotMotion } from '../robot/motion.ts';

export function saveMotionGmr(file: string, m: RobotMotion, robot: UrdfRobot): void {
  validateMotion(m);
  const kin = new Kinematics(robot);
  const T = motionFrames(m);
  const n = m.jointNames.length;
  if (n !== kin.nq || m.jointNames.some((j, i) => j !== kin.dofNames[i])) {
    throw new UserError(`motion joints do not match robot ${robot.name}'s actuated joints`, file);
  }
  const rootRot = new Float32Array(T * 4);
  for (let t = 0; t < T; t++) {
    rootRot[4 * t] = m.rootQuat[4 * t + 1];
    rootRot[4 * t + 1] = m.rootQuat[4 * t + 2];
    rootRot[4 * t + 2] = m.rootQuat[4 * t + 3];
    rootRot[4 * t + 3] = m.rootQuat[4 * t];
  }
  // Bodies: the root and every link moved by an actuated joint.
  const bodies: number[] = [0];
  for (let l = 1; l < kin.nLinks; l++) if (kin.linkDof(l) >= 0) bodies.push(l);
  const B = bodies.length;
  const local = new Float32Array(T * B * 3);
  const q = new Float64Array(n);
  for (let t = 0; t < T; t++) {
    for (let i = 0; i < n; i++) q[i] = m.q[t * n + i];
    kin.fk(q); // root frame
    bodies.forEach((l, b) => {
      const o = 12 * l;
      local[3 * (t * B + b)] = kin.pose[o + 9];
      local[3 * (t * B + b) + 1] = kin.pose[o + 10];
      local[3 * (t * B + b) + 2] = kin.pose[o + 11];
    });
  }
  writeNpz(file, {
    arrays: {
      fps: nd(Float64Array.of(m.fps), []),
      root_pos: nd(m.rootPos, [T, 3]),
      root_rot: nd(rootRot, [T, 4]),
      dof_pos: nd(m.q, [T, n]),
      local_body_pos: nd(local, [T, B, 3]),
      timestamps: nd(m.timestamps, [T]),
    },
    meta: {
      kind: 'robot-motion-gmr',
      fps: m.fps,
      joint_names: m.jointNames,
      link_body_list: bodies.map((l) => kin.linkNames[l]),
      root_link: m.rootLink,
      quaternion_order: 'xyzw',
      robot: m.robot,
      mapping: m.mapping ?? {},
      source: m.source ?? {},
      ...(m.quality ? { quality: m.quality } : {}),
    },
  });
}
