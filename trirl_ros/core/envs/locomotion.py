"""Vectorized MuJoCo locomotion env for the Unitree G1 and Go2 (ROS-free core).

N environments share one ``MjModel``; their full physics states live in one array
(N, nstate) (``mjSTATE_FULLPHYSICS``). A policy step sets the PD targets
``q* = default_pos + action_scale * action`` clipped to the joint ranges (``RobotSpec.action_targets``,
the mapping deploy sends) and advances every env by ``robot.substeps`` physics steps: with the
``mujoco`` backend (``cfg.backend``) through ``mujoco.rollout`` on ``num_threads`` C threads (no Python
per env or per physics step; the GIL is released), with ``warp`` batched on one MuJoCo Warp device
(:mod:`trirl_ros.core.envs.physics`). The PD law runs in MuJoCo's actuator model at physics rate (see
:mod:`trirl_ros.core.envs.pd`). Each policy step starts from a zero solver warm-start, so results are
deterministic and do not depend on the thread count.

Velocity commands (the ``velocity_command`` observation term): fixed (``cfg.command``), drawn per env
from ``cfg.command_ranges`` at resets and every ``cfg.command_resample_s``, or set from outside with
:meth:`LocomotionEnv.set_commands` (evaluations, replays).

Episodes end by *termination* (a fall: base height below the threshold, base tilt above it, or
a non-finite state) or by *truncation* (time limit); the two are reported separately (absorbing
states need the difference). Done envs are reset automatically.
"""

from __future__ import annotations

import logging
import math

import mujoco
import numpy as np

from trirl_ros.core import quat as Q
from trirl_ros.core.envs.config import EnvConfig
from trirl_ros.core.envs.obs_spec import ObsHistory, ObsSpec, RobotState, compute_frame, quat_rotate_inverse
from trirl_ros.core.envs.pd import apply_pd_actuators
from trirl_ros.core.envs.physics import make_physics
from trirl_ros.core.robots.models import (body_id, default_qpos, free_joint_dof_adr, free_joint_qpos_adr,
                                          joint_dof_adr, joint_qpos_adr, load_model, site_id)
from trirl_ros.core.robots.spec import RobotSpec

