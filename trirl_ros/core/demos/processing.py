"""Processing of datasets: building from raw tracks, resampling, velocities, ground correction,
expert transitions for the discriminator.
"""

from __future__ import annotations

import dataclasses
import logging
from typing import Any, NamedTuple

import numpy as np

from trirl_ros.core import quat as Q
from trirl_ros.core.demos.dataset import Dataset, DatasetError
from trirl_ros.core.demos.kinematics import RobotKinematics

log = logging.getLogger(__name__)


def build_clip(
    kin: RobotKinematics,
    base_pos: np.ndarray,
    base_quat_wxyz: np.ndarray,
    joints: np.ndarray,
    frequency: float,
    name: str,
    provenance: dict[str, Any],
    qvel: np.ndarray | None = None,
    time: np.ndarray | None = None,
) -> Dataset:
    """One-clip Dataset from raw tracks.

    Args:
        base_pos: (T, 3) m world. base_quat_wxyz: (T, 4) (normalised here, made sign-continuous).
        joints: (T, J) rad in the spec's joint order. qvel: optional (T, 6+J) in MuJoCo's
            convention; computed by finite differences when None.
        time: optional (T,) s source time stamps.
    Raises DatasetError on NaN/inf rows (naming the frame) before any computation.
    """
    base_pos = np.asarray(base_pos, dtype=np.float64)
    joints = np.asarray(joints, dtype=np.float64)
    quat = np.asarray(base_quat_wxyz, dtype=np.float64)
    T = base_pos.shape[0]
    J = len(kin.spec.joint_names)
    if base_pos.shape != (T, 3) or quat.shape != (T, 4) or joints.shape != (T, J):
        raise DatasetError(
            f"clip '{name}': expected base (T,3), quat (T,4), joints (T,{J}); got "
            f"{base_pos.shape}, {quat.shape}, {joints.shape}"
        )
    if T < 2:
        raise DatasetError(f"clip '{name}': needs at least 2 frames, got {T}")
    raw = np.concatenate([base_pos, quat, joints], axis=1)
    bad = ~np.isfinite(raw).all(axis=1)
    if bad.any():
        raise DatasetError(f"clip '{name}' frame {int(np.argmax(bad))}: NaN/inf in the source row")
    norms = np.linalg.norm(quat, axis=1)
    if (norms < 1e-6).any():
        raise DatasetError(f"clip '{name}' frame {int(np.argmax(norms < 1e-6))}: zero base quaternion")
    quat = Q.make_continuous(quat / norms[:, None])
    qpos = np.concatenate([base_pos, quat, joints], axis=1)
    if qvel is None:
        qvel = kin.finite_difference_qvel(qpos, 1.0 / frequency)
    return Dataset(
        robot=kin.spec.name,
        joint_names=kin.spec.joint_names,
        frequency=frequency,
        qpos=qpos,
        qvel=qvel,
        split_points=np.array([0, T]),
        provenance=dict(provenance),
        clip_names=(name,),
        time=time,
    )


def resample(ds: Dataset, hz: float, kin: RobotKinematics) -> Dataset:
    """Resample every clip to ``hz``: linear interpolation of base position and joints, slerp of
    the base quaternion, velocities recomputed by finite differences. A clip of duration D gets
    ``floor(D * hz) + 1`` frames starting at its first frame. Time stamps are dropped."""
    if hz <= 0:
        raise ValueError(f"resample rate must be > 0 Hz, got {hz}")
    if abs(hz - ds.frequency) < 1e-9:
        return ds
    parts = []
    for clip in ds.clips():
        t_src = np.arange(clip.num_frames) / ds.frequency
        n_new = int(np.floor(t_src[-1] * hz + 1e-9)) + 1
        if n_new < 2:
            log.warning("clip '%s' is shorter than one period at %g Hz: dropped", clip.clip_names[0], hz)
            continue
        t_new = np.arange(n_new) / hz
        pos = np.stack([np.interp(t_new, t_src, clip.qpos[:, i]) for i in range(3)], axis=1)
        joints = np.stack(
            [np.interp(t_new, t_src, clip.qpos[:, 7 + j]) for j in range(ds.num_joints)], axis=1
        ).reshape(n_new, ds.num_joints)
        quat = Q.interp(t_src, clip.qpos[:, 3:7], t_new)
        prov = dict(clip.provenance)
        prov["resampled_from_hz"] = ds.frequency
        parts.append(build_clip(kin, pos, quat, joints, hz, clip.clip_names[0], prov))
    if not parts:
        raise DatasetError(f"no clip is long enough to resample to {hz} Hz")
    out = Dataset.concatenate(parts)
    out.provenance = {**ds.provenance, "resampled_from_hz": ds.frequency}
    return out


