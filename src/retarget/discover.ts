/**
 * Find a humanoid's body parts from its kinematic tree alone: pelvis, torso, head, and per side the
 * shoulder, elbow, hand, hip, knee and foot, plus the sole of each foot. Link names are never needed (a
 * config may still override any choice, see config.ts).
 *
 * Method, at the zero pose (clamped into the joint limits) with the root at the origin:
 * - leaves of the tree near the bottom of the robot are feet; their side is the sign of y (left = +y);
 * - the pelvis is the lowest common ancestor (LCA) of the two feet; the hip is the first moving link on the
 *   pelvis→foot path; the knee is the "bend" joint (axis across the limb) nearest the middle of the leg;
 * - leaves far to the side and not below the pelvis are hands (the LCA of the leaves on a side, so a hand
 *   with fingers resolves to its palm); the torso is the LCA of the two hands; shoulder and elbow as for legs;
 * - the head is the highest point of the torso's other branches, if it is above the shoulders;
 * - the sole: lowest points of the foot's collision shapes.
 * The robot's forward axis is left × up (x for a ROS-convention robot).
 */
import type { Kinematics } from '../robot/kinematics.ts';
import type { Geometry, Origin } from '../robot/urdf.ts';
import { originToTransform } from '../robot/kinematics.ts';

export type Side = 'left' | 'right';

/** A point fixed in a link: world = pose(link) * local. */
export interface LinkPoint {
  link: string;
  local: [number, number, number];
}

export interface LimbMap {
  /** Hip / shoulder. */
  root: LinkPoint;
  /** Knee / elbow. */
  mid: LinkPoint;
  /** Ankle (foot link origin) / wrist (hand link). */
  end: LinkPoint;
  /** Moving links from the limb root to its end (inclusive). */
  chain: string[];
}

export interface FootMap {
  link: string;
  /** Sole contact points in the foot frame. */
  sole: [number, number, number][];
  /** Foot's forward and up axes in its own frame (at the zero pose they are the world's). */
  forward: [number, number, number];
  up: [number, number, number];
  /** Height of the foot link origin above its sole at the zero pose, metres. */
  ankleHeight: number;
}

export interface BodyMap {
  robot: string;
  rootLink: string;
  pelvis: string;
  torso: string;
  head?: LinkPoint;
  legs: Record<Side, LimbMap>;
  arms: Record<Side, LimbMap>;
  feet: Record<Side, FootMap>;
  /** Finger subtrees under each hand (links below the hand link), empty for robots without fingers. */
  fingers: Record<Side, string[]>;
  /** Zero-pose world positions of the keypoints (root at the origin). */
  rest: Record<string, [number, number, number]>;
  /** How each part was found ('tree' or 'config'). */
  how: Record<string, string>;
}

type V3 = [number, number, number];

export interface DiscoverOverrides {
  pelvis?: string;
  torso?: string;
  head?: string;
  left_hip?: string; left_knee?: string; left_foot?: string;
  right_hip?: string; right_knee?: string; right_foot?: string;
  left_shoulder?: string; left_elbow?: string; left_hand?: string;
  right_shoulder?: string; right_elbow?: string; right_hand?: string;
}

/** q at the zero pose, clamped into the limits. */
export function zeroPose(kin: Kinematics): Float64Array {
  const q = new Float64Array(kin.nq);
  for (let i = 0; i < kin.nq; i++) q[i] = Math.min(kin.upper[i], Math.max(kin.lower[i], 0));
  return q;
}