log = logging.getLogger(__name__)


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
        self._fdof = free_joint_dof_adr(m, robot)
        imu = site_id(m, robot.imu_site)
        if m.site_bodyid[imu] != body_id(m, robot.base_body):
            raise ValueError(f"{robot.name}: imu_site {robot.imu_site!r} is not on base body {robot.base_body!r}")
        self._imu_rot = Q.to_matrix(m.site_quat[imu])  # (3, 3) IMU site frame in the base body
        self.default_qpos = default_qpos(m, robot)  # (nq,)
        self.max_episode_steps = int(round(cfg.episode_length_s * robot.policy_hz))
        self._min_h = robot.fall_min_height if cfg.fall_min_height is None else cfg.fall_min_height
        tilt = robot.fall_max_tilt_deg if cfg.fall_max_tilt_deg is None else cfg.fall_max_tilt_deg
        self._min_cos_tilt = math.cos(math.radians(tilt))
        self.obs_spec: ObsSpec = cfg.obs
        self.action_dim = robot.num_joints
        self._frame_dim = cfg.obs.frame_dim(robot.num_joints)
        self.observation_dim = cfg.obs.dim(robot.num_joints)

        self._spec = mujoco.mjtState.mjSTATE_FULLPHYSICS
        nstate = mujoco.mj_stateSize(m, self._spec)
        self._state = np.zeros((num_envs, nstate))  # full physics state per env
        self._ctrl = np.zeros((num_envs, m.nu))  # PD targets, held for every substep
        # qpos / qvel live inside the state vector: [time, qpos (nq), qvel (nv), ...]
        self._qpos = self._state[:, 1:1 + m.nq]
        self._qvel = self._state[:, 1 + m.nq:1 + m.nq + m.nv]
        self._scratch = mujoco.MjData(m)
        self._check_state_layout()
        self._last_action = np.zeros((num_envs, robot.num_joints))
        self._steps = np.zeros(num_envs, dtype=np.int64)
        # per-env time limit (steps): max_episode_steps unless set_time_limit shortened the episode
        self._limit = np.full(num_envs, self.max_episode_steps, dtype=np.int64)
        self._history = ObsHistory(num_envs, self._frame_dim, cfg.obs.history)
        self._command = np.tile(np.asarray(cfg.command, dtype=np.float64), (num_envs, 1))
        self._rng = np.random.default_rng(seed)
        self._resample_steps = (None if cfg.command_resample_s is None
                                else self._policy_steps(cfg.command_resample_s))
        self._physics = make_physics(cfg.backend, m, num_envs, robot.substeps, num_threads, cfg.backend_device)
        self._reset_envs(np.arange(num_envs))  # states valid before the first reset()

    # ---------------------------------------------------------------- public API
    @property
    def num_threads(self) -> int:
        return self._physics.num_threads

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

    def set_time_limit(self, env_ids: np.ndarray, seconds: float) -> None:
        """Truncate the current episodes of envs ``env_ids`` (M,) after ``seconds`` (counted from their
        start, at least one step); the next reset of an env restores ``episode_length_s``."""
        ids = np.asarray(env_ids, dtype=np.int64).reshape(-1)
        if not seconds > 0:
            raise ValueError(f"set_time_limit: seconds must be > 0, got {seconds}")
        if len(ids) and (ids.min() < 0 or ids.max() >= self.num_envs):
            raise ValueError(f"set_time_limit: env_ids must lie in [0, {self.num_envs}), got {ids.tolist()}")
        self._limit[ids] = min(self.max_episode_steps, self._policy_steps(seconds))

    def _policy_steps(self, seconds: float) -> int:
        """``seconds`` as a whole number of policy steps, at least one."""
        return max(1, int(round(seconds * self.robot.policy_hz)))

    def step(self, action: np.ndarray):
        """Advance all envs one policy step.

        action (N, J) float32 (policy order). Returns ``obs (N, D), terminated (N,) bool,
        truncated (N,) bool, info``; done envs are reset and their ``obs`` row is the first
        observation of the new episode. ``info``: ``final_obs`` (N, D) observation reached by
        the step (before any reset; equals ``obs`` where not done), ``state`` RobotState of
        ``obs``, ``final_state`` RobotState before the reset, ``final_qpos`` (N, nq) / ``final_qvel``
        (N, nv) the physics state the step reached (before any reset), ``episode_steps`` (N,) length
        of the episode that just ended (0 where not done).
        """
        action = np.asarray(action, dtype=np.float64)
        if action.shape != (self.num_envs, self.action_dim):
            raise ValueError(f"action has shape {action.shape}, expected ({self.num_envs}, {self.action_dim})")
        if not np.isfinite(action).all():
            raise ValueError("action contains NaN or inf")
        if self.cfg.action_clip is not None:
            action = np.clip(action, -self.cfg.action_clip, self.cfg.action_clip)
        self._ctrl[:, self._act] = self.robot.action_targets(action)
        self._last_action = action
        self._physics.step(self._state, self._ctrl)
        self._steps += 1
        if self._resample_steps is not None:
            due = np.nonzero(self._steps % self._resample_steps == 0)[0]
            if len(due):
                self._draw_commands(due)

        final_state = self.state()
        final_qpos, final_qvel = self._qpos.copy(), self._qvel.copy()
        final_obs = self._history.push(self._frame(final_state, finite_only=True))
        terminated = self._fallen()
        truncated = (self._steps >= self._limit) & ~terminated
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
                "final_qpos": final_qpos, "final_qvel": final_qvel, "episode_steps": episode_steps}
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

    @property
    def commands(self) -> np.ndarray:
        """(N, 3) copy of each env's velocity command (vx, vy, wz)."""
        return self._command.copy()

    def set_commands(self, commands: np.ndarray, env_ids: np.ndarray | None = None) -> None:
        """Set the velocity commands (M, 3) of envs ``env_ids`` (default all). They hold until the
        env draws a new one (resets / resampling, only with ``cfg.command_ranges``); the next
        observation carries them."""
        ids = np.arange(self.num_envs) if env_ids is None else np.asarray(env_ids, dtype=np.int64).reshape(-1)
        commands = np.asarray(commands, dtype=np.float64)
        if commands.shape != (len(ids), 3) or not np.isfinite(commands).all():
            raise ValueError(f"set_commands: commands must be finite with shape ({len(ids)}, 3), got {commands.shape}")
        self._command[ids] = commands

    def get_qpos(self) -> np.ndarray:
        """(N, nq) copy of the physics positions."""
        return self._qpos.copy()

    def get_qvel(self) -> np.ndarray:
        """(N, nv) copy of the physics velocities."""
        return self._qvel.copy()

    @property
    def physics_state(self) -> np.ndarray:
        """(N, nstate) copy of the full physics states [time, qpos, qvel]."""
        return self._state.copy()

    def set_physics_state(self, state: np.ndarray) -> None:
        """Overwrite the physics states (N, nstate) without restarting the episodes (replays, and
        comparing the physics backends from the same states)."""
        state = np.asarray(state, dtype=np.float64)
        if state.shape != self._state.shape or not np.isfinite(state).all():
            raise ValueError(f"set_physics_state: state must be finite with shape {self._state.shape}, got {state.shape}")
        self._state[:] = state

    @property
    def episode_steps(self) -> np.ndarray:
        """(N,) policy steps taken in the current episodes."""
        return self._steps.copy()

    def data(self, env_id: int) -> mujoco.MjData:
        """A new MjData holding env ``env_id``'s state and PD targets, after mj_forward (for
        kinematics such as body positions/velocities; changing it does not affect the env)."""
        d = mujoco.MjData(self.model)
        mujoco.mj_setState(self.model, d, self._state[env_id], self._spec)
        d.ctrl[:] = self._ctrl[env_id]
        mujoco.mj_forward(self.model, d)
        return d

    def close(self) -> None:
        if self._physics is not None:
            self._physics.close()
            self._physics = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # ---------------------------------------------------------------- internals
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

    def _check_state_layout(self) -> None:
        """The qpos/qvel views assume the documented [time, qpos, qvel, ...] state layout."""
        m, d = self.model, self._scratch
        mujoco.mj_resetData(m, d)
        d.qpos[:] = np.arange(m.nq)
        d.qvel[:] = -np.arange(1, m.nv + 1)
        row = np.empty(self._state.shape[1])
        mujoco.mj_getState(m, d, row, self._spec)
        if not (np.array_equal(row[1:1 + m.nq], d.qpos) and np.array_equal(row[1 + m.nq:1 + m.nq + m.nv], d.qvel)):
            raise RuntimeError("unexpected mjSTATE_FULLPHYSICS layout in this MuJoCo version")

    def _fallen(self) -> np.ndarray:
        fa = self._fadr
        quat = self._qpos[:, fa + 3:fa + 7]
        finite = np.isfinite(self._qpos).all(1) & np.isfinite(self._qvel).all(1)
        if not self.cfg.terminate_on_fall:
            return ~finite
        return ~finite | (self._qpos[:, fa + 2] < self._min_h) | (Q.tilt_cos(quat) < self._min_cos_tilt)

    def _draw_commands(self, ids: np.ndarray) -> None:
        lo, hi = np.asarray(self.cfg.command_ranges, dtype=np.float64).T  # (3,) each
        self._command[ids] = lo + (hi - lo) * self._rng.random((len(ids), 3))

    def _reset_envs(self, ids: np.ndarray) -> None:
        """Default pose + uniform noise for envs ``ids`` (and new commands with ``command_ranges``)."""
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
        if self.cfg.command_ranges is not None:
            self._draw_commands(ids)

    def _set_states(self, ids: np.ndarray, qpos: np.ndarray, qvel: np.ndarray) -> None:
        m, d = self.model, self._scratch
        for j, i in enumerate(ids):
            mujoco.mj_resetData(m, d)
            d.qpos[:] = qpos[j]
            d.qvel[:] = qvel[j]
            mujoco.mj_normalizeQuat(m, d.qpos)
            mujoco.mj_getState(m, d, self._state[i], self._spec)
        self._ctrl[np.ix_(ids, self._act)] = self.robot.default_pos
        self._last_action[ids] = 0.0
        self._steps[ids] = 0
        self._limit[ids] = self.max_episode_steps
