"""Vectorized MuJoCo locomotion env for the Unitree G1 and Go2 (ROS-free core).

N environments, each its own ``MjData`` of one shared ``MjModel``. A policy step sets the PD
targets ``q* = default_pos + action_scale * action`` and advances every env by
``robot.substeps`` physics steps with ``mj_step(model, data, nstep=substeps)``: the PD law runs in
MuJoCo's actuator model at physics rate (see :mod:`trirl_ros.core.envs.pd`), so no Python runs
per physics step. Envs are split into ``num_threads`` contiguous chunks stepped by a thread pool
(MuJoCo releases the GIL while stepping). Results do not depend on the thread count.

Episodes end by *termination* (a fall: base height below the threshold, base tilt above it, or
a non-finite state) or by *truncation* (time limit); the two are reported separately (absorbing
states need the difference). Done envs are reset automatically.
"""

from __future__ import annotations

import logging
import math
from concurrent.futures import ThreadPoolExecutor

import mujoco
import numpy as np

from trirl_ros.core.envs.config import EnvConfig
from trirl_ros.core.envs.obs_spec import ObsHistory, ObsSpec, RobotState, compute_frame, quat_rotate_inverse
from trirl_ros.core.envs.pd import apply_pd_actuators
from trirl_ros.core.robots.models import (body_id, default_qpos, free_joint_qpos_adr, joint_dof_adr,
                                          joint_qpos_adr, load_model, site_id)
from trirl_ros.core.robots.spec import RobotSpec

log = logging.getLogger(__name__)