export function discoverBody(kin: Kinematics, over: DiscoverOverrides = {}): BodyMap {
  const n = kin.nLinks;
  const names = kin.linkNames;
  kin.fk(zeroPose(kin));
  const P = kin.pose;
  const pos = (l: number): V3 => [P[12 * l + 9], P[12 * l + 10], P[12 * l + 11]];
  const children: number[][] = Array.from({ length: n }, () => []);
  for (let i = 1; i < n; i++) children[kin.linkParent[i]].push(i);
  const leaves = [...Array(n).keys()].filter((i) => children[i].length === 0);
  const moving = (l: number) => kin.linkDof(l) >= 0;
  const path = (l: number) => {
    const p: number[] = [];
    for (let k = l; k >= 0; k = kin.linkParent[k]) p.unshift(k);
    return p;
  };
  const lca = (ls: number[]) => {
    let common = path(ls[0]);
    for (const l of ls.slice(1)) {
      const p = path(l);
      let k = 0;
      while (k < common.length && k < p.length && common[k] === p[k]) k++;
      common = common.slice(0, k);
    }
    return common[common.length - 1];
  };
  const idx = (name: string, what: string) => {
    if (!kin.hasLink(name)) throw new Error(`config names ${what} link "${name}", which ${kin.robot.name} does not have`);
    return kin.linkIndex(name);
  };
  const how: Record<string, string> = {};
  const deepestMoving = (l: number) => {
    for (let k = l; k >= 0; k = kin.linkParent[k]) if (moving(k)) return k;
    return l;
  };

  let zmin = Infinity, zmax = -Infinity;
  for (let i = 0; i < n; i++) { zmin = Math.min(zmin, P[12 * i + 11]); zmax = Math.max(zmax, P[12 * i + 11]); }
  const H = Math.max(zmax - zmin, 1e-3);

  // ---- feet and legs
  const down = leaves.filter((l) => pos(l)[2] < zmin + 0.2 * H);
  const feet: Record<Side, number> = { left: -1, right: -1 };
  for (const side of ['left', 'right'] as const) {
    const key = `${side}_foot` as const;
    if (over[key]) { feet[side] = idx(over[key]!, key); how[key] = 'config'; continue; }
    const sgn = side === 'left' ? 1 : -1;
    const mine = down.filter((l) => sgn * pos(l)[1] > 0);
    if (!mine.length) throw new Error(`cannot find the ${side} foot of ${kin.robot.name}: no leaf link low on the ${side} side (y ${side === 'left' ? '>' : '<'} 0); give ${key} in a config`);
    feet[side] = deepestMoving(lca(mine));
    how[key] = 'tree';
  }
  const pelvis = over.pelvis ? idx(over.pelvis, 'pelvis') : lca([feet.left, feet.right]);
  how.pelvis = over.pelvis ? 'config' : 'tree';

  const limb = (start: number, end: number, endLocal: V3, side: Side, kind: 'leg' | 'arm'): LimbMap => {
    const full = path(end);
    const from = full.indexOf(start);
    const seg = full.slice(from + 1).filter(moving);
    const rootKey = `${side}_${kind === 'leg' ? 'hip' : 'shoulder'}` as keyof DiscoverOverrides;
    const midKey = `${side}_${kind === 'leg' ? 'knee' : 'elbow'}` as keyof DiscoverOverrides;
    kin.fk(zeroPose(kin));
    const b: V3 = [0, 0, 0];
    kin.pointWorld(end, endLocal, b as unknown as Float64Array);
    // Path length along the chain's link origins, from the first moving link to the end point.
    const cum: number[] = [0];
    for (let k = 1; k < seg.length; k++) cum.push(cum[k - 1] + dist(pos(seg[k - 1]), pos(seg[k])));
    const total = cum[cum.length - 1] + dist(pos(seg[seg.length - 1]), b);
    let mid = -1;
    if (over[midKey]) { mid = idx(over[midKey]!, midKey); how[midKey] = 'config'; }
    else {
      // Bend joints: axis across the limb, away from both ends; the one nearest the middle of the path.
      const a0 = pos(seg[0]);
      const L = dist(a0, b);
      const dir: V3 = [(b[0] - a0[0]) / L, (b[1] - a0[1]) / L, (b[2] - a0[2]) / L];
      let best = Infinity;
      seg.forEach((l, k) => {
        if (cum[k] < 0.25 * total || total - cum[k] < 0.2 * total) return;
        const ax = worldAxis(kin, l);
        if (Math.abs(ax[0] * dir[0] + ax[1] * dir[1] + ax[2] * dir[2]) > 0.7) return;
        const d = Math.abs(cum[k] - total / 2);
        if (d < best) { best = d; mid = l; }
      });
      if (mid < 0) seg.forEach((l, k) => { const d = Math.abs(cum[k] - total / 2); if (d < best) { best = d; mid = l; } });
      if (mid < 0) throw new Error(`cannot find the ${midKey.replace('_', ' ')} of ${kin.robot.name}; give ${midKey} in a config`);
      how[midKey] = 'tree';
    }
    // Limb root: the last of the joints clustered at the start of the chain (a hip's or shoulder's 2-3 axes).
    let rootLink = seg[0];
    if (over[rootKey]) { rootLink = idx(over[rootKey]!, rootKey); how[rootKey] = 'config'; }
    else {
      const km = seg.indexOf(mid);
      for (let k = 1; k < km; k++) if (cum[k] < 0.3 * cum[km]) rootLink = seg[k];
      how[rootKey] = 'tree';
    }
    const chain = seg;
    return {
      root: { link: names[rootLink], local: [0, 0, 0] },
      mid: { link: names[mid], local: [0, 0, 0] },
      end: { link: names[end], local: endLocal },
      chain: chain.map((l) => names[l]),
    };
  };

  const legs = {
    left: limb(pelvis, feet.left, [0, 0, 0], 'left', 'leg'),
    right: limb(pelvis, feet.right, [0, 0, 0], 'right', 'leg'),
  };

  // ---- hands and arms
  kin.fk(zeroPose(kin));
  const pelvisZ = pos(pelvis)[2];
  const upper = leaves.filter((l) => !down.includes(l) && pos(l)[2] > zmin + 0.35 * H && !kin.isAncestor(feet.left, l) && !kin.isAncestor(feet.right, l));
  const maxY = Math.max(1e-6, ...upper.map((l) => Math.abs(pos(l)[1])));
  const hands: Record<Side, number> = { left: -1, right: -1 };
  const handLocal: Record<Side, V3> = { left: [0, 0, 0], right: [0, 0, 0] };
  for (const side of ['left', 'right'] as const) {
    const key = `${side}_hand` as const;
    const sgn = side === 'left' ? 1 : -1;
    if (over[key]) { hands[side] = idx(over[key]!, key); how[key] = 'config'; }
    else {
      const mine = upper.filter((l) => sgn * pos(l)[1] > 0.4 * maxY);
      if (!mine.length) throw new Error(`cannot find the ${side} hand of ${kin.robot.name}: no leaf link far to the ${side}; give ${key} in a config`);
      hands[side] = lca(mine);
      how[key] = 'tree';
    }
    // A hand link that ends its chain (no finger branches): its far end, from its geometry, is the wrist point.
    const h = hands[side];
    if (children[h].length === 0 && moving(h)) handLocal[side] = farPoint(kin, h);
  }
  const torso = over.torso ? idx(over.torso, 'torso') : lca([hands.left, hands.right]);
  how.torso = over.torso ? 'config' : 'tree';
  const arms = {
    left: limb(torso, hands.left, handLocal.left, 'left', 'arm'),
    right: limb(torso, hands.right, handLocal.right, 'right', 'arm'),
  };
  void pelvisZ;

  // ---- head: highest point of the torso's non-arm branches, if above the shoulders
  kin.fk(zeroPose(kin));
  let head: LinkPoint | undefined;
  if (over.head) { head = { link: over.head, local: [0, 0, 0] }; idx(over.head, 'head'); how.head = 'config'; }
  else {
    const shoulderZ = Math.max(pos(kin.linkIndex(arms.left.root.link))[2], pos(kin.linkIndex(arms.right.root.link))[2]);
    const armRoots = [arms.left.chain[0], arms.right.chain[0]].map((s) => kin.linkIndex(s));
    let best = -1, bestZ = shoulderZ + 0.03;
    for (let l = 0; l < n; l++) {
      if (!moving(l) || !kin.isAncestor(torso, l) || l === torso) continue;
      if (armRoots.some((r) => kin.isAncestor(r, l))) continue;
      const z = pos(l)[2];
      if (z > bestZ) { bestZ = z; best = l; }
    }
    if (best >= 0) { head = { link: names[best], local: [0, 0, 0] }; how.head = 'tree'; }
  }

  // ---- feet: soles from collision shapes
  const footMaps = { left: footMap(kin, feet.left), right: footMap(kin, feet.right) };

  // ---- fingers: links below the hand
  const fingers: Record<Side, string[]> = { left: [], right: [] };
  for (const side of ['left', 'right'] as const) {
    for (let l = 0; l < n; l++) if (l !== hands[side] && kin.isAncestor(hands[side], l) && moving(l)) fingers[side].push(names[l]);
  }

  // Rest positions of the keypoints.
  kin.fk(zeroPose(kin));
  const rest: Record<string, V3> = {};
  const put = (key: string, p: LinkPoint) => {
    const o = new Float64Array(3);
    kin.pointWorld(kin.linkIndex(p.link), p.local, o);
    rest[key] = [o[0], o[1], o[2]];
  };
  for (const side of ['left', 'right'] as const) {
    put(`${side}_hip`, legs[side].root); put(`${side}_knee`, legs[side].mid); put(`${side}_ankle`, legs[side].end);
    put(`${side}_shoulder`, arms[side].root); put(`${side}_elbow`, arms[side].mid); put(`${side}_wrist`, arms[side].end);
  }
  if (head) put('head', head);

  return {
    robot: kin.robot.name,
    rootLink: names[0],
    pelvis: names[pelvis],
    torso: names[torso],
    head,
    legs,
    arms,
    feet: footMaps,
    fingers,
    rest,
    how,
  };
}

