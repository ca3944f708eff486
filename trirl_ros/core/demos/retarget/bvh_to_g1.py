"""Retarget a BVH human skeleton onto the Unitree G1 by per-frame inverse kinematics.

1. The BVH (Y-up) is turned Z-up (x forward = BVH +z, y left = BVH +x) and scaled: a uniform
   scale makes the human leg (hip -> ankle) as long as the robot's, then every limb is
   re-scaled bone by bone to the robot's segment lengths (thigh, shank, foot, trunk, upper arm,
   forearm), starting from the hip midpoint: the "scaled skeleton".
2. Each frame, DLS IK (:mod:`~trirl_ros.core.demos.retarget.ik`) moves the G1's free base and its
   joints (within limits) so that its hips, knees, ankles, toes, shoulders, elbows, wrists and
   head match the scaled skeleton; the pelvis follows the human hip frame, and the support foot
   (the lower human ankle) is kept flat. The solution of one frame starts the next.
3. Ground correction per frame then puts the lowest (support) foot on the floor.

The per-frame residual (RMS distance over the matched points, m) is reported in the provenance
(``ik_residual_m``: mean, p95, max; ``ik_residual_per_frame_m``).
"""

from __future__ import annotations

import logging

import mujoco
import numpy as np

from trirl_ros.core import quat as Q
from trirl_ros.core.demos.dataset import Dataset, DatasetError
from trirl_ros.core.demos.processing import build_clip, ground_correct
from trirl_ros.core.demos.retarget.ik import DampedLeastSquaresIK, PointTask

log = logging.getLogger(__name__)

# matched point: (human joint, robot body, point in the body frame, weight)
POINTS = [
    ("LeftHip", "left_hip_roll_link", (0.0, 0.0, 0.0), 1.0),
    ("RightHip", "right_hip_roll_link", (0.0, 0.0, 0.0), 1.0),
    ("LeftKnee", "left_knee_link", (0.0, 0.0, 0.0), 1.0),
    ("RightKnee", "right_knee_link", (0.0, 0.0, 0.0), 1.0),
    ("LeftAnkle", "left_ankle_roll_link", (0.0, 0.0, 0.0), 3.0),
    ("RightAnkle", "right_ankle_roll_link", (0.0, 0.0, 0.0), 3.0),
    ("LeftToe", "left_ankle_roll_link", (0.12, 0.0, -0.03), 1.0),
    ("RightToe", "right_ankle_roll_link", (0.12, 0.0, -0.03), 1.0),
    ("LeftShoulder", "left_shoulder_roll_link", (0.0, 0.0, 0.0), 1.0),
    ("RightShoulder", "right_shoulder_roll_link", (0.0, 0.0, 0.0), 1.0),
    ("LeftElbow", "left_elbow_link", (0.0, 0.0, 0.0), 1.0),
    ("RightElbow", "right_elbow_link", (0.0, 0.0, 0.0), 1.0),
    ("LeftWrist", "left_wrist_pitch_link", (0.0, 0.0, 0.0), 0.5),
    ("RightWrist", "right_wrist_pitch_link", (0.0, 0.0, 0.0), 0.5),
    ("Head", "torso_link", (0.0, 0.0, 0.40), 0.5),
]
# bones re-scaled to the robot: (parent point, child point)
CHAINS = [
    ("LeftHip", "LeftKnee"), ("LeftKnee", "LeftAnkle"), ("LeftAnkle", "LeftToe"),
    ("RightHip", "RightKnee"), ("RightKnee", "RightAnkle"), ("RightAnkle", "RightToe"),
    ("LeftShoulder", "LeftElbow"), ("LeftElbow", "LeftWrist"),
    ("RightShoulder", "RightElbow"), ("RightElbow", "RightWrist"),
]
TRUNK = ["LeftShoulder", "RightShoulder", "Head"]
PELVIS_ORIENT_WEIGHT = 0.3
FOOT_FLAT_WEIGHT = 0.3


def _zup(p: np.ndarray) -> np.ndarray:
    """BVH Y-up (x left, z forward) -> Z-up (x forward, y left): (x, y, z) -> (z, x, y)."""
    return p[..., [2, 0, 1]]