def fill_velocities(ds: Dataset, kin: RobotKinematics) -> Dataset:
    """Replace qvel by finite differences of qpos, clip by clip."""
    qvel = np.concatenate([kin.finite_difference_qvel(c.qpos, ds.dt) for c in ds.clips()])
    return dataclasses.replace(ds, qvel=qvel)


GROUND_MODES = ("frame", "smooth", "clip")


@dataclasses.dataclass(frozen=True)
class GroundReport:
    """Result of :func:`ground_correct`: per-clip mean height offset (m, added to base z), its
    range, and the fraction of frames whose lowest foot lies within ``contact_tol`` of the floor
    afterwards."""

    offsets: tuple[float, ...]
    offset_range: tuple[tuple[float, float], ...]
    contact_fraction: tuple[float, ...]
    contact_tol: float


def floating_feet(ds: Dataset, kin: RobotKinematics, tol: float = 0.01) -> tuple[float, float]:
    """(median height (m) of the lowest foot over all frames, fraction of frames whose lowest foot
    floats above or sinks below the floor by more than ``tol``). A walking clip has a foot on the
    floor in almost every frame; most frames off by more than 1 cm means the clip needs ``--ground``."""
    lowest = kin.feet_lowest_z(ds.qpos).min(axis=1)
    return float(np.median(lowest)), float(np.mean(np.abs(lowest) > tol))


def ground_correct(
    ds: Dataset,
    kin: RobotKinematics,
    mode: str = "frame",
    contact_tol: float = 0.01,
    smooth_s: float = 0.1,
) -> tuple[Dataset, GroundReport]:
    """Shift the base height so the lowest foot touches the floor (z = 0), measured by FK.

    Modes:
      ``"frame"`` (default): per-frame offset = -(lowest foot z): the lowest foot touches the
        floor in every frame. Right for walking (a foot is always down) and for video-fitted
        motion whose floor drifts (ASAP feet float 3-7 cm); it removes flight phases.
      ``"smooth"``: per-frame offset from a moving minimum of the lowest foot over +-``smooth_s``
        seconds: keeps flight phases shorter than the window.
      ``"clip"``: one offset per clip, the median over frames of the lowest foot goes to 0:
        keeps the motion's own vertical dynamics; good for clean optical mocap.
    Returns the corrected dataset (qvel recomputed) and a :class:`GroundReport`; the offsets
    reported are the mean per clip.
    """
    if mode not in GROUND_MODES:
        raise ValueError(f"ground correction mode must be one of {GROUND_MODES}, got {mode!r}")
    qpos = ds.qpos.copy()
    offsets, ranges, fractions = [], [], []
    for s, e in ds.clip_ranges():
        lowest = kin.feet_lowest_z(qpos[s:e]).min(axis=1)
        if mode == "clip":
            shift = np.full(e - s, -float(np.median(lowest)))
        elif mode == "frame":
            shift = -lowest
        else:
            w = max(int(round(smooth_s * ds.frequency)), 1)
            pad = np.pad(lowest, (w, w), mode="edge")
            ground = np.array([pad[i:i + 2 * w + 1].min() for i in range(e - s)])
            shift = -ground
        qpos[s:e, 2] += shift
        offsets.append(float(shift.mean()))
        ranges.append((float(shift.min()), float(shift.max())))
        after = lowest + shift
        fractions.append(float(np.mean(np.abs(after) <= contact_tol)))
    out = fill_velocities(dataclasses.replace(ds, qpos=qpos), kin)
    out.provenance = {**ds.provenance, "ground_offsets_m": offsets, "ground_mode": mode}
    report = GroundReport(tuple(offsets), tuple(ranges), tuple(fractions), contact_tol)
    log.info("ground correction (%s): offsets %s m, contact within %.0f mm in %s of frames",
             mode, [round(o, 4) for o in offsets], contact_tol * 1000,
             [f"{f:.0%}" for f in fractions])
    return out, report


class ExpertTransitions(NamedTuple):
    """State-only expert transitions for the discriminator D(s, s').

    obs: (M, D) float32 observations s_t built with the env's ObsSpec.
    next_obs: (M, D) float32 s_{t+1}.
    absorbing: (M,) bool, True where s_{t+1} is an absorbing (terminal) state; demonstrations
        end by truncation, so all False.
    clip_ids: (M,) int64 clip index of each transition.
    """

    obs: np.ndarray
    next_obs: np.ndarray
    absorbing: np.ndarray
    clip_ids: np.ndarray


