"""Run dex-retargeting's own vector retargeting on the shared hand keypoints, for the comparison in
benchmarks/retarget/dex-vector.ts (which evaluates both tools with one function).

    python3 benchmarks/retarget/dex_run.py --src DIR --hand allegro --out qpos.json

DIR holds dex-retargeting's `dex_retargeting` package (its source, e.g. `src/` of a checkout). Needs
numpy, torch and nlopt (Debian: python3-torch python3-nlopt). Pinocchio, which dex-retargeting uses only
for forward kinematics and frame Jacobians of the URDF, cannot be installed here: the module below stands
in for the few calls it makes (tree FK of revolute/prismatic/fixed joints, LOCAL frame Jacobian), checked
against reel2real's kinematics by dex-vector.ts. dex-retargeting's `RetargetingConfig.build()` also needs
yourdfpy's dependencies (anytree, lxml, pytransform3d), which only rewrite the URDF's mesh paths and read
its mimic joints; this script builds the same objects as `build()` does for a vector config
(VectorOptimizer with the config's scaling factor and the dataclass defaults normal_delta 4e-3,
huber_delta 0.02; the mimic-joint adaptor; LPFilter(low_pass_alpha); SeqRetargeting with joint limits)
directly. Input per frame: ref_value = keypoints[task indices] − keypoints[origin indices], the stored
MANO-frame keypoints (as dex-retargeting's examples do).

Writes {joint_names, qpos: [T][n], seconds_cpu, seconds_wall, frames}.
"""
import argparse
import json
import math
import os
import sys
import time
import types
import xml.etree.ElementTree as ET

import numpy as np


def _rpy(r, p, y):
    cr, sr, cp, sp, cy, sy = math.cos(r), math.sin(r), math.cos(p), math.sin(p), math.cos(y), math.sin(y)
    return np.array([
        [cy * cp, cy * sp * sr - sy * cr, cy * sp * cr + sy * sr],
        [sy * cp, sy * sp * sr + cy * cr, sy * sp * cr - cy * sr],
        [-sp, cp * sr, cp * cr],
    ])


def _axis_angle(a, q):
    a = a / np.linalg.norm(a)
    K = np.array([[0, -a[2], a[1]], [a[2], 0, -a[0]], [-a[1], a[0], 0]])
    return np.eye(3) + math.sin(q) * K + (1 - math.cos(q)) * K @ K


