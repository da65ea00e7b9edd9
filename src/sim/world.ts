/**
 * A Rapier world for a URDF robot, built in a given initial configuration.
 *
 * Bodies: one rigid body per group of links joined by fixed joints (a fixed joint adds nothing to
 * simulate), with the URDF's combined mass, centre of mass and inertia (diagonalised: principal moments
 * and their frame). Colliders from the collision geometry (see geometry.ts); colliders carry no mass.
 *
 * Body frames are aligned with the world in the initial configuration (origin at the top link's origin).
 * Rapier measures a joint's coordinate from the pose the bodies have when the joint is created only for
 * impulse joints; multibody joints start at coordinate zero whatever the bodies' poses. Building every body
 * world-aligned at the initial pose makes both joint kinds start exactly in that pose: the joint axis is
 * then the same vector in both bodies' frames, and Rapier's zero is the motion's first frame.
 *
 * This is the Rapier engine of the plant interface (plant.ts, plant-rapier.ts), which the validator's closed
 * loop uses with `sim.joints: multibody`. The validator's default closed loop does not use Rapier: it runs on
 * the project's own reduced-coordinate dynamics (articulated.ts), 5-10x faster per step with exact joints
 * (configs/validation.yaml `sim.joints`; docs/validate.md says why).
 *
 * Joint kinds, measured (benchmarks/validate/RESULTS.md; 2 s squat, PD tracking, unassisted):
 * - 'multibody': reduced coordinates; the JS bindings give them no motors and no limits, so the plant
 *   computes joint PD torques itself and applies them as equal and opposite body torques, capped at the URDF
 *   effort. Max anchor separation 0.001-0.052 mm on H1, G1 and T1 at dt 1-5 ms; all three stayed up at
 *   dt <= 2 ms. With actuator armature (geometry.ts) all three also track at 5 ms, but on a real retargeted clip
 *   (T1 digging) the anchors then separated by 1.4 mm (0.011 mm at 2 ms), so use 2 ms.
 * - 'impulse': Rapier's PD motors (configureMotor, max force = URDF effort), solved as constraints; 2-10x more
 *   steps/s, but G1 (0.09/0.21 kg waist links) and T1 (0.07 kg ankle links) separated by 0.4-71 mm and fell at
 *   every setting tried. Kept here for measurement only; the validator does not offer it.
 *
 * Contacts: bodies joined by a joint do not collide (contactsEnabled = false); pairs that already overlap
 * in the robot's neutral pose are filtered too (hooks), every other pair collides. Ground: a box whose top
 * face is z = 0, with friction.
 */
import RAPIER from '@dimforge/rapier3d-compat';
import { Kinematics, quatToTransform, type BasePose } from '../robot/kinematics.ts';
import type { RobotGeometry, ShapeSpec } from './geometry.ts';
import { compose, rotToQuat, symEig3 } from './math.ts';
import { rotateTensor } from '../math/rotation.ts';

export type JointModel = 'multibody' | 'impulse';

export interface WorldOptions {
  dt: number;
  solverIterations: number;
  joints: JointModel;
  fixedBase: boolean;
  friction: number;
  selfCollision: boolean;
  gravity: number;
  /** Body index pairs (i < j) never to collide (besides joint-connected ones). */
  excludedPairs?: [number, number][];
  /** Impulse joints only: motor gains per dof (stiffness, damping). */
  motorGains?: { kp: Float64Array; kd: Float64Array };
}

export interface SimJoint {
  /** Child body index; parent is bodies[child].parent. */
  child: number;
  parent: number;
  dof: number;
  /** Joint axis, in the world at the initial pose (= in both bodies' frames). */
  axis: [number, number, number];
  /** Joint anchor in the parent and child body frames. */
  anchor1: [number, number, number];
  anchor2: [number, number, number];
  /** Joint value at the initial pose (the motion's first frame). */
  q0: number;
  prismatic: boolean;
  /** This joint's value = mult * q[dof] + offset (mimic joints follow their leader; 1 and 0 otherwise). */
  mult: number;
  offset: number;
  impulse?: RAPIER.RevoluteImpulseJoint | RAPIER.PrismaticImpulseJoint;
}

export interface SimWorld {
  world: RAPIER.World;
  geometry: RobotGeometry;
  bodies: RAPIER.RigidBody[];
  joints: SimJoint[];
  /** Body frame (world-aligned at the initial pose) → top link frame: the top link's initial rotation. */
  bodyToLink: Float64Array; // 12 per body
  totalMass: number;
  hooks: RAPIER.PhysicsHooks | undefined;
  ground: RAPIER.Collider;
  collidersOfBody: RAPIER.Collider[][];
  opts: WorldOptions;
  free(): void;
}

