/**
 * Finger discovery from the kinematic tree, with no per-robot tables.
 *
 * 1. Palm: a rigid body (links joined by fixed joints) from which at least three (two when named by the
 *    caller) branches leave that are simple chains (no further branching between moving joints) of at
 *    least two moving joints; the palm link is the deepest common ancestor of the links they hang from
 *    (so fingers may hang from fixed sub-links: a thumb mount, a knuckle plate). A humanoid's torso or
 *    pelvis fails this (arms branch into fingers; legs are only two), so on a body with hands every hand's
 *    palm is found, and `side` (or link names) picks one.
 * 2. Fingers: those chains. The fingertip is the farthest fixed leaf link past the last moving joint when
 *    there is one; otherwise the farthest point of the last link's primitive collision/visual geometry
 *    along the chain direction; otherwise (meshes only) the last link origin plus the previous segment's
 *    length along the chain direction.
 * 3. Thumb: the chain that scores highest on (a) a tip that reaches least far along the hand's forward
 *    direction, (b) a base set back from the other fingers' bases, (c) joint axes with no parallel
 *    counterpart in the other chains. Every real hand here separates by a wide margin (see tests).
 * 4. Palm frame (in the palm link's coordinates): forward = mean base→tip direction of the non-thumb
 *    fingers; normal = the side the fingers flex toward (mid-range of the joint limits), perpendicular to
 *    forward and to the row of finger bases; thumb side = forward × normal for a right hand (normal ×
 *    forward for a left hand). Non-thumb fingers are ordered index→pinky by decreasing position along the
 *    thumb side and mapped to human fingers: 1 → index; 2 → index, middle; 3 → index, middle, ring; 4 → all.
 */
import type { Kinematics } from '../../robot/kinematics.ts';
import { UserError } from '../../errors.ts';
import { farPoint } from './shapes.ts';
import { add, cross, dot, median, norm, reject, scale, sub, unit, type V3 } from './vec.ts';

export type HumanFinger = 'thumb' | 'index' | 'middle' | 'ring' | 'pinky';
export const HUMAN_FINGERS: HumanFinger[] = ['thumb', 'index', 'middle', 'ring', 'pinky'];
/** MediaPipe landmark indices per human finger: [base, ..., tip] (thumb base = CMC, others = MCP). */
export const FINGER_LANDMARKS: Record<HumanFinger, number[]> = {
  thumb: [1, 2, 3, 4],
  index: [5, 6, 7, 8],
  middle: [9, 10, 11, 12],
  ring: [13, 14, 15, 16],
  pinky: [17, 18, 19, 20],
};

export interface RobotFinger {
  /** The human finger this robot finger follows. */
  name: HumanFinger;
  /** Moving links of the chain, palm → tip (their joints move the finger; mimic joints included). */
  links: string[];
  linkIndices: number[];
  /** URDF joint names of those links. */
  joints: string[];
  /** Actuated dof indices (Kinematics order) that move this finger, chain order, no repeats. */
  dofs: number[];
  /** Per dof in `dofs`: +1 when increasing it curls the finger toward the palm, -1 the reverse, 0 sideways. */
  flexSign: number[];
  /** Link holding the fingertip point and the point in that link's frame. */
  tipLink: string;
  tipLinkIndex: number;
  tipLocal: V3;
  /** How the tip was found: a fixed leaf link, the last link's geometry, or extrapolated. */
  tipSource: 'link' | 'geometry' | 'extrapolated';
  /**
   * Mid-finger point: the origin of the last moving link whose joint sits apart from the earlier ones
   * (the DIP joint of a 3-segment finger, the PIP of a 2-segment one), and the human landmark it follows.
   */
  midLink: string;
  midLinkIndex: number;
  midLandmark: number;
  /**
   * Knuckle (MCP-equivalent) link: the first link of the chain whose joint sits on the row of finger
   * bases — later than the first when the chain starts with a joint set back in the palm (Shadow's
   * little-finger metacarpal). Its origin is the finger's base point.
   */
  baseLink: string;
  baseLinkIndex: number;
  /** At the reference pose, in the palm link frame: base (knuckle joint) and tip positions. */
  base: V3;
  tip: V3;
  /** Chain length at the reference pose: base → joints → tip (metres). */
  length: number;
}

