"""Observations on the robot: LowState (motor slots) -> RobotState (policy order) -> the policy input,
through the same :func:`~trirl_ros.core.envs.obs_spec.compute_frame` the training env uses.

Also the velocity command filter fed from ``cmd_vel`` (clamped, slew-rate limited, timed out).
"""

from __future__ import annotations

import logging

import numpy as np

from trirl_ros.core.deploy.backends.base import LowState
from trirl_ros.core.deploy.config import CommandConfig
from trirl_ros.core.deploy.policy_spec import PolicySpec
from trirl_ros.core.envs.obs_spec import ObsHistory, RobotState, compute_frame
from trirl_ros.core.robots.spec import RobotSpec

log = logging.getLogger(__name__)


class ObservationBuilder:
    """Builds the policy input (D,) float32 from a :class:`LowState`.

    Joint arrays are read from the motor slots of the policy's joints (``motor_index`` of each
    ``spec.joint_names`` entry), so they come out in the POLICY's joint order; ``imu_quat`` (w first)
    and ``imu_gyro`` give base orientation and angular velocity. ``base_lin_vel`` is not measured by
    LowState: pass it to :meth:`build` (a state estimator, or the simulator's ground truth);
    a policy that uses it without a source gets zeros and a warning once.
    """

    def __init__(self, robot: RobotSpec, spec: PolicySpec) -> None:
        self.spec = spec
        self.robot = spec.policy_robot(robot)  # policy order + policy offsets; checks the match
        self.motor_idx = self.robot.motor_indices  # (J,) slot of each policy joint
        self.num_joints = self.robot.num_joints
        self.frame_dim = spec.obs.frame_dim(self.num_joints)
        self._history = ObsHistory(1, self.frame_dim, spec.obs.history)
        self._command_scale = np.asarray(spec.command_scale, dtype=np.float64)
        self._needs_lin_vel = spec.uses("base_lin_vel")
        self._warned_lin_vel = False
        self.last_action = np.zeros(self.num_joints, dtype=np.float64)

    def reset(self) -> None:
        """Start of a policy episode: zero last action; the next frame fills the whole history."""
        self.last_action[:] = 0.0
        self._history.reset()

    def robot_state(self, low: LowState, command: np.ndarray | None = None,
                    base_lin_vel: np.ndarray | None = None) -> RobotState:
        """The (N=1) RobotState in policy order. ``command`` (3,) vx, vy, wz before command_scale."""
        if low.num_slots < int(self.motor_idx.max()) + 1:
            raise ValueError(f"LowState has {low.num_slots} motor slots, the policy needs slot "
                             f"{int(self.motor_idx.max())}")
        if base_lin_vel is None:
            if self._needs_lin_vel and not self._warned_lin_vel:
                log.warning("policy observes base_lin_vel but no estimate is available: using zeros")
                self._warned_lin_vel = True
            lin = np.zeros(3) if self._needs_lin_vel else np.full(3, np.nan)
        else:
            lin = np.asarray(base_lin_vel, dtype=np.float64).reshape(3)
        cmd = np.zeros(3) if command is None else np.asarray(command, dtype=np.float64).reshape(3)
        return RobotState(
            joint_pos=low.motor_q[self.motor_idx][None, :],
            joint_vel=low.motor_dq[self.motor_idx][None, :],
            base_quat=low.imu_quat[None, :],
            base_ang_vel=low.imu_gyro[None, :],
            base_lin_vel=lin[None, :],
            last_action=self.last_action[None, :],
            command=(cmd * self._command_scale)[None, :],
        )

    def build(self, low: LowState, command: np.ndarray | None = None,
              base_lin_vel: np.ndarray | None = None) -> np.ndarray:
        """Push one frame and return the stacked policy input (D,) float32 (D = spec.obs_dim).
        Raises ValueError naming the term when a used value is not finite."""
        frame = compute_frame(self.spec.obs, self.robot, self.robot_state(low, command, base_lin_vel))
        return self._history.push(frame)[0]

    def record_action(self, action: np.ndarray) -> None:
        """Remember the raw policy action (J,) for the ``last_action`` term of the next frame."""
        self.last_action[:] = action


class CommandFilter:
    """Velocity command (vx, vy, wz) for command-conditioned policies.

    :meth:`set_target` (from ``cmd_vel``) clamps to ``cfg.max``; :meth:`update` moves the output
    towards the target by at most ``max_rate * dt`` and falls back to a zero target when no command
    arrived for ``cfg.timeout_s``. Times are seconds on the control loop's clock.
    """

    def __init__(self, cfg: CommandConfig) -> None:
        self.cfg = cfg
        self._max = np.asarray(cfg.max, dtype=np.float64)
        self._rate = np.asarray(cfg.max_rate, dtype=np.float64)
        self._target = np.zeros(3)
        self._value = np.zeros(3)
        self._target_time: float | None = None
        self._last_update: float | None = None

    @property
    def value(self) -> np.ndarray:
        """(3,) the current filtered command."""
        return self._value.copy()

    def set_target(self, command, now: float) -> None:
        """New operator command (3,) vx [m/s], vy [m/s], wz [rad/s]; non-finite values are rejected."""
        cmd = np.asarray(command, dtype=np.float64).reshape(3)
        if not np.isfinite(cmd).all():
            raise ValueError(f"velocity command must be finite, got {cmd.tolist()}")
        self._target = np.clip(cmd, -self._max, self._max)
        self._target_time = now

    def update(self, now: float) -> np.ndarray:
        """Advance the filter to time ``now``; returns the (3,) command to observe."""
        dt = 0.0 if self._last_update is None else max(0.0, now - self._last_update)
        self._last_update = now
        target = self._target
        if self._target_time is None or now - self._target_time > self.cfg.timeout_s:
            target = np.zeros(3)
        step = np.clip(target - self._value, -self._rate * dt, self._rate * dt)
        self._value = self._value + step
        return self._value.copy()

    def reset(self) -> None:
        self._target[:] = 0.0
        self._value[:] = 0.0
        self._target_time = None
        self._last_update = None