/** Build the world with the robot at joint positions q0 (kinematics dof order) and root pose base0. */
export function buildWorld(geom: RobotGeometry, q0: ArrayLike<number>, base0: BasePose, opts: WorldOptions): SimWorld {
  const kin: Kinematics = geom.kin;
  const world = new RAPIER.World({ x: 0, y: 0, z: -opts.gravity });
  world.timestep = opts.dt;
  world.numSolverIterations = opts.solverIterations;
  kin.fk(q0, base0);
  const P = kin.pose;
  const nb = geom.bodies.length;
  const bodies: RAPIER.RigidBody[] = [];
  const bodyToLink = new Float64Array(12 * nb);
  const collidersOfBody: RAPIER.Collider[][] = [];
  let totalMass = 0;
  const shapePose = new Float64Array(12);
  const R0 = new Float64Array(12);
  for (let b = 0; b < nb; b++) {
    const spec = geom.bodies[b];
    const o = 12 * spec.top;
    // Body frame = world-aligned at the initial pose, origin at the top link origin.
    for (let k = 0; k < 9; k++) R0[k] = P[o + k];
    R0[9] = 0; R0[10] = 0; R0[11] = 0;
    bodyToLink.set(R0, 12 * b);
    const desc = (b === 0 && opts.fixedBase ? RAPIER.RigidBodyDesc.fixed() : RAPIER.RigidBodyDesc.dynamic())
      .setTranslation(P[o + 9], P[o + 10], P[o + 11])
      .setCanSleep(false);
    // Mass properties rotated into the body frame, then diagonalised.
    const com = rot(R0, spec.com);
    const I = rotateTensor(R0, spec.inertia);
    const { values, vectors } = symEig3(I);
    const minI = 1e-9;
    const principal = { x: Math.max(values[0], minI), y: Math.max(values[1], minI), z: Math.max(values[2], minI) };
    desc.setAdditionalMassProperties(spec.mass, { x: com[0], y: com[1], z: com[2] }, principal, rotToQuat(vectors, 0));
    const body = world.createRigidBody(desc);
    bodies.push(body);
    totalMass += spec.mass;
    const cols: RAPIER.Collider[] = [];
    for (const s of spec.shapes) {
      compose(R0, 0, s.pose, 0, shapePose, 0);
      const cd = colliderDesc(s, R0);
      if (!cd) continue;
      if (s.kind !== 'hull') {
        cd.setTranslation(shapePose[9], shapePose[10], shapePose[11]);
        cd.setRotation(shapeRotation(s, shapePose));
      }
      cd.setDensity(0).setFriction(opts.friction);
      if (!opts.selfCollision) cd.setCollisionGroups(0x0002_0001); // member of 2, collides with 1 (ground)
      if (opts.excludedPairs?.length) cd.setActiveHooks(RAPIER.ActiveHooks.FILTER_CONTACT_PAIRS);
      cols.push(world.createCollider(cd, body));
    }
    collidersOfBody.push(cols);
  }
  // Ground.
  const groundBody = world.createRigidBody(RAPIER.RigidBodyDesc.fixed().setTranslation(0, 0, -0.5));
  const ground = world.createCollider(RAPIER.ColliderDesc.cuboid(100, 100, 0.5).setFriction(opts.friction).setCollisionGroups(0x0001_ffff), groundBody);

  // Joints.
  const joints: SimJoint[] = [];
  for (let b = 1; b < nb; b++) {
    const spec = geom.bodies[b];
    const pb = spec.parent;
    const top = spec.top;
    const j = kin.linkJoint[top]!;
    const dof = kin.linkDof(top);
    const o = 12 * top;
    // Joint frame = child link frame: axis in world = R_top * axis.
    const a = j.axis;
    const axis: [number, number, number] = [
      P[o] * a[0] + P[o + 1] * a[1] + P[o + 2] * a[2],
      P[o + 3] * a[0] + P[o + 4] * a[1] + P[o + 5] * a[2],
      P[o + 6] * a[0] + P[o + 7] * a[1] + P[o + 8] * a[2],
    ];
    const pt = bodies[pb].translation();
    const prismatic = j.type === 'prismatic';
    // Anchor: the child link origin (on the joint axis). For a prismatic joint the origin moves with q:
    // anchor at the parent-side position (q = 0) is the same axis line, so either works for the constraint.
    const anchor1: [number, number, number] = [P[o + 9] - pt.x, P[o + 10] - pt.y, P[o + 11] - pt.z];
    const anchor2: [number, number, number] = [0, 0, 0];
    const v = (x: number[]) => ({ x: x[0], y: x[1], z: x[2] });
    const data = prismatic ? RAPIER.JointData.prismatic(v(anchor1), v(anchor2), v(axis)) : RAPIER.JointData.revolute(v(anchor1), v(anchor2), v(axis));
    const unit = new Float64Array(kin.nq);
    const offset = kin.jointValue(unit, top);
    unit[dof] = 1;
    const mult = kin.jointValue(unit, top) - offset;
    const sj: SimJoint = { child: b, parent: pb, dof, axis, anchor1, anchor2, q0: kin.jointValue(q0, top), prismatic, mult, offset };
    if (opts.joints === 'multibody') {
      const mj = world.createMultibodyJoint(data, bodies[pb], bodies[b], true);
      mj.setContactsEnabled(false);
    } else {
      const ij = world.createImpulseJoint(data, bodies[pb], bodies[b], true) as RAPIER.RevoluteImpulseJoint;
      ij.setContactsEnabled(false);
      ij.configureMotorModel(RAPIER.MotorModel.ForceBased);
      if (Number.isFinite(kin.effortLimit[dof])) ij.setMotorMaxForce(kin.effortLimit[dof]);
      const kp = opts.motorGains?.kp[dof] ?? 0, kd = opts.motorGains?.kd[dof] ?? 0;
      ij.configureMotorPosition(0, kp, kd);
      sj.impulse = ij;
    }
    joints.push(sj);
  }

  let hooks: RAPIER.PhysicsHooks | undefined;
  if (opts.excludedPairs?.length) {
    const excluded = new Set<number>();
    const bodyOfHandle = new Map<number, number>();
    bodies.forEach((bd, i) => bodyOfHandle.set(bd.handle, i));
    for (const [i, k] of opts.excludedPairs) { excluded.add(i * 4096 + k); excluded.add(k * 4096 + i); }
    hooks = {
      filterContactPair: (_c1: number, _c2: number, b1: number, b2: number) => {
        const i = bodyOfHandle.get(b1), k = bodyOfHandle.get(b2);
        if (i !== undefined && k !== undefined && excluded.has(i * 4096 + k)) return null;
        return RAPIER.SolverFlags.COMPUTE_IMPULSE;
      },
      filterIntersectionPair: () => true,
    };
  }
  return {
    world, geometry: geom, bodies, joints, bodyToLink, totalMass, hooks, ground, collidersOfBody, opts,
    free: () => world.free(),
  };
}