function dist(a: ArrayLike<number>, b: ArrayLike<number>): number {
  return Math.hypot(a[0] - b[0], a[1] - b[1], a[2] - b[2]);
}

function worldAxis(kin: Kinematics, l: number): V3 {
  const j = kin.linkJoint[l]!;
  const P = kin.pose, o = 12 * l, [x, y, z] = j.axis;
  return [P[o] * x + P[o + 1] * y + P[o + 2] * z, P[o + 3] * x + P[o + 4] * y + P[o + 5] * z, P[o + 6] * x + P[o + 7] * y + P[o + 8] * z];
}

/** Sample points on a collision/visual primitive, in the link frame. */
export function geometryPoints(origin: Origin, g: Geometry): V3[] {
  const m = new Float64Array(12);
  originToTransform(origin, m, 0);
  const local: V3[] = [];
  if (g.kind === 'box') {
    const [a, b, c] = g.size.map((s) => s / 2);
    for (const sx of [-1, 1]) for (const sy of [-1, 1]) for (const sz of [-1, 1]) local.push([sx * a, sy * b, sz * c]);
  } else if (g.kind === 'sphere') {
    const r = g.radius;
    local.push([0, 0, 0], [r, 0, 0], [-r, 0, 0], [0, r, 0], [0, -r, 0], [0, 0, r], [0, 0, -r]);
  } else if (g.kind === 'cylinder' || g.kind === 'capsule') {
    const r = g.radius, h = g.length / 2 + (g.kind === 'capsule' ? r : 0);
    for (let k = 0; k < 8; k++) {
      const a = (k / 8) * 2 * Math.PI;
      local.push([r * Math.cos(a), r * Math.sin(a), h], [r * Math.cos(a), r * Math.sin(a), -h]);
    }
  }
  return local.map(([x, y, z]) => [
    m[0] * x + m[1] * y + m[2] * z + m[9],
    m[3] * x + m[4] * y + m[5] * z + m[10],
    m[6] * x + m[7] * y + m[8] * z + m[11],
  ]);
}