def robot_states(ds: Dataset, robot: Any, imu_rot: np.ndarray | None = None,
                 command: np.ndarray | None = None) -> Any:
    """RobotState (N = T frames) of every dataset frame, with the env's conventions.

    base_lin_vel: (T, 3) base frame; base_ang_vel: (T, 3) in the IMU frame ``omega @ imu_rot``
    (MuJoCo's free-joint angular velocity is already local; ``imu_rot`` (3, 3) is the IMU site's
    rotation in the base body, identity when None); last_action: (T, J) the action whose PD target
    is the current joint position, ``(q - default_pos) / action_scale`` (demonstrations carry no
    actions); command: (T, 3) ``command`` if given (3,), else the demo's own velocity (vx, vy in
    the base frame, world yaw rate).
    """
    from trirl_ros.core.envs.obs_spec import RobotState

    q = ds.qpos[:, 3:7]
    lin = Q.rotate_inv(q, ds.qvel[:, 0:3])
    ang = ds.qvel[:, 3:6]
    if imu_rot is not None:
        ang = ang @ np.asarray(imu_rot)
    joint_pos = ds.qpos[:, 7:]
    last_action = (joint_pos - np.asarray(robot.default_pos)) / np.asarray(robot.action_scale)
    yaw_rate = Q.rotate(q, ang)[:, 2]
    if command is None:
        command = np.stack([lin[:, 0], lin[:, 1], yaw_rate], axis=1)
    else:
        command = np.broadcast_to(np.asarray(command, dtype=np.float64), (len(q), 3)).copy()
    return RobotState(
        joint_pos=joint_pos,
        joint_vel=ds.qvel[:, 6:],
        base_quat=q,
        base_ang_vel=ang,
        base_lin_vel=lin,
        last_action=last_action,
        command=command,
    )


def imu_rotation(kin: RobotKinematics) -> np.ndarray:
    """(3, 3) rotation of the robot's IMU site in its body (identity for the shipped robots)."""
    import mujoco

    sid = mujoco.mj_name2id(kin.model, mujoco.mjtObj.mjOBJ_SITE, kin.spec.imu_site)
    if sid < 0:
        return np.eye(3)
    return Q.to_matrix(kin.model.site_quat[sid])


def expert_transitions(
    ds: Dataset, robot: Any, obs_spec: Any, kin: RobotKinematics | None = None,
    command: np.ndarray | None = None,
) -> ExpertTransitions:
    """(s, s') pairs of consecutive frames within each clip, observed with ``obs_spec`` exactly as
    the env observes the robot (``compute_frame`` + history stacking newest first; the history
    before a clip's first frame repeats that frame).

    The dataset is resampled to ``robot.policy_hz`` first if needed. ``command`` (3,) fixes the
    velocity_command term (default: each frame's own base velocity, see :func:`robot_states`).
    Returns :class:`ExpertTransitions` with M = sum over clips of (frames - 1).
    """
    from trirl_ros.core.envs.obs_spec import compute_frame

    if ds.robot != robot.name:
        raise DatasetError(f"dataset is for robot {ds.robot!r}, not {robot.name!r}")
    if kin is None:
        kin = RobotKinematics.for_robot(robot)
    if abs(ds.frequency - robot.policy_hz) > 1e-6:
        log.info("resampling demonstrations from %g Hz to the policy rate %g Hz",
                 ds.frequency, robot.policy_hz)
        ds = resample(ds, robot.policy_hz, kin)
    frames = np.asarray(compute_frame(obs_spec, robot, robot_states(ds, robot, imu_rotation(kin), command)), dtype=np.float32)
    H = int(getattr(obs_spec, "history", 1))
    obs_all, nxt_all, ids = [], [], []
    for c, (s, e) in enumerate(ds.clip_ranges()):
        f = frames[s:e]
        if H > 1:
            idx = np.arange(e - s)[:, None] - np.arange(H)[None, :]  # newest first
            f = f[np.clip(idx, 0, None)].reshape(e - s, -1)
        obs_all.append(f[:-1])
        nxt_all.append(f[1:])
        ids.append(np.full(e - s - 1, c, dtype=np.int64))
    obs = np.concatenate(obs_all)
    return ExpertTransitions(obs, np.concatenate(nxt_all), np.zeros(len(obs), dtype=bool),
                             np.concatenate(ids))
