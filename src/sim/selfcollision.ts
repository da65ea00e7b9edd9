/**
 * Self-collision of a reference motion, kinematically: every body is a kinematic Rapier body placed at the
 * motion's pose each frame; Rapier's broad and narrow phases report contacts, and the penetration depth is
 * the deepest contact of each pair. Bodies joined by a joint never count; pairs that already overlap in the
 * robot's neutral pose (all joints at 0, clamped into their limits) are excluded and reported.
 */
import RAPIER from '@dimforge/rapier3d-compat';
import type { RobotGeometry } from './geometry.ts';
import { colliderDesc, shapeRotation } from './world.ts';
import { matToQuat } from '../robot/kinematics.ts';

const IDENTITY = Float64Array.from([1, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0]);

export interface PairContact { a: number; b: number; depth: number }

export class SelfCollisionWorld {
  readonly world: RAPIER.World;
  readonly geom: RobotGeometry;
  readonly bodies: RAPIER.RigidBody[] = [];
  readonly colliders: RAPIER.Collider[] = [];
  private readonly bodyOfCollider = new Map<number, number>();
  private readonly skip = new Set<number>();
  /** Body pairs excluded because they overlap in the neutral pose. */
  excluded: [number, number][] = [];

  constructor(geom: RobotGeometry) {
    this.geom = geom;
    this.world = new RAPIER.World({ x: 0, y: 0, z: 0 });
    const nb = geom.bodies.length;
    for (let b = 0; b < nb; b++) {
      const body = this.world.createRigidBody(RAPIER.RigidBodyDesc.kinematicPositionBased());
      this.bodies.push(body);
      for (const s of geom.bodies[b].shapes) {
        const cd = colliderDesc(s, IDENTITY);
        if (!cd) continue;
        if (s.kind !== 'hull') {
          cd.setTranslation(s.pose[9], s.pose[10], s.pose[11]);
          cd.setRotation(shapeRotation(s, s.pose));
        }
        cd.setActiveCollisionTypes(RAPIER.ActiveCollisionTypes.ALL);
        const c = this.world.createCollider(cd, body);
        this.colliders.push(c);
        this.bodyOfCollider.set(c.handle, b);
      }
    }
    for (let b = 1; b < nb; b++) this.skip.add(this.key(b, geom.bodies[b].parent));
    // Neutral pose overlaps.
    const kin = geom.kin;
    const q = new Float64Array(kin.nq);
    for (let d = 0; d < kin.nq; d++) q[d] = Math.min(Math.max(0, kin.lower[d]), kin.upper[d]);
    kin.fk(q);
    this.place(kin.pose, 0);
    for (const c of this.contacts(0.001)) {
      this.excluded.push([c.a, c.b]);
      this.skip.add(this.key(c.a, c.b));
    }
  }

  private key(a: number, b: number): number {
    return a < b ? a * 4096 + b : b * 4096 + a;
  }

  /** Place every body from link poses (12 per kinematics link, starting at offset). */
  private readonly tr = { x: 0, y: 0, z: 0 };

  place(pose: Float64Array, offset: number): void {
    const tr = this.tr;
    for (let b = 0; b < this.bodies.length; b++) {
      const o = offset + 12 * this.geom.bodies[b].top;
      tr.x = pose[o + 9]; tr.y = pose[o + 10]; tr.z = pose[o + 11];
      this.bodies[b].setTranslation(tr, false);
      this.bodies[b].setRotation(rotQuat(pose, o), false);
    }
    this.world.step();
  }

  /** Pairs (non-adjacent, not excluded) penetrating deeper than minDepth at the current placement. */
  contacts(minDepth: number): PairContact[] {
    const best = new Map<number, number>();
    const w = this.world;
    for (const c of this.colliders) {
      const a = this.bodyOfCollider.get(c.handle)!;
      w.contactPairsWith(c, (c2) => {
        const b = this.bodyOfCollider.get(c2.handle);
        if (b === undefined || b === a || b < a) return;
        const k = this.key(a, b);
        if (this.skip.has(k)) return;
        w.contactPair(c, c2, (m) => {
          for (let i = 0; i < m.numContacts(); i++) {
            const d = -m.contactDist(i);
            if (d > (best.get(k) ?? 0)) best.set(k, d);
          }
        });
      });
    }
    const out: PairContact[] = [];
    for (const [k, d] of best) if (d > minDepth) out.push({ a: Math.floor(k / 4096), b: k % 4096, depth: d });
    return out.sort((x, y) => y.depth - x.depth || x.a - y.a || x.b - y.b);
  }

  free(): void {
    this.world.free();
  }
}

const quatScratch = { w: 1, x: 0, y: 0, z: 0 };

const quatTmp = new Float64Array(4);

/** Rotation of a pose into a shared scratch quaternion (Rapier copies it on set). */
function rotQuat(m: Float64Array, o: number): { w: number; x: number; y: number; z: number } {
  matToQuat(m, o, quatTmp);
  quatScratch.w = quatTmp[0]; quatScratch.x = quatTmp[1]; quatScratch.y = quatTmp[2]; quatScratch.z = quatTmp[3];
  return quatScratch;
}