def make_pinocchio_standin():
    """A module with the pinocchio calls dex_retargeting.robot_wrapper makes, on a URDF tree."""
    pin = types.ModuleType("pinocchio")
    pin.BODY = "BODY"
    pin.LOCAL = "LOCAL"

    class Frame:
        def __init__(self, name, parent, previous):
            self.name, self.parent, self.previousFrame = name, parent, previous

    class SE3:
        def __init__(self, T):
            self.homogeneous = T

        def inverse(self):
            R, p = self.homogeneous[:3, :3], self.homogeneous[:3, 3]
            T = np.eye(4)
            T[:3, :3] = R.T
            T[:3, 3] = -R.T @ p
            return SE3(T)

    class Model:
        def getFrameId(self, name, kind=None):
            for i, f in enumerate(self.frames):
                if f.name == name and (kind is None or self.frame_kind[i] == kind):
                    return i
            return len(self.frames)

        def createData(self):
            return types.SimpleNamespace(link_T={})

    def buildModelFromUrdf(path):
        root = ET.parse(path).getroot()
        links = [l.get("name") for l in root.findall("link")]
        joints = {}
        children = {}
        child_of = {}
        for j in root.findall("joint"):
            o = j.find("origin")
            xyz = np.array([float(v) for v in (o.get("xyz", "0 0 0") if o is not None else "0 0 0").split()])
            rpy = [float(v) for v in (o.get("rpy", "0 0 0") if o is not None else "0 0 0").split()]
            ax = j.find("axis")
            axis = np.array([float(v) for v in (ax.get("xyz") if ax is not None else "1 0 0").split()])
            lim = j.find("limit")
            kind = j.get("type")
            if kind not in ("revolute", "prismatic", "fixed"):
                raise NotImplementedError(f"joint type {kind}")
            joints[j.get("name")] = dict(
                kind=kind, parent=j.find("parent").get("link"), child=j.find("child").get("link"),
                T=(xyz, _rpy(*rpy)), axis=axis,
                lower=float(lim.get("lower", "0")) if lim is not None else 0.0,
                upper=float(lim.get("upper", "0")) if lim is not None else 0.0,
            )
            children.setdefault(joints[j.get("name")]["parent"], []).append(j.get("name"))
            child_of[joints[j.get("name")]["child"]] = j.get("name")
        base = [l for l in links if l not in child_of][0]
        m = Model()
        order = []

        def walk(l):
            for jn in children.get(l, []):
                order.append(jn)
                walk(joints[jn]["child"])
        walk(base)
        m.joints = joints
        m.base = base
        m.topo = order  # every joint, parents before children
        m.joint_order = [jn for jn in order if joints[jn]["kind"] != "fixed"]
        m.names = ["universe"] + m.joint_order
        m.nqs = [0] + [1] * len(m.joint_order)
        m.nq = m.nv = len(m.joint_order)
        m.lowerPositionLimit = np.array([joints[j]["lower"] for j in m.joint_order])
        m.upperPositionLimit = np.array([joints[j]["upper"] for j in m.joint_order])
        m.frames = [Frame(base, 0, 0)]
        m.frame_kind = ["BODY"]
        for jn in order:
            m.frames.append(Frame(jn, 0, 0))
            m.frame_kind.append("JOINT")
            m.frames.append(Frame(joints[jn]["child"], 0, len(m.frames) - 1))
            m.frame_kind.append("BODY")
        m.link_of_frame = {i: f.name for i, f in enumerate(m.frames) if m.frame_kind[i] == "BODY"}
        return m

    def neutral(m):
        return np.zeros(m.nq)

    def forwardKinematics(m, d, q):
        T = {m.base: np.eye(4)}
        axes = {}
        qi = {jn: i for i, jn in enumerate(m.joint_order)}
        for jn in m.topo:
            j = m.joints[jn]
            P = T[j["parent"]]
            xyz, R0 = j["T"]
            A = np.eye(4)
            A[:3, :3] = R0
            A[:3, 3] = xyz
            W = P @ A  # joint frame in world
            if j["kind"] != "fixed":
                axes[jn] = (W[:3, :3] @ (j["axis"] / np.linalg.norm(j["axis"])), W[:3, 3].copy(), j["kind"])
            M = np.eye(4)
            if j["kind"] == "revolute":
                M[:3, :3] = _axis_angle(j["axis"], q[qi[jn]])
            elif j["kind"] == "prismatic":
                M[:3, 3] = j["axis"] / np.linalg.norm(j["axis"]) * q[qi[jn]]
            T[j["child"]] = W @ M
        d.link_T = T
        d.axes = axes

    def updateFramePlacement(m, d, fid):
        return SE3(d.link_T[m.link_of_frame[fid]])

    def computeFrameJacobian(m, d, q, fid, ref="LOCAL"):
        forwardKinematics(m, d, q)
        link = m.link_of_frame[fid]
        TL = d.link_T[link]
        # joints on the path from the base to the link
        parent_joint = {m.joints[jn]["child"]: jn for jn in m.joints}
        J = np.zeros((6, m.nv))
        l = link
        while l in parent_joint:
            jn = parent_joint[l]
            if jn in d.axes:
                a, p, kind = d.axes[jn]
                c = m.joint_order.index(jn)
                if kind == "revolute":
                    J[:3, c] = np.cross(a, TL[:3, 3] - p)
                    J[3:, c] = a
                else:
                    J[:3, c] = a
            l = m.joints[jn]["parent"]
        R = TL[:3, :3]
        J[:3] = R.T @ J[:3]
        J[3:] = R.T @ J[3:]
        return J

    pin.Model = Model
    pin.Data = types.SimpleNamespace
    pin.SE3 = SE3
    pin.buildModelFromUrdf = buildModelFromUrdf
    pin.neutral = neutral
    pin.forwardKinematics = forwardKinematics
    pin.updateFramePlacement = updateFramePlacement
    pin.computeFrameJacobian = computeFrameJacobian
    return pin