export interface HandFrame {
  /** All in the palm link's coordinates. */
  forward: V3;
  normal: V3;
  thumbSide: V3;
}

export interface HandModel {
  palmLink: string;
  palmLinkIndex: number;
  side: 'left' | 'right';
  /** Thumb first, then index → pinky as far as the robot has them. */
  fingers: RobotFinger[];
  frame: HandFrame;
  /** Union of the fingers' dofs (sorted). */
  dofs: number[];
  /** Dof values of the reference pose used for discovery (zeros clamped into the limits). */
  qRef: Float64Array;
  /** Thumb score of each chain before ordering (for diagnostics), keyed by the chain's first link. */
  thumbScores: Record<string, number>;
}

export interface DiscoverOptions {
  side?: 'left' | 'right';
  /** The palm link; found from the tree when absent. */
  rootLink?: string;
  /** Restrict the hand to these dofs (names or indices) — for a hand inside a body. */
  dofs?: (string | number)[];
  /** A link or joint of the thumb chain (overrides the thumb score). */
  thumb?: string;
  /** A link or joint of the chain that follows each named human finger (the rest keep their order). */
  fingerMap?: Partial<Record<HumanFinger, string>>;
}

export function discoverHand(kin: Kinematics, opts: DiscoverOptions = {}): HandModel {
  const where = kin.robot.file ?? kin.robot.name;
  const dofSet = opts.dofs ? new Set(opts.dofs.map((d) => (typeof d === 'number' ? d : kin.dofIndex(d)))) : null;
  const n = kin.nLinks;
  const moving = (i: number) => {
    const d = kin.linkDof(i);
    return d >= 0 && (!dofSet || dofSet.has(d));
  };
  const kids: number[][] = Array.from({ length: n }, () => []);
  for (let i = 1; i < n; i++) if (kin.linkParent[i] >= 0) kids[kin.linkParent[i]].push(i);
  // movingBelow[i]: number of moving links in the subtree of i, i included.
  const movingBelow = new Int32Array(n);
  for (let i = n - 1; i >= 0; i--) {
    movingBelow[i] += moving(i) ? 1 : 0;
    if (kin.linkParent[i] >= 0) movingBelow[kin.linkParent[i]] += movingBelow[i];
  }
  /** If the branch starting at link c is a chain, its moving links (in order); else null. */
  const chainOf = (c: number): number[] | null => {
    const links: number[] = [];
    let k = c;
    for (;;) {
      if (moving(k)) links.push(k);
      const next = kids[k].filter((x) => movingBelow[x] > 0);
      if (next.length === 0) return links;
      if (next.length > 1) return null;
      k = next[0];
    }
  };
  /** p and the links rigidly attached to it (reached through joints that do not move). */
  const rigidGroup = (p: number): number[] => {
    const g = [p];
    for (let i = 0; i < g.length; i++) for (const c of kids[g[i]]) if (!moving(c)) g.push(c);
    return g;
  };
  /** Finger chains (2+ moving joints, no branching) starting anywhere on p's rigid body. */
  const fingerBranches = (p: number): number[][] => {
    const out: number[][] = [];
    for (const m of rigidGroup(p)) {
      for (const c of kids[m]) {
        if (!moving(c)) continue;
        const ch = chainOf(c);
        if (ch && ch.length >= 2) out.push(ch);
      }
    }
    return out;
  };
  /** The palm of a set of chains: the deepest common ancestor of the links they hang from. */
  const palmOf = (chains: number[][]): number => {
    const path = (l: number) => { const out: number[] = []; for (let k = l; k >= 0; k = kin.linkParent[k]) out.unshift(k); return out; };
    const paths = chains.map((c) => path(kin.linkParent[c[0]]));
    let depth = 0;
    while (paths.every((pp) => depth < pp.length && pp[depth] === paths[0][depth])) depth++;
    return paths[0][depth - 1];
  };

  // Reference pose: zeros clamped into the limits.
  const qRef = new Float64Array(kin.nq);
  for (let d = 0; d < kin.nq; d++) qRef[d] = Math.min(Math.max(0, kin.lower[d]), kin.upper[d]);

  let palm: number;
  let chains: number[][];
  if (opts.rootLink) {
    if (!kin.hasLink(opts.rootLink)) throw new UserError(`hand root link "${opts.rootLink}" is not a link of robot ${kin.robot.name}`, where);
    chains = fingerBranches(kin.linkIndex(opts.rootLink));
    if (chains.length < 2) throw new UserError(`link "${opts.rootLink}" has ${chains.length} finger chains (need at least 2 chains of 2+ moving joints)`, where);
    palm = palmOf(chains);
  } else {
    // Each rigid body (the root's, or one hanging from a moving joint) with 3+ finger chains is a hand.
    const found = new Map<number, number[][]>();
    for (let i = 0; i < n; i++) {
      if (i !== 0 && !moving(i)) continue;
      const ch = fingerBranches(i);
      if (ch.length >= 3) found.set(palmOf(ch), ch);
    }
    const candidates = [...found.keys()];
    if (!candidates.length) throw new UserError(`no hand found in robot ${kin.robot.name}: no link has 3 or more finger chains (2+ moving joints each)`, where);
    let pick = candidates;
    if (candidates.length > 1) {
      const side = opts.side;
      if (side) {
        const re = side === 'left' ? /(^|[^a-z])(left|l)([^a-z]|$)/i : /(^|[^a-z])(right|r)([^a-z]|$)/i;
        pick = candidates.filter((c) => re.test(pathName(kin, c)));
      }
      if (pick.length !== 1) {
        throw new UserError(
          `robot ${kin.robot.name} has ${candidates.length} hands (${candidates.map((c) => kin.linkNames[c]).join(', ')}); name one with rootLink, side or dofs`,
          where,
        );
      }
    }
    palm = pick[0];
    chains = found.get(palm)!;
  }
  const side: 'left' | 'right' = opts.side ?? guessSide(kin, palm);
  if (chains.length > 5) throw new UserError(`link "${kin.linkNames[palm]}" has ${chains.length} finger chains; at most 5 can follow a human hand`, where);

  // Geometry at the reference pose, in palm coordinates.
  kin.fk(qRef);
  const P = kin.pose;
  const po = 12 * palm;
  const toPalm = (w: ArrayLike<number>): V3 => {
    const x = w[0] - P[po + 9], y = w[1] - P[po + 10], z = w[2] - P[po + 11];
    return [P[po] * x + P[po + 3] * y + P[po + 6] * z, P[po + 1] * x + P[po + 4] * y + P[po + 7] * z, P[po + 2] * x + P[po + 5] * y + P[po + 8] * z];
  };
  const dirToPalm = (w: ArrayLike<number>): V3 => [
    P[po] * w[0] + P[po + 3] * w[1] + P[po + 6] * w[2],
    P[po + 1] * w[0] + P[po + 4] * w[1] + P[po + 7] * w[2],
    P[po + 2] * w[0] + P[po + 5] * w[1] + P[po + 8] * w[2],
  ];
  const linkPos = (i: number): V3 => toPalm([P[12 * i + 9], P[12 * i + 10], P[12 * i + 11]]);
  const linkRot = (i: number, v: ArrayLike<number>): V3 => dirToPalm([
    P[12 * i] * v[0] + P[12 * i + 1] * v[1] + P[12 * i + 2] * v[2],
    P[12 * i + 3] * v[0] + P[12 * i + 4] * v[1] + P[12 * i + 5] * v[2],
    P[12 * i + 6] * v[0] + P[12 * i + 7] * v[1] + P[12 * i + 8] * v[2],
  ]);
  const jointAxis = (i: number): V3 => unit(linkRot(i, kin.linkJoint[i]!.axis));

  interface Raw { links: number[]; base: V3; tip: V3; tipLink: number; tipLocal: V3; tipSource: RobotFinger['tipSource']; length: number; axes: V3[] }
  const raws: Raw[] = chains.map((links) => {
    const pts = links.map(linkPos);
    const last = links[links.length - 1];
    // Chain direction at the last link: from the nearest distinct earlier point (palm origin at worst).
    let dir: V3 = [0, 0, 0];
    const before: V3[] = [[0, 0, 0], ...pts.slice(0, -1)];
    let prevLen = 0;
    for (let k = before.length - 1; k >= 0; k--) {
      const d = sub(pts[pts.length - 1], before[k]);
      if (norm(d) > 1e-4) { dir = unit(d); prevLen = norm(d); break; }
    }
    const tipFound = findTip(kin, last, dir, prevLen, kids, linkPos, linkRot);
    const tip = tipFound.tipPalm;
    let length = 0;
    for (let k = 1; k < pts.length; k++) length += norm(sub(pts[k], pts[k - 1]));
    length += norm(sub(tip, pts[pts.length - 1]));
    return { links, base: pts[0], tip, tipLink: tipFound.link, tipLocal: tipFound.local, tipSource: tipFound.source, length, axes: links.map(jointAxis) };
  });

  // Thumb score.
  const allBaseMean = scale(raws.reduce((s, r) => add(s, r.base), [0, 0, 0] as V3), 1 / raws.length);
  const f0 = unit(raws.reduce((s, r) => add(s, sub(r.tip, allBaseMean)), [0, 0, 0] as V3));
  const Lmed = median(raws.map((r) => r.length)) || 1;
  const scores = raws.map((r, i) => {
    const others = raws.filter((_, j) => j !== i);
    const reach = dot(sub(r.tip, allBaseMean), f0);
    const reachOthers = median(others.map((o) => dot(sub(o.tip, allBaseMean), f0)));
    const baseOthers = median(others.map((o) => dot(o.base, f0)));
    const shortness = (reachOthers - reach) / Lmed;
    const setBack = (baseOthers - dot(r.base, f0)) / Lmed;
    let match = 0;
    for (const o of others) {
      let m = 0;
      for (const a of r.axes) m += Math.max(...o.axes.map((b) => Math.abs(dot(a, b))));
      match += m / r.axes.length;
    }
    const axisDiff = 1 - match / others.length;
    return shortness + setBack + axisDiff;
  });
  // Which chain holds a named link or joint (config overrides).
  const chainNamed = (nm: string, what: string): number => {
    const i = raws.findIndex((r) => r.links.some((l) => kin.linkNames[l] === nm || kin.linkJoint[l]?.name === nm) || kin.linkNames[r.tipLink] === nm);
    if (i < 0) throw new UserError(`${what} "${nm}" is not a link or joint of any finger chain of ${kin.linkNames[palm]}`, where);
    return i;
  };
  let thumbIdx = 0;
  for (let i = 1; i < raws.length; i++) if (scores[i] > scores[thumbIdx]) thumbIdx = i;
  if (opts.thumb) thumbIdx = chainNamed(opts.thumb, 'thumb');
  else if (opts.fingerMap?.thumb) thumbIdx = chainNamed(opts.fingerMap.thumb, 'fingers.thumb');
  const thumb = raws[thumbIdx];
  const rest = raws.filter((_, i) => i !== thumbIdx);

  // Palm frame.
  const forward = unit(rest.reduce((s, r) => add(s, unit(sub(r.tip, r.base))), [0, 0, 0] as V3));
  // Flexion direction: tip displacement of the non-thumb fingers at mid-range of their joint limits.
  const qMid = new Float64Array(qRef);
  for (const r of rest) for (const l of r.links) {
    const d = kin.linkDof(l);
    const lo = Number.isFinite(kin.lower[d]) ? kin.lower[d] : -1, hi = Number.isFinite(kin.upper[d]) ? kin.upper[d] : 1;
    qMid[d] = 0.5 * (lo + hi);
  }
  kin.fk(qMid);
  const tipsMid = rest.map((r) => toPalmPoint(kin, palm, r.tipLink, r.tipLocal));
  kin.fk(qRef);
  let flex: V3 = [0, 0, 0];
  rest.forEach((r, i) => { flex = add(flex, sub(tipsMid[i], r.tip)); });
  flex = reject(flex, forward);
  let normal: V3;
  if (rest.length >= 2) {
    // Row of finger bases: principal direction of the non-thumb bases, perpendicular to forward.
    const row = principalDir(rest.map((r) => reject(r.base, forward)));
    const line = unit(cross(forward, row));
    const s = dot(flex, line);
    normal = s !== 0 ? scale(line, Math.sign(s)) : line;
  } else {
    normal = unit(flex);
  }
  if (norm(normal) < 0.5) throw new UserError(`cannot tell which way the fingers of ${kin.robot.name} flex (joint limits are symmetric about the reference pose)`, where);
  const thumbSide = side === 'right' ? cross(forward, normal) : cross(normal, forward);

  rest.sort((a, b) => dot(b.base, thumbSide) - dot(a.base, thumbSide));
  const names: HumanFinger[][] = [[], ['index'], ['index', 'middle'], ['index', 'middle', 'ring'], ['index', 'middle', 'ring', 'pinky']];
  let restNames: HumanFinger[] = names[rest.length];
  if (opts.fingerMap) {
    // Named chains take their finger; the others fill the remaining names in lateral order.
    const fixedName = new Map<Raw, HumanFinger>();
    for (const [fname, nm] of Object.entries(opts.fingerMap) as [HumanFinger, string][]) {
      if (fname === 'thumb' || !nm) continue;
      const r = raws[chainNamed(nm, `fingers.${fname}`)];
      if (r === thumb) throw new UserError(`fingers.${fname} "${nm}" is on the thumb chain`, where);
      fixedName.set(r, fname);
    }
    const free = HUMAN_FINGERS.filter((f) => f !== 'thumb' && ![...fixedName.values()].includes(f));
    restNames = rest.map((r) => fixedName.get(r) ?? free.shift()!);
    const order = (f: HumanFinger) => HUMAN_FINGERS.indexOf(f);
    const idx = rest.map((_, i) => i).sort((a, b) => order(restNames[a]) - order(restNames[b]));
    const sortedRest = idx.map((i) => rest[i]);
    restNames = idx.map((i) => restNames[i]);
    rest.splice(0, rest.length, ...sortedRest);
  }
  const ordered = [thumb, ...rest];
  const fingerNames: HumanFinger[] = ['thumb', ...restNames];

  const restLen = median(rest.map((x) => x.length)) || Lmed;
  const knuckleRow = median(rest.map((x) => dot(x.base, forward)));
  const fingers: RobotFinger[] = ordered.map((r, i) => {
    // Knuckle: skip joints set back from the row of finger bases (not for the thumb).
    let kb = 0;
    if (i > 0) while (kb < r.links.length - 2 && dot(linkPos(r.links[kb]), forward) < knuckleRow - 0.25 * restLen) kb++;
    const basePt = linkPos(r.links[kb]);
    let length = 0;
    for (let k = kb + 1; k < r.links.length; k++) length += norm(sub(linkPos(r.links[k]), linkPos(r.links[k - 1])));
    length += norm(sub(r.tip, linkPos(r.links[r.links.length - 1])));
    const dofs: number[] = [];
    for (const l of r.links) { const d = kin.linkDof(l); if (!dofs.includes(d)) dofs.push(d); }
    // Flexion sign per dof: does increasing it move the tip toward the palm normal (thumb: toward the
    // other fingers' bases)?
    const restBase = scale(rest.reduce((s, x) => add(s, x.base), [0, 0, 0] as V3), 1 / rest.length);
    const towards = i === 0 ? unit(sub(restBase, r.tip)) : normal;
    const flexSign = dofs.map((d) => {
      let v: V3 = [0, 0, 0];
      r.links.forEach((l, k) => {
        if (kin.linkDof(l) !== d) return;
        const m = kin.jointValue(unitQ(kin.nq, d), l) - kin.jointValue(new Float64Array(kin.nq), l);
        v = add(v, scale(cross(r.axes[k], sub(r.tip, linkPos(l))), m));
      });
      const c = dot(v, towards);
      return Math.abs(c) > 0.3 * norm(v) ? Math.sign(c) : 0;
    });
    // Distinct joint positions along the chain.
    const distinct: number[] = [];
    let lastPt: V3 | null = null;
    for (const l of r.links.slice(kb)) {
      const p = linkPos(l);
      if (!lastPt || norm(sub(p, lastPt)) > 1e-4) { distinct.push(l); lastPt = p; }
    }
    const mid = distinct[distinct.length - 1];
    const lmBase = FINGER_LANDMARKS[fingerNames[i]][0];
    return {
      name: fingerNames[i],
      midLink: kin.linkNames[mid],
      midLinkIndex: mid,
      midLandmark: lmBase + (distinct.length >= 3 ? 2 : 1),
      links: r.links.map((l) => kin.linkNames[l]),
      linkIndices: r.links.slice(),
      joints: r.links.map((l) => kin.linkJoint[l]!.name),
      dofs,
      flexSign,
      tipLink: kin.linkNames[r.tipLink],
      tipLinkIndex: r.tipLink,
      tipLocal: r.tipLocal,
      tipSource: r.tipSource,
      baseLink: kin.linkNames[r.links[kb]],
      baseLinkIndex: r.links[kb],
      base: basePt,
      tip: r.tip,
      length,
    };
  });
  const thumbScores: Record<string, number> = {};
  raws.forEach((r, i) => { thumbScores[kin.linkNames[r.links[0]]] = scores[i]; });
  return {
    palmLink: kin.linkNames[palm],
    palmLinkIndex: palm,
    side,
    fingers,
    frame: { forward, normal, thumbSide },
    dofs: [...new Set(fingers.flatMap((f) => f.dofs))].sort((a, b) => a - b),
    qRef,
    thumbScores,
  };
}