/** Far end of a chain-ending link: the geometry point farthest from its origin (or twice its centre of mass). */
function farPoint(kin: Kinematics, l: number): V3 {
  const link = kin.robot.links.find((k) => k.name === kin.linkNames[l])!;
  let best: V3 = [0, 0, 0], bd = 0;
  for (const c of link.collisions) {
    for (const p of geometryPoints(c.origin, c.geometry)) {
      const d = Math.hypot(p[0], p[1], p[2]);
      if (d > bd) { bd = d; best = p; }
    }
  }
  if (bd === 0 && link.inertial) {
    const [x, y, z] = link.inertial.origin.xyz;
    best = [2 * x, 2 * y, 2 * z];
  }
  // Keep the point on the link's axis of extent (drop the radial part that comes from a cylinder's rim).
  const c = link.inertial?.origin.xyz;
  if (c && Math.hypot(...c) > 1e-3) {
    const u = c.map((v) => v / Math.hypot(...c)) as V3;
    const s = best[0] * u[0] + best[1] * u[1] + best[2] * u[2];
    if (s > 0) best = [u[0] * s, u[1] * s, u[2] * s];
  }
  return best;
}

function footMap(kin: Kinematics, foot: number): FootMap {
  kin.fk(zeroPose(kin));
  const P = kin.pose;
  const o = 12 * foot;
  // World points of the foot's (and rigidly attached links') collision shapes.
  const pts: V3[] = [];
  const attached = [foot];
  for (let l = 0; l < kin.nLinks; l++) if (l !== foot && kin.isAncestor(foot, l) && kin.linkDof(l) < 0) attached.push(l);
  for (const l of attached) {
    const link = kin.robot.links.find((k) => k.name === kin.linkNames[l])!;
    const shapes = link.collisions.length ? link.collisions : link.visuals.filter((v) => v.geometry.kind !== 'mesh');
    for (const c of shapes) {
      for (const p of geometryPoints(c.origin, c.geometry)) {
        const w = new Float64Array(3);
        kin.pointWorld(l, p, w);
        pts.push([w[0], w[1], w[2]]);
      }
    }
  }
  const toLocal = (w: V3): V3 => {
    const d = [w[0] - P[o + 9], w[1] - P[o + 10], w[2] - P[o + 11]];
    return [P[o] * d[0] + P[o + 3] * d[1] + P[o + 6] * d[2], P[o + 1] * d[0] + P[o + 4] * d[1] + P[o + 7] * d[2], P[o + 2] * d[0] + P[o + 5] * d[1] + P[o + 8] * d[2]];
  };
  const dirLocal = (w: V3): V3 => [P[o] * w[0] + P[o + 3] * w[1] + P[o + 6] * w[2], P[o + 1] * w[0] + P[o + 4] * w[1] + P[o + 7] * w[2], P[o + 2] * w[0] + P[o + 5] * w[1] + P[o + 8] * w[2]];
  let sole: V3[];
  if (pts.length) {
    const zlow = Math.min(...pts.map((p) => p[2]));
    const low = pts.filter((p) => p[2] < zlow + 0.01);
    // Keep the extreme points of the sole (front/back/left/right), at the sole's height.
    const ext = (f: (p: V3) => number) => low.reduce((a, b) => (f(b) > f(a) ? b : a));
    const picks = [ext((p) => p[0]), ext((p) => -p[0]), ext((p) => p[1]), ext((p) => -p[1])];
    const uniq = picks.filter((p, i) => picks.findIndex((q) => dist(p, q) < 1e-4) === i).map((p) => [p[0], p[1], zlow] as V3);
    sole = uniq.map(toLocal);
  } else {
    sole = [toLocal([P[o + 9], P[o + 10], P[o + 11]])];
  }
  const zs = sole.map((s) => {
    const w = new Float64Array(3);
    kin.pointWorld(foot, s, w);
    return w[2];
  });
  return { link: kin.linkNames[foot], sole, forward: dirLocal([1, 0, 0]), up: dirLocal([0, 0, 1]), ankleHeight: P[o + 11] - Math.min(...zs) };
}
