"""The reference motion at the policy rate: demonstration states for reference-state
initialisation and the time-aligned tracks the imitation score compares against.

Shapes: T frames (all clips concatenated), C clips, J joints, nq / nv of the env's MuJoCo model.
"""

from __future__ import annotations

import mujoco
import numpy as np

from trirl_ros.core import quat as Q
from trirl_ros.core.demos.dataset import Dataset
from trirl_ros.core.robots.models import (body_id, free_joint_dof_adr, free_joint_qpos_adr, joint_dof_adr,
                                          joint_qpos_adr)
from trirl_ros.core.robots.spec import RobotSpec


class BodyVelocity:
    """Linear velocity of one body's origin in the robot's heading frame (world frame rotated by
    the base yaw), from full MuJoCo states: qpos (M, nq), qvel (M, nv) -> (M, 3) m/s.

    The heading frame makes the comparison independent of the direction the robot faces.
    """

    def __init__(self, model: mujoco.MjModel, robot: RobotSpec, body: str) -> None:
        self.model, self.data = model, mujoco.MjData(model)
        self.body = body_id(model, body)
        self.quat_adr = free_joint_qpos_adr(model, robot) + 3
        self._res = np.zeros(6)

    def __call__(self, qpos: np.ndarray, qvel: np.ndarray) -> np.ndarray:
        m, d = self.model, self.data
        out = np.zeros((len(qpos), 3))
        for i in range(len(qpos)):
            d.qpos[:], d.qvel[:] = qpos[i], qvel[i]
            mujoco.mj_kinematics(m, d)
            mujoco.mj_comPos(m, d)
            mujoco.mj_comVel(m, d)
            mujoco.mj_objectVelocity(m, d, mujoco.mjtObj.mjOBJ_BODY, self.body, self._res, 0)
            out[i] = self._res[3:6]  # [angular, linear], world orientation, at the body origin
        yaw = Q.yaw(qpos[:, self.quat_adr:self.quat_adr + 4])
        c, s = np.cos(yaw), np.sin(yaw)
        return np.stack([c * out[:, 0] + s * out[:, 1], -s * out[:, 0] + c * out[:, 1], out[:, 2]], axis=1)


class ReferenceMotion:
    """Demonstration ``ds`` (already at ``robot.policy_hz``) laid out as full env states.

    Attributes: qpos (T, nq), qvel (T, nv); joint_pos / joint_vel (T, J) policy order;
    velocity (T, 3) heading-frame linear velocity of ``robot.upper_body`` (G1 torso, Go2 base);
    starts / lengths (C,) of each clip.
    """

    def __init__(self, ds: Dataset, robot: RobotSpec, model: mujoco.MjModel, default_qpos: np.ndarray) -> None:
        if abs(ds.frequency - robot.policy_hz) > 1e-6:
            raise ValueError(f"reference motion must be at the policy rate {robot.policy_hz:g} Hz, "
                             f"got {ds.frequency:g} Hz (resample first)")
        if ds.robot != robot.name:
            raise ValueError(f"reference motion is for robot {ds.robot!r}, not {robot.name!r}")
        order = [ds.joint_names.index(n) for n in robot.joint_names]
        T = ds.num_frames
        fa, qadr, dadr = free_joint_qpos_adr(model, robot), joint_qpos_adr(model, robot), joint_dof_adr(model, robot)
        fd = free_joint_dof_adr(model, robot)
        self.qpos = np.tile(np.asarray(default_qpos, dtype=np.float64), (T, 1))
        self.qvel = np.zeros((T, model.nv))
        self.qpos[:, fa:fa + 7] = ds.qpos[:, :7]
        self.qpos[:, qadr] = ds.qpos[:, 7:][:, order]
        self.qvel[:, fd:fd + 6] = ds.qvel[:, :6]
        self.qvel[:, dadr] = ds.qvel[:, 6:][:, order]
        self.joint_pos = self.qpos[:, qadr].copy()
        self.joint_vel = self.qvel[:, dadr].copy()
        self.velocity = BodyVelocity(model, robot, robot.upper_body)(self.qpos, self.qvel)
        ranges = ds.clip_ranges()
        self.starts = np.array([s for s, _ in ranges], dtype=np.int64)
        self.lengths = np.array([e - s for s, e in ranges], dtype=np.int64)
        self.num_frames = T

    @property
    def num_clips(self) -> int:
        return len(self.starts)

    def frame_index(self, clips: np.ndarray, t: int | np.ndarray) -> np.ndarray:
        """Frame (M,) of clips (M,) at policy step t since the clip start; short clips loop."""
        clips = np.asarray(clips, dtype=np.int64)
        return self.starts[clips] + np.asarray(t) % self.lengths[clips]

    def sample_frames(self, rng: np.random.Generator, k: int) -> np.ndarray:
        """k frame indices (k,) drawn uniformly over all frames."""
        return rng.integers(0, self.num_frames, size=k)

    def sample(self, rng: np.random.Generator, k: int) -> tuple[np.ndarray, np.ndarray]:
        """k demonstration states drawn uniformly over all frames: qpos (k, nq), qvel (k, nv)."""
        idx = self.sample_frames(rng, k)
        return self.qpos[idx].copy(), self.qvel[idx].copy()
