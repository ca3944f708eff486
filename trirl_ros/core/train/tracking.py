"""The tracking baseline's reward: each env follows the reference motion at its own phase.

Not inverse RL: the reward reads the demonstration frame each env should be at (DeepMimic-style
tracking). It is the ceiling the reward learners are compared with on the same budget, and a
tracker for users who only want one.

Phase bookkeeping (N envs): env n tracks clip ``clip[n]`` at step ``t[n]`` since that clip's
start (clips loop, see :meth:`ReferenceMotion.frame_index`). A reset sets the phase: an env put
into a demonstration state starts at that frame, an env reset to the default pose at a random
frame of a random clip. Every policy step advances ``t`` by one; the reward of the step compares
the state the step reached with the frame reached.
"""

from __future__ import annotations

import mujoco
import numpy as np

from trirl_ros.core.algo.hparams import TrackingConfig
from trirl_ros.core.envs.obs_spec import quat_rotate_inverse
from trirl_ros.core.robots.models import free_joint_dof_adr, free_joint_qpos_adr, joint_dof_adr, joint_qpos_adr
from trirl_ros.core.robots.spec import RobotSpec
from trirl_ros.core.train.reference import ReferenceMotion


def base_quantities(qpos: np.ndarray, qvel: np.ndarray, fa: int, fd: int) -> dict[str, np.ndarray]:
    """Floating-base terms of full states qpos (M, nq), qvel (M, nv) with the free joint at qpos
    address ``fa`` / dof address ``fd``: lin_vel (M, 3) base frame, ang_vel (M, 3) base frame,
    orientation (M, 3) projected gravity, height (M,)."""
    quat = qpos[:, fa + 3:fa + 7]
    return {"lin_vel": quat_rotate_inverse(quat, qvel[:, fd:fd + 3]), "ang_vel": qvel[:, fd + 3:fd + 6],
            "orientation": quat_rotate_inverse(quat, (0.0, 0.0, -1.0)), "height": qpos[:, fa + 2]}


class TrackingReward:
    """Per-env reference phase and the tracking reward (see module doc and :class:`TrackingConfig`).

    ref: the reference at the policy rate; num_envs N; model / robot: the env's MuJoCo model and
    robot spec (the joint and free-joint addresses of its qpos / qvel).
    """

    def __init__(self, cfg: TrackingConfig, ref: ReferenceMotion, num_envs: int, model: mujoco.MjModel,
                 robot: RobotSpec) -> None:
        self.cfg, self.ref = cfg, ref
        self.qadr, self.dadr = joint_qpos_adr(model, robot), joint_dof_adr(model, robot)
        self.fa, self.fd = free_joint_qpos_adr(model, robot), free_joint_dof_adr(model, robot)
        self.clip = np.zeros(num_envs, dtype=np.int64)
        self.t = np.zeros(num_envs, dtype=np.int64)
        self.target = self._targets(ref.qpos, ref.qvel)  # term -> (T, ...) reference values

    def _targets(self, qpos: np.ndarray, qvel: np.ndarray) -> dict[str, np.ndarray]:
        out = base_quantities(qpos, qvel, self.fa, self.fd)
        out["joint_pos"], out["joint_vel"] = qpos[:, self.qadr], qvel[:, self.dadr]
        return out

    def set_phase(self, ids: np.ndarray, frames: np.ndarray) -> None:
        """Envs ``ids`` (M,) now stand at reference frames ``frames`` (M,) (global frame indices)."""
        frames = np.asarray(frames, dtype=np.int64)
        clips = np.searchsorted(self.ref.starts, frames, side="right") - 1
        self.clip[ids], self.t[ids] = clips, frames - self.ref.starts[clips]

    def random_phase(self, ids: np.ndarray, rng: np.random.Generator) -> None:
        """Envs ``ids`` start tracking a uniformly drawn frame of the reference."""
        self.set_phase(ids, rng.integers(0, self.ref.num_frames, size=len(ids)))

    def frames(self) -> np.ndarray:
        """(N,) the reference frame each env tracks now."""
        return self.ref.frame_index(self.clip, self.t)

    def step(self, qpos: np.ndarray, qvel: np.ndarray,
             command: np.ndarray | None = None) -> tuple[np.ndarray, dict[str, float]]:
        """Advance every phase one frame; reward (N,) of the states qpos (N, nq), qvel (N, nv) the
        step reached against the new frames, and the batch means of each term's exp(-k e).
        command (N, 3): the (vx, vy, wz) each env was commanded during the step (velocity_target
        'command' only)."""
        self.t += 1
        k = self.frames()
        now = self._targets(qpos, qvel)
        terms = self.cfg.terms()
        target = {term: self.target[term][k] for term in terms}
        if self.cfg.velocity_target == "command":
            if command is None or command.shape != (len(qpos), 3):
                raise ValueError("tracking with velocity_target 'command' needs the (N, 3) commands of the step")
            now["lin_vel"], target["lin_vel"] = now["lin_vel"][:, :2], command[:, :2]
            now["ang_vel"], target["ang_vel"] = now["ang_vel"][:, 2], command[:, 2]
        reward = np.zeros(len(qpos))
        parts = {}
        for term, (weight, coef) in terms.items():
            diff = now[term] - target[term]
            err = diff * diff if diff.ndim == 1 else np.sum(diff * diff, axis=1)
            value = np.exp(-coef * err)
            reward += weight * value
            parts[f"reward/track_{term}"] = float(value.mean())
        return reward, parts
