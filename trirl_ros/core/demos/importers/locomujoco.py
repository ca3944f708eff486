"""LocoMuJoCo trajectory files (.npz).

v0: one array per joint, ``q_<joint>`` (T,) and ``dq_<joint>`` (T,), at 500 Hz; the older
LocoMuJoCo G1 model carries its root as three slide joints (``pelvis_tx`` along x,
``pelvis_tz`` along y, ``pelvis_ty`` along z, pelvis body origin 0.755 m above the world) and
three hinges applied in order (``pelvis_tilt`` about -y, ``pelvis_list`` about x,
``pelvis_rotation`` about z). Joints are mapped by name; the older model's ``torso_joint`` and
``<side>_elbow_pitch_joint`` / ``<side>_elbow_roll_joint`` are renamed to the current G1's
``waist_yaw_joint``, ``<side>_elbow_joint`` and ``<side>_wrist_roll_joint`` (same axes). Keys
without a joint in the robot (``q_lumbar_*``) are reported and ignored.
The two models bend their legs at different zero poses (old: hip pitch link -20.0 deg, knee link
+29.2 deg, ankle link -9.2 deg about y; current G1: hip roll link -10.0 deg, knee link +10.0 deg):
the sagittal leg angles are shifted so that thigh, shank and foot keep their pitch
(:data:`V0_LEG_OFFSETS`, derived from the body quaternions of both MJCFs).

v1: ``qpos`` (T, nq), ``qvel``, ``split_points``, ``frequency``, ``joint_names`` (free joint
first, then the joints of qpos[7:]).

Velocities are recomputed by finite differences (MuJoCo's free-joint convention).
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from trirl_ros.core import quat as Q
from trirl_ros.core.demos.dataset import Dataset, DatasetError
from trirl_ros.core.demos.importers import missing_fill
from trirl_ros.core.demos.processing import build_clip

log = logging.getLogger(__name__)

NAME = "locomujoco"
V0_FREQUENCY = 500.0
V0_PELVIS_HEIGHT = 0.755
ROOT_V0 = ("pelvis_tx", "pelvis_ty", "pelvis_tz", "pelvis_tilt", "pelvis_list", "pelvis_rotation")

def _pitch(qw: float, qy: float) -> float:
    return 2.0 * float(np.arctan2(qy, qw))


# old-model body pitch at zero (from its MJCF quats) minus current-G1 body pitch, per joint
V0_LEG_OFFSETS = {
    "hip_pitch_joint": _pitch(0.984807, -0.17365) - _pitch(0.996179, -0.0873386),
    "knee_joint": _pitch(0.967714, 0.252052) - _pitch(0.996179, 0.0873386),
    "ankle_pitch_joint": _pitch(0.99678, -0.0801788) - 0.0,
}
ALIASES = {
    "torso_joint": "waist_yaw_joint",
    "left_elbow_pitch_joint": "left_elbow_joint",
    "right_elbow_pitch_joint": "right_elbow_joint",
    "left_elbow_roll_joint": "left_wrist_roll_joint",
    "right_elbow_roll_joint": "right_wrist_roll_joint",
}


def sniff(path: Path, head: bytes) -> bool:
    if not path.is_file() or not head.startswith(b"PK"):
        return False
    try:
        with np.load(path, allow_pickle=False) as data:
            keys = set(data.files)
    except Exception:
        return False
    if "schema" in keys:  # a trirl dataset, not a LocoMuJoCo file
        return False
    return any(k.startswith("q_") for k in keys) or {"qpos", "joint_names"} <= keys


def _map_joints(kin, names, columns, where):
    """Place source columns (T, K) named ``names`` into the robot's joint order (T, J)."""
    robot = kin.spec.joint_names
    T = columns.shape[0]
    out = np.zeros((T, len(robot)))
    used, ignored = set(), []
    for k, name in enumerate(names):
        target = name if name in robot else ALIASES.get(name)
        if target in robot and target not in used:
            out[:, robot.index(target)] = columns[:, k]
            used.add(target)
        else:
            ignored.append(name)
    if not used:
        raise DatasetError(f"{where}: none of the joint names {list(names)[:6]}... is a joint of {kin.spec.name}")
    missing = [n for n in robot if n not in used]
    for n in missing:
        out[:, robot.index(n)] = missing_fill(kin, n)
    if ignored:
        log.warning("%s: ignored %d source joint(s) without a joint in %s: %s", where, len(ignored),
                    kin.spec.name, ignored)
    if missing:
        log.warning("%s: %d robot joint(s) absent from the source, held at 0/default: %s", where,
                    len(missing), missing)
    return out, ignored, missing