function unitQ(nq: number, d: number): Float64Array {
  const q = new Float64Array(nq);
  q[d] = 1;
  return q;
}

function toPalmPoint(kin: Kinematics, palm: number, link: number, local: V3): V3 {
  const w = new Float64Array(3);
  kin.pointWorld(link, local, w);
  const P = kin.pose, po = 12 * palm;
  const x = w[0] - P[po + 9], y = w[1] - P[po + 10], z = w[2] - P[po + 11];
  return [P[po] * x + P[po + 3] * y + P[po + 6] * z, P[po + 1] * x + P[po + 4] * y + P[po + 7] * z, P[po + 2] * x + P[po + 5] * y + P[po + 8] * z];
}

/** Dominant direction of a point set (power iteration on the covariance). */
function principalDir(pts: V3[]): V3 {
  const c = scale(pts.reduce((s, p) => add(s, p), [0, 0, 0] as V3), 1 / pts.length);
  const C = [0, 0, 0, 0, 0, 0, 0, 0, 0];
  for (const p of pts) {
    const d = sub(p, c);
    for (let i = 0; i < 3; i++) for (let j = 0; j < 3; j++) C[3 * i + j] += d[i] * d[j];
  }
  let v: V3 = unit(sub(pts[pts.length - 1], pts[0]));
  if (norm(v) === 0) v = [1, 0, 0];
  for (let it = 0; it < 50; it++) {
    const w: V3 = [C[0] * v[0] + C[1] * v[1] + C[2] * v[2], C[3] * v[0] + C[4] * v[1] + C[5] * v[2], C[6] * v[0] + C[7] * v[1] + C[8] * v[2]];
    if (norm(w) < 1e-15) break;
    v = unit(w);
  }
  return v;
}