def _robot_points(kin, tasks, qpos_model) -> np.ndarray:
    d = mujoco.MjData(kin.model)
    d.qpos[:] = qpos_model
    mujoco.mj_kinematics(kin.model, d)
    return np.array([d.xpos[t.body] + d.xmat[t.body].reshape(3, 3) @ np.asarray(t.local) for t in tasks])


def scaled_skeleton(human: dict[str, np.ndarray], robot_rest: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Human point tracks {name: (T, 3)} (Z-up, m) -> the same points with robot bone lengths."""
    hmid = 0.5 * (human["LeftHip"] + human["RightHip"])

    def length(points, a, b, t=0):
        return np.linalg.norm(points[a][t] - points[b][t]) if points[a].ndim == 2 else \
            np.linalg.norm(points[a] - points[b])

    rmid = 0.5 * (robot_rest["LeftHip"] + robot_rest["RightHip"])
    human_leg = np.mean([length(human, f"{s}Hip", f"{s}Knee") + length(human, f"{s}Knee", f"{s}Ankle")
                         for s in ("Left", "Right")])
    robot_leg = np.mean([length(robot_rest, f"{s}Hip", f"{s}Knee") + length(robot_rest, f"{s}Knee", f"{s}Ankle")
                         for s in ("Left", "Right")])
    scale = robot_leg / human_leg
    out = {"_hip_mid": hmid * scale}
    for s in ("Left", "Right"):
        ratio = np.linalg.norm(robot_rest[f"{s}Hip"] - rmid) / max(np.linalg.norm(human[f"{s}Hip"][0] - hmid[0]), 1e-6)
        out[f"{s}Hip"] = out["_hip_mid"] + (human[f"{s}Hip"] - hmid) * ratio
    human_trunk = np.linalg.norm(0.5 * (human["LeftShoulder"][0] + human["RightShoulder"][0]) - hmid[0])
    robot_trunk = np.linalg.norm(0.5 * (robot_rest["LeftShoulder"] + robot_rest["RightShoulder"]) - rmid)
    for name in TRUNK:
        out[name] = out["_hip_mid"] + (human[name] - hmid) * (robot_trunk / human_trunk)
    for a, b in CHAINS:
        ratio = np.linalg.norm(robot_rest[b] - robot_rest[a]) / max(np.linalg.norm(human[b][0] - human[a][0]), 1e-6)
        out[b] = out[a] + (human[b] - human[a]) * ratio
    out["_scale"] = np.array(scale)
    return out


def _hip_frame(skel: dict[str, np.ndarray]) -> np.ndarray:
    """Target pelvis rotations (T, 3, 3): y = right hip -> left hip, z = up (towards the trunk)."""
    y = skel["LeftHip"] - skel["RightHip"]
    y /= np.linalg.norm(y, axis=1, keepdims=True)
    up = 0.5 * (skel["LeftShoulder"] + skel["RightShoulder"]) - skel["_hip_mid"]
    up = 0.5 * up / np.linalg.norm(up, axis=1, keepdims=True) + 0.5 * np.array([0.0, 0.0, 1.0])
    x = np.cross(y, up)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    z = np.cross(x, y)
    return np.stack([x, y, z], axis=2)


def retarget_bvh(skeleton, kin, opts, name: str = "bvh") -> Dataset:
    """Retarget a parsed BVH :class:`~trirl_ros.core.demos.importers.bvh.Skeleton` onto the G1.

    Returns a one-clip Dataset at ``opts.ik_rate`` Hz (ground corrected per frame).
    """
    src_rate = 1.0 / skeleton.frame_time
    step = max(int(round(src_rate / opts.ik_rate)), 1)
    frames = np.arange(0, len(skeleton.motion), step)
    if len(frames) < 2:
        raise DatasetError(f"{name}: too few BVH frames to retarget ({len(skeleton.motion)})")
    rate = src_rate / step
    world = skeleton.world_positions(frames)
    hip_span = np.linalg.norm(world[0, skeleton.index("LeftHip")] - world[0, skeleton.index("RightHip")])
    units = opts.bvh_scale or (1.0 if hip_span < 1.0 else 0.01)  # metres or centimetres
    human = {p[0]: _zup(world[:, skeleton.index(p[0])]) * units for p in POINTS}

    model = kin.model
    tasks = [PointTask(kin.body_id(body), local, w) for _, body, local, w in POINTS]
    rest = kin.model_qpos(np.concatenate([[0, 0, 0.793, 1, 0, 0, 0], np.zeros(len(kin.spec.joint_names))]))[0]
    rest_pts = _robot_points(kin, tasks, rest)
    robot_rest = {p[0]: rest_pts[i] for i, p in enumerate(POINTS)}
    skel = scaled_skeleton(human, robot_rest)
    targets = np.stack([skel[p[0]] for p in POINTS], axis=1)  # (T, P, 3)
    R_pelvis = _hip_frame(skel)

    active = np.concatenate([np.arange(kin.free_dadr, kin.free_dadr + 6), kin.dof_adr])
    limits = [(int(a), float(lo), float(hi)) for a, (lo, hi) in zip(kin.qpos_adr, kin.spec.pos_limits)]
    ik = DampedLeastSquaresIK(model, active, limits)
    pelvis = kin.base_id
    feet = [kin.body_id("left_ankle_roll_link"), kin.body_id("right_ankle_roll_link")]
    la, ra = skel["LeftAnkle"][:, 2], skel["RightAnkle"][:, 2]

    q = rest.copy()
    q[kin.free_qadr:kin.free_qadr + 3] = skel["_hip_mid"][0] + (rest_pts[0] + rest_pts[1]) * 0 \
        + np.array([0, 0, 0.793]) - 0.5 * (rest_pts[0] + rest_pts[1]) * np.array([0, 0, 1])
    q[kin.free_qadr + 3:kin.free_qadr + 7] = Q.from_matrix(R_pelvis[0])
    qpos_out = np.zeros((len(frames), 7 + len(kin.spec.joint_names)))
    residual = np.zeros(len(frames))
    for t in range(len(frames)):
        support = feet[0] if la[t] <= ra[t] else feet[1]
        flat = np.eye(3)
        d = ik.data
        d.qpos[:] = q
        mujoco.mj_kinematics(model, d)
        # keep the support foot's yaw, level its sole
        Rf = d.xmat[support].reshape(3, 3)
        yaw = np.arctan2(Rf[1, 0], Rf[0, 0])
        flat = np.array([[np.cos(yaw), -np.sin(yaw), 0], [np.sin(yaw), np.cos(yaw), 0], [0, 0, 1]])
        orient = [(pelvis, R_pelvis[t], PELVIS_ORIENT_WEIGHT), (support, flat, FOOT_FLAT_WEIGHT)]
        iters = 60 if t == 0 else ik.max_iters
        saved, ik.max_iters = ik.max_iters, iters
        q, errs = ik.solve(q, tasks, targets[t], orient)
        ik.max_iters = saved
        residual[t] = float(np.sqrt(np.mean(errs ** 2)))
        qpos_out[t, :7] = q[kin.free_qadr:kin.free_qadr + 7]
        qpos_out[t, 7:] = q[kin.qpos_adr]
    prov = {
        "retarget": "BVH -> G1 DLS IK (trirl_ros.core.demos.retarget.bvh_to_g1)",
        "bvh_units_m": units, "leg_scale": float(skel["_scale"]), "ik_rate_hz": rate,
        "ik_residual_m": {"mean": float(residual.mean()), "p95": float(np.percentile(residual, 95)),
                          "max": float(residual.max())},
        "ik_residual_per_frame_m": [round(float(r), 5) for r in residual],
    }
    ds = build_clip(kin, qpos_out[:, :3], qpos_out[:, 3:7], qpos_out[:, 7:], rate, name, prov)
    ds, report = ground_correct(ds, kin, mode="frame")
    ds.provenance["ground_offset_m"] = report.offsets[0]
    log.info("retargeted %d BVH frames at %.1f Hz: IK residual mean %.1f mm, max %.1f mm", len(frames),
             rate, residual.mean() * 1000, residual.max() * 1000)
    return ds
