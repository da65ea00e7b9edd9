/** Library calls behind `reel2real robot inspect` and `reel2real robot fk`. */
import * as fs from 'node:fs';
import { UserError, wrapFileError } from '../errors.ts';
import { Kinematics } from './kinematics.ts';
import { totalMass, type UrdfRobot } from './urdf.ts';

export interface RobotSummary {
  name: string;
  root_link: string;
  dof: number;
  joints: {
    name: string; type: string; parent: string; child: string; axis: number[];
    lower: number | null; upper: number | null; velocity: number | null; effort: number | null;
    mimic: { joint: string; multiplier: number; offset: number } | null;
  }[];
  links: { name: string; mass: number }[];
  total_mass: number;
}

const finite = (v: number | undefined) => (v === undefined || !Number.isFinite(v) ? null : v);

export function inspectRobot(robot: UrdfRobot): RobotSummary {
  const kin = new Kinematics(robot);
  return {
    name: robot.name,
    root_link: robot.rootLink,
    dof: kin.nq,
    joints: robot.joints.map((j) => ({
      name: j.name, type: j.type, parent: j.parent, child: j.child, axis: [...j.axis],
      lower: finite(j.limit?.lower), upper: finite(j.limit?.upper), velocity: finite(j.limit?.velocity), effort: finite(j.limit?.effort),
      mimic: j.mimic ? { ...j.mimic } : null,
    })),
    links: robot.links.map((l) => ({ name: l.name, mass: l.inertial?.mass ?? 0 })),
    total_mass: totalMass(robot),
  };
}

export type LinkPoses = Record<string, { position: [number, number, number]; quaternion: [number, number, number, number] }>;

/** Every link's pose in the root link's frame, for each configuration ({joint: value}; missing joints 0). */
export function forwardKinematics(robot: UrdfRobot, configs: Record<string, number>[], file = 'q'): LinkPoses[] {
  const kin = new Kinematics(robot);
  const known = new Set(robot.joints.map((j) => j.name));
  const mimics = new Set(robot.joints.filter((j) => j.mimic).map((j) => j.name));
  const q = new Float64Array(kin.nq);
  const quat = new Float64Array(4);
  return configs.map((cfg, i) => {
    for (const [name, v] of Object.entries(cfg)) {
      if (!known.has(name)) throw new UserError(`configuration ${i} names joint "${name}", which ${robot.name} does not have`, file);
      if (mimics.has(name)) throw new UserError(`configuration ${i} sets mimic joint "${name}"; mimic joints follow their leader and are not given`, file);
      if (typeof v !== 'number' || !Number.isFinite(v)) throw new UserError(`configuration ${i}: joint "${name}" must be a finite number`, file);
    }
    kin.qFromNames(cfg, q);
    kin.fk(q);
    const out: LinkPoses = {};
    for (let l = 0; l < kin.nLinks; l++) {
      const o = 12 * l;
      kin.linkQuat(l, quat);
      out[kin.linkNames[l]] = {
        position: [kin.pose[o + 9], kin.pose[o + 10], kin.pose[o + 11]],
        quaternion: [quat[0], quat[1], quat[2], quat[3]],
      };
    }
    return out;
  });
}

/** Read q.json: one {joint: value} object or a list of them. */
export function readConfigs(file: string): Record<string, number>[] {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    wrapFileError(err, file);
  }
  if (!text.trim()) throw new UserError('empty file', file);
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (err) {
    throw new UserError(`not valid JSON (${(err as Error).message.split('\n')[0]})`, file);
  }
  const list = Array.isArray(data) ? data : [data];
  list.forEach((c, i) => {
    if (!c || typeof c !== 'object' || Array.isArray(c)) throw new UserError(`entry ${i} must be an object {joint: value}`, file);
  });
  return list as Record<string, number>[];
}