def quat_mul(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Hamilton product of (..., 4) w, x, y, z quaternions."""
    aw, ax, ay, az = np.moveaxis(a, -1, 0)
    bw, bx, by, bz = np.moveaxis(b, -1, 0)
    return np.stack([aw * bw - ax * bx - ay * by - az * bz, aw * bx + ax * bw + ay * bz - az * by,
                     aw * by - ax * bz + ay * bw + az * bx, aw * bz + ax * by - ay * bx + az * bw], axis=-1)


class LocomotionEnv:
    """``num_envs`` copies of ``robot`` on a flat floor, stepped together at ``robot.policy_hz``.

    Shapes: N = num_envs, J = robot.num_joints, D = observation_dim, nq/nv of the MJCF.
    """

    def __init__(self, robot: RobotSpec, cfg: EnvConfig, num_envs: int = 1, seed: int = 0,
                 num_threads: int = 1) -> None:
        if num_envs < 1:
            raise ValueError(f"num_envs must be >= 1, got {num_envs}")
        if num_threads < 1:
            raise ValueError(f"num_threads must be >= 1, got {num_threads}")
        self.robot, self.cfg, self.num_envs = robot, cfg, num_envs
        self.model = load_model(robot, scene=True)
        self._act = apply_pd_actuators(self.model, robot)
        m = self.model
        self._qadr = joint_qpos_adr(m, robot)
        self._dadr = joint_dof_adr(m, robot)
        self._fadr = free_joint_qpos_adr(m, robot)
        self._fdof = int(m.jnt_dofadr[m.body_jntadr[body_id(m, robot.base_body)]])
        imu = site_id(m, robot.imu_site)
        if m.site_bodyid[imu] != body_id(m, robot.base_body):
            raise ValueError(f"{robot.name}: imu_site {robot.imu_site!r} is not on base body {robot.base_body!r}")
        q = m.site_quat[imu]  # site frame relative to the base body
        self._imu_rot = np.array([[1 - 2 * (q[2] ** 2 + q[3] ** 2), 2 * (q[1] * q[2] - q[0] * q[3]), 2 * (q[1] * q[3] + q[0] * q[2])],
                                  [2 * (q[1] * q[2] + q[0] * q[3]), 1 - 2 * (q[1] ** 2 + q[3] ** 2), 2 * (q[2] * q[3] - q[0] * q[1])],
                                  [2 * (q[1] * q[3] - q[0] * q[2]), 2 * (q[2] * q[3] + q[0] * q[1]), 1 - 2 * (q[1] ** 2 + q[2] ** 2)]])
        self.default_qpos = default_qpos(m, robot)  # (nq,)
        self.max_episode_steps = int(round(cfg.episode_length_s * robot.policy_hz))
        self._min_h = robot.fall_min_height if cfg.fall_min_height is None else cfg.fall_min_height
        tilt = robot.fall_max_tilt_deg if cfg.fall_max_tilt_deg is None else cfg.fall_max_tilt_deg
        self._min_cos_tilt = math.cos(math.radians(tilt))
        self.obs_spec: ObsSpec = cfg.obs
        self.action_dim = robot.num_joints
        self._frame_dim = cfg.obs.frame_dim(robot.num_joints)
        self.observation_dim = cfg.obs.dim(robot.num_joints)

        self._datas = [mujoco.MjData(m) for _ in range(num_envs)]
        self._qpos = np.zeros((num_envs, m.nq))
        self._qvel = np.zeros((num_envs, m.nv))
        self._targets = np.tile(robot.default_pos, (num_envs, 1))
        self._last_action = np.zeros((num_envs, robot.num_joints))
        self._steps = np.zeros(num_envs, dtype=np.int64)
        self._history = ObsHistory(num_envs, self._frame_dim, cfg.obs.history)
        self._command = np.tile(np.asarray(cfg.command, dtype=np.float64), (num_envs, 1))
        self._rng = np.random.default_rng(seed)
        bounds = np.linspace(0, num_envs, min(num_threads, num_envs) + 1).astype(int)
        self._chunks = [range(a, b) for a, b in zip(bounds[:-1], bounds[1:])]
        self._pool = ThreadPoolExecutor(len(self._chunks)) if len(self._chunks) > 1 else None
        self._reset_envs(np.arange(num_envs))  # states valid before the first reset()

    # ---------------------------------------------------------------- public API
    @property
    def num_threads(self) -> int:
        return len(self._chunks)

    def reset(self) -> np.ndarray:
        """Reset every env to the default pose + configured noise; return obs (N, D)."""
        ids = np.arange(self.num_envs)
        self._reset_envs(ids)
        self._history.reset()
        return self._history.push(self._frame(self.state()))

    def reset_to(self, qpos: np.ndarray, qvel: np.ndarray, env_ids: np.ndarray | None = None) -> np.ndarray:
        """Set envs ``env_ids`` (M,) (default all) to full states qpos (M, nq), qvel (M, nv),
        e.g. demonstration states; restarts their episodes. Returns obs (N, D) of all envs
        (the others unchanged)."""
        m = self.model
        ids = np.arange(self.num_envs) if env_ids is None else np.asarray(env_ids, dtype=np.int64).reshape(-1)
        qpos, qvel = np.asarray(qpos, dtype=np.float64), np.asarray(qvel, dtype=np.float64)
        if qpos.shape != (len(ids), m.nq) or qvel.shape != (len(ids), m.nv):
            raise ValueError(f"reset_to: qpos {qpos.shape} / qvel {qvel.shape} must be ({len(ids)}, {m.nq}) / "
                             f"({len(ids)}, {m.nv}) for {len(ids)} env ids")
        if len(ids) and (ids.min() < 0 or ids.max() >= self.num_envs or len(np.unique(ids)) != len(ids)):
            raise ValueError(f"reset_to: env_ids must be unique and in [0, {self.num_envs}), got {ids.tolist()}")
        if not (np.isfinite(qpos).all() and np.isfinite(qvel).all()):
            raise ValueError("reset_to: qpos/qvel contain NaN or inf")
        self._set_states(ids, qpos, qvel)
        state = self.state()
        obs = self._history.peek()
        if len(ids):
            obs[ids] = self._history.fill(ids, self._frame(state, ids))
        return obs

    def step(self, action: np.ndarray):
        """Advance all envs one policy step.

        action (N, J) float32 (policy order). Returns ``obs (N, D), terminated (N,) bool,
        truncated (N,) bool, info``; done envs are reset and their ``obs`` row is the first
        observation of the new episode. ``info``: ``final_obs`` (N, D) observation reached by
        the step (before any reset; equals ``obs`` where not done), ``state`` RobotState of
        ``obs``, ``final_state`` RobotState before the reset, ``episode_steps`` (N,) length of the
        episode that just ended (0 where not done).
        """
        action = np.asarray(action, dtype=np.float64)
        if action.shape != (self.num_envs, self.action_dim):
            raise ValueError(f"action has shape {action.shape}, expected ({self.num_envs}, {self.action_dim})")
        if not np.isfinite(action).all():
            raise ValueError("action contains NaN or inf")
        if self.cfg.action_clip is not None:
            action = np.clip(action, -self.cfg.action_clip, self.cfg.action_clip)
        self._targets = self.robot.default_pos + self.robot.action_scale * action
        self._last_action = action
        self._run(self._step_chunk)
        self._steps += 1

        final_state = self.state()
        final_obs = self._history.push(self._frame(final_state, finite_only=True))
        terminated = self._fallen()
        truncated = (self._steps >= self.max_episode_steps) & ~terminated
        done = terminated | truncated
        episode_steps = np.where(done, self._steps, 0)
        obs, state = final_obs, final_state
        if done.any():
            ids = np.nonzero(done)[0]
            self._reset_envs(ids)
            state = self.state()
            obs = final_obs.copy()
            obs[ids] = self._history.fill(ids, self._frame(state, ids))
        info = {"final_obs": final_obs, "state": state, "final_state": final_state,
                "episode_steps": episode_steps}
        return obs, terminated, truncated, info

    def state(self) -> RobotState:
        """RobotState (N envs) of the current physics states (see obs_spec for conventions)."""
        qpos, qvel, fa, fd = self._qpos, self._qvel, self._fadr, self._fdof
        quat = qpos[:, fa + 3:fa + 7]
        ang_body = qvel[:, fd + 3:fd + 6]  # free joint: angular velocity in the body frame
        lin_world = qvel[:, fd:fd + 3]  # free joint: linear velocity in the world frame
        return RobotState(joint_pos=qpos[:, self._qadr].copy(), joint_vel=qvel[:, self._dadr].copy(),
                          base_quat=quat.copy(), base_ang_vel=ang_body @ self._imu_rot,
                          base_lin_vel=quat_rotate_inverse(quat, lin_world),
                          last_action=self._last_action.copy(), command=self._command.copy())

    def get_qpos(self) -> np.ndarray:
        """(N, nq) copy of the physics positions."""
        return self._qpos.copy()

    def get_qvel(self) -> np.ndarray:
        """(N, nv) copy of the physics velocities."""
        return self._qvel.copy()

    @property
    def episode_steps(self) -> np.ndarray:
        """(N,) policy steps taken in the current episodes."""
        return self._steps.copy()

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown()
            self._pool = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # ---------------------------------------------------------------- internals
    def _run(self, fn) -> None:
        if self._pool is None:
            fn(self._chunks[0])
        else:
            for f in [self._pool.submit(fn, c) for c in self._chunks]:
                f.result()

    def _step_chunk(self, envs: range) -> None:
        m, n, act = self.model, self.robot.substeps, self._act
        for i in envs:
            d = self._datas[i]
            d.ctrl[act] = self._targets[i]
            mujoco.mj_step(m, d, nstep=n)
            self._qpos[i] = d.qpos
            self._qvel[i] = d.qvel

    def _frame(self, state: RobotState, ids: np.ndarray | None = None, finite_only: bool = False) -> np.ndarray:
        if ids is not None:
            state = RobotState(*(getattr(state, f)[ids] for f in
                                 ("joint_pos", "joint_vel", "base_quat", "base_ang_vel", "base_lin_vel",
                                  "last_action", "command")))
        if finite_only:  # a diverged env must not abort the batch; it terminates below
            bad = ~(np.isfinite(self._qpos).all(1) & np.isfinite(self._qvel).all(1))
            if bad.any():
                log.warning("%s: non-finite physics state in env(s) %s; terminating them",
                            self.robot.name, np.nonzero(bad)[0].tolist())
                for f in ("joint_pos", "joint_vel", "base_ang_vel", "base_lin_vel"):
                    getattr(state, f)[bad] = 0.0
                state.base_quat[bad] = (1.0, 0.0, 0.0, 0.0)
        return compute_frame(self.obs_spec, self.robot, state)

    def _fallen(self) -> np.ndarray:
        fa = self._fadr
        quat = self._qpos[:, fa + 3:fa + 7]
        finite = np.isfinite(self._qpos).all(1) & np.isfinite(self._qvel).all(1)
        if not self.cfg.terminate_on_fall:
            return ~finite
        norm2 = np.einsum("ij,ij->i", quat, quat)
        cos_tilt = 1 - 2 * (quat[:, 1] ** 2 + quat[:, 2] ** 2) / np.where(norm2 > 0, norm2, 1)
        return ~finite | (self._qpos[:, fa + 2] < self._min_h) | (cos_tilt < self._min_cos_tilt)

    def _reset_envs(self, ids: np.ndarray) -> None:
        """Default pose + uniform noise for envs ``ids``."""
        m, r, cfg, rng, fa = self.model, self.robot, self.cfg, self._rng, self._fadr
        k = len(ids)
        qpos = np.tile(self.default_qpos, (k, 1))
        qvel = np.zeros((k, m.nv))
        jp = rng.uniform(-1, 1, (k, r.num_joints)) * cfg.joint_pos_noise
        qpos[:, self._qadr] = np.clip(r.default_pos + jp, r.pos_limits[:, 0], r.pos_limits[:, 1])
        qvel[:, self._dadr] = rng.uniform(-1, 1, (k, r.num_joints)) * cfg.joint_vel_noise
        yaw = rng.uniform(-1, 1, k) * cfg.base_yaw_noise
        qpos[:, fa + 3:fa + 7] = np.stack([np.cos(yaw / 2), 0 * yaw, 0 * yaw, np.sin(yaw / 2)], axis=1)
        self._set_states(ids, qpos, qvel)

    def _set_states(self, ids: np.ndarray, qpos: np.ndarray, qvel: np.ndarray) -> None:
        m = self.model
        for j, i in enumerate(ids):
            d = self._datas[i]
            mujoco.mj_resetData(m, d)
            d.qpos[:] = qpos[j]
            d.qvel[:] = qvel[j]
            d.ctrl[self._act] = self.robot.default_pos
            mujoco.mj_forward(m, d)
            self._qpos[i] = d.qpos
            self._qvel[i] = d.qvel
        self._targets[ids] = self.robot.default_pos
        self._last_action[ids] = 0.0
        self._steps[ids] = 0