def mimic_joints(urdf_path):
    root = ET.parse(urdf_path).getroot()
    src, mim, mul, off = [], [], [], []
    for j in root.findall("joint"):
        mm = j.find("mimic")
        if mm is not None:
            mim.append(j.get("name"))
            src.append(mm.get("joint"))
            mul.append(float(mm.get("multiplier", "1")))
            off.append(float(mm.get("offset", "0")))
    return src, mim, mul, off


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--src", required=True)
    ap.add_argument("--urdf", required=True)
    ap.add_argument("--config", required=True)
    ap.add_argument("--keypoints", required=True)
    ap.add_argument("--out", required=True)
    a = ap.parse_args()

    sys.modules["pinocchio"] = make_pinocchio_standin()
    # seq_retarget imports pytransform3d.rotations for warm_start (the free-floating hand case), unused here.
    p3 = types.ModuleType("pytransform3d")
    p3.rotations = types.ModuleType("pytransform3d.rotations")
    sys.modules.setdefault("pytransform3d", p3)
    sys.modules.setdefault("pytransform3d.rotations", p3.rotations)
    sys.path.insert(0, a.src)
    import yaml
    from dex_retargeting.kinematics_adaptor import MimicJointKinematicAdaptor
    from dex_retargeting.optimizer import VectorOptimizer
    from dex_retargeting.optimizer_utils import LPFilter
    from dex_retargeting.robot_wrapper import RobotWrapper
    from dex_retargeting.seq_retarget import SeqRetargeting

    cfg = yaml.safe_load(open(a.config))["retargeting"]
    assert cfg["type"] == "vector", "vector configs only"
    robot = RobotWrapper(a.urdf)
    joint_names = cfg.get("target_joint_names") or robot.dof_joint_names
    human = np.array(cfg["target_link_human_indices"])
    opt = VectorOptimizer(
        robot, joint_names,
        target_origin_link_names=cfg["target_origin_link_names"],
        target_task_link_names=cfg["target_task_link_names"],
        target_link_human_indices=human,
        scaling=cfg.get("scaling_factor", 1.0),
        norm_delta=cfg.get("normal_delta", 4e-3),
        huber_delta=cfg.get("huber_delta", 2e-2),
    )
    alpha = cfg.get("low_pass_alpha", 0.1)
    src, mim, mul, off = mimic_joints(a.urdf)
    if mim:
        opt.set_kinematic_adaptor(MimicJointKinematicAdaptor(
            robot, target_joint_names=joint_names, source_joint_names=src, mimic_joint_names=mim,
            multipliers=np.array(mul), offsets=np.array(off)))
    retargeting = SeqRetargeting(opt, has_joint_limits=True, lp_filter=LPFilter(alpha) if 0 <= alpha <= 1 else None)

    kp = json.load(open(a.keypoints))
    frames = kp["frames"]
    out = []
    c0, w0 = time.process_time(), time.perf_counter()
    last = None
    for f in frames:
        if f is None:
            out.append(last)
            continue
        j = np.array(f, dtype=np.float64)
        ref = j[human[1], :] - j[human[0], :]
        # Joints left out of the config's target_joint_names are held at 0 (its fixed_qpos).
        qpos = retargeting.retarget(ref, fixed_qpos=np.zeros(len(opt.idx_pin2fixed)))
        last = [float(v) for v in qpos]
        out.append(last)
    c1, w1 = time.process_time(), time.perf_counter()
    first = next((q for q in out if q is not None), None)
    out = [q if q is not None else first for q in out]
    # Positions of the config's links at the last frame by the stand-in's FK, for the caller to check
    # against its own kinematics.
    qq = np.array(out[-1])
    robot.compute_forward_kinematics(qq)
    check = {nm: robot.get_link_pose(robot.get_link_index(nm))[:3, 3].tolist()
             for nm in set(cfg["target_origin_link_names"]) | set(cfg["target_task_link_names"])}
    tmp = a.out + ".tmp"
    with open(tmp, "w") as fh:
        json.dump({"joint_names": robot.dof_joint_names, "qpos": out, "frames": len(frames),
                   "seconds_cpu": c1 - c0, "seconds_wall": w1 - w0, "check": check}, fh)
    os.replace(tmp, a.out)


if __name__ == "__main__":
    main()