function rot(R: ArrayLike<number>, v: ArrayLike<number>): [number, number, number] {
  return [R[0] * v[0] + R[1] * v[1] + R[2] * v[2], R[3] * v[0] + R[4] * v[1] + R[5] * v[2], R[6] * v[0] + R[7] * v[1] + R[8] * v[2]];
}

// URDF cylinders and capsules lie along their local Z; Rapier's along Y: rotate +90 deg about X (Y -> Z).
const Y_TO_Z = Float64Array.from([1, 0, 0, 0, 0, -1, 0, 1, 0, 0, 0, 0]);
const tmpRot = new Float64Array(12);

export function shapeRotation(s: ShapeSpec, pose: Float64Array): { w: number; x: number; y: number; z: number } {
  if (s.kind === 'cylinder' || s.kind === 'capsule') {
    compose(pose, 0, Y_TO_Z, 0, tmpRot, 0);
    return rotToQuat(tmpRot, 0);
  }
  return rotToQuat(pose, 0);
}

export function colliderDesc(s: ShapeSpec, R0: Float64Array): RAPIER.ColliderDesc | null {
  switch (s.kind) {
    case 'cuboid': return RAPIER.ColliderDesc.cuboid(s.half[0], s.half[1], s.half[2]);
    case 'ball': return RAPIER.ColliderDesc.ball(s.radius);
    case 'cylinder': return RAPIER.ColliderDesc.cylinder(s.halfHeight, s.radius);
    case 'capsule': return RAPIER.ColliderDesc.capsule(s.halfHeight, s.radius);
    case 'hull': {
      const p = s.points;
      const out = new Float32Array(p.length);
      for (let i = 0; i < p.length; i += 3) {
        out[i] = R0[0] * p[i] + R0[1] * p[i + 1] + R0[2] * p[i + 2];
        out[i + 1] = R0[3] * p[i] + R0[4] * p[i + 1] + R0[5] * p[i + 2];
        out[i + 2] = R0[6] * p[i] + R0[7] * p[i + 1] + R0[8] * p[i + 2];
      }
      return RAPIER.ColliderDesc.convexHull(out);
    }
  }
}

export { quatToTransform };