function pathName(kin: Kinematics, link: number): string {
  const names: string[] = [];
  for (let k = link; k >= 0; k = kin.linkParent[k]) names.push(kin.linkNames[k]);
  return names.join('/');
}

function guessSide(kin: Kinematics, palm: number): 'left' | 'right' {
  const s = `${kin.robot.name}/${pathName(kin, palm)}`.toLowerCase();
  if (/(^|[^a-z])left([^a-z]|$)|(^|[^a-z])l_/.test(s) && !/(^|[^a-z])right([^a-z]|$)/.test(s)) return 'left';
  return 'right';
}

interface TipFound { link: number; local: V3; tipPalm: V3; source: RobotFinger['tipSource'] }

function findTip(
  kin: Kinematics, last: number, dir: V3, prevLen: number, kids: number[][],
  linkPos: (i: number) => V3, linkRot: (i: number, v: ArrayLike<number>) => V3,
): TipFound {
  const lastPos = linkPos(last);
  // A fixed leaf past the last moving joint.
  let best = -1, bestReach = 1e-3;
  const stack = [...kids[last]];
  while (stack.length) {
    const k = stack.pop()!;
    if (kids[k].length === 0) {
      const reach = dot(sub(linkPos(k), lastPos), dir);
      if (reach > bestReach) { bestReach = reach; best = k; }
    }
    stack.push(...kids[k]);
  }
  if (best >= 0) return { link: best, local: [0, 0, 0], tipPalm: linkPos(best), source: 'link' };
  // Farthest point of the last link's geometry (primitives or mesh) along the chain direction.
  const link = kin.robot.links.find((l) => l.name === kin.linkNames[last])!;
  // Chain direction in the last link's frame.
  const R = kin.pose, o = 12 * last;
  const dirW = palmDirToWorld(kin, last, dir, linkRot);
  const dl: V3 = [R[o] * dirW[0] + R[o + 3] * dirW[1] + R[o + 6] * dirW[2], R[o + 1] * dirW[0] + R[o + 4] * dirW[1] + R[o + 7] * dirW[2], R[o + 2] * dirW[0] + R[o + 5] * dirW[1] + R[o + 8] * dirW[2]];
  const far = farPoint(link, dl);
  if (far && dot(far, dl) > 1e-3) {
    return { link: last, local: far, tipPalm: add(lastPos, linkRot(last, far)), source: 'geometry' };
  }
  const len = prevLen > 1e-4 ? prevLen : 0.02;
  const local = scale(dl, len);
  return { link: last, local, tipPalm: add(lastPos, linkRot(last, local)), source: 'extrapolated' };
}

/** dir is in palm coordinates; return it in world coordinates. */
function palmDirToWorld(kin: Kinematics, last: number, dir: V3, linkRot: (i: number, v: ArrayLike<number>) => V3): V3 {
  // linkRot maps link-local → palm; its inverse applied to dir gives link-local, then rotate to world.
  // Build the palm-from-link rotation columns and solve via transpose.
  const ex = linkRot(last, [1, 0, 0]), ey = linkRot(last, [0, 1, 0]), ez = linkRot(last, [0, 0, 1]);
  const local: V3 = [dot(ex, dir), dot(ey, dir), dot(ez, dir)];
  const P = kin.pose, o = 12 * last;
  return [
    P[o] * local[0] + P[o + 1] * local[1] + P[o + 2] * local[2],
    P[o + 3] * local[0] + P[o + 4] * local[1] + P[o + 5] * local[2],
    P[o + 6] * local[0] + P[o + 7] * local[1] + P[o + 8] * local[2],
  ];
}