def _load_v0(path, data, kin, opts) -> Dataset:
    where = path.name
    q = {k[2:]: np.asarray(data[k], dtype=np.float64) for k in data.files if k.startswith("q_")}
    absent = [r for r in ROOT_V0 if r not in q]
    if absent:
        raise DatasetError(f"{where}: LocoMuJoCo v0 file lacks the root keys {['q_' + r for r in absent]}")
    lengths = {len(v) for v in q.values()}
    if len(lengths) != 1:
        raise DatasetError(f"{where}: joint arrays have different lengths {sorted(lengths)}")
    pos = np.stack([q["pelvis_tx"], q["pelvis_tz"], V0_PELVIS_HEIGHT + q["pelvis_ty"]], axis=1)
    rot = Q.mul(
        Q.mul(Q.from_axis_angle([0.0, -1.0, 0.0], q["pelvis_tilt"]),
              Q.from_axis_angle([1.0, 0.0, 0.0], q["pelvis_list"])),
        Q.from_axis_angle([0.0, 0.0, 1.0], q["pelvis_rotation"]),
    )
    names = [k for k in q if k not in ROOT_V0]
    joints, ignored, missing = _map_joints(kin, names, np.stack([q[n] for n in names], axis=1), where)
    for j, name in enumerate(kin.spec.joint_names):
        for suffix, offset in V0_LEG_OFFSETS.items():
            if name.endswith(suffix) and name not in missing:
                joints[:, j] += offset
    prov = {"layout": "locomujoco v0", "leg_zero_offsets_rad": V0_LEG_OFFSETS, "ignored_keys": ["q_" + n for n in ignored],
            "missing_joints": missing, "renamed": {k: v for k, v in ALIASES.items() if k in names}}
    return build_clip(kin, pos, rot, joints, V0_FREQUENCY, path.stem, prov)


def _load_v1(path, data, kin, opts) -> Dataset:
    where = path.name
    qpos = np.asarray(data["qpos"], dtype=np.float64)
    names = [str(n) for n in data["joint_names"]]
    freq = float(data["frequency"]) if "frequency" in data.files else None
    if freq is None or not np.isfinite(freq) or freq <= 0:
        raise DatasetError(f"{where}: LocoMuJoCo v1 file needs a positive 'frequency'")
    if qpos.ndim != 2 or qpos.shape[1] != 7 + len(names) - 1:
        raise DatasetError(
            f"{where}: qpos has {qpos.shape[1] if qpos.ndim == 2 else qpos.shape} columns, expected "
            f"7 + {len(names) - 1} for a free joint and the joints {names[1:4]}..."
        )
    split = np.asarray(data["split_points"], dtype=np.int64) if "split_points" in data.files \
        else np.array([0, len(qpos)])
    joints, ignored, missing = _map_joints(kin, names[1:], qpos[:, 7:], where)
    prov = {"layout": "locomujoco v1", "ignored_joints": ignored, "missing_joints": missing}
    parts = []
    for c in range(len(split) - 1):
        s, e = int(split[c]), int(split[c + 1])
        parts.append(build_clip(kin, qpos[s:e, :3], qpos[s:e, 3:7], joints[s:e], freq,
                                f"{path.stem}_{c}", prov))
    return Dataset.concatenate(parts)


def load(path: Path, kin, opts) -> Dataset:
    try:
        data = np.load(path, allow_pickle=False)
    except (ValueError, OSError, EOFError) as exc:
        raise DatasetError(f"{path.name}: cannot read as npz: {exc}") from exc
    with data:
        if "qpos" in data.files:
            return _load_v1(path, data, kin, opts)
        if any(k.startswith("q_") for k in data.files):
            return _load_v0(path, data, kin, opts)
    raise DatasetError(f"{path.name}: neither LocoMuJoCo v0 (q_<joint>) nor v1 (qpos, joint_names)")
