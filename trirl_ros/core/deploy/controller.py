"""DeployController: one control tick = newest robot state -> safety checks -> LowCmd.

ROS-free and clock-agnostic: the caller (ROS timer in the deploy node, :mod:`scheduler` loop, or the
lock-step sim2sim driver) calls :meth:`DeployController.tick` once per control period with the time
on the backend's clock and sends the returned command. See :mod:`trirl_ros.core.deploy.safety` for the
states and faults.
"""

from __future__ import annotations

import logging
from typing import Callable

import numpy as np

from trirl_ros.core.deploy.backends.base import LowCmd, LowState
from trirl_ros.core.deploy.commands import CommandShaper
from trirl_ros.core.deploy.config import DeployConfig
from trirl_ros.core.deploy.observation import CommandFilter, ObservationBuilder
from trirl_ros.core.deploy.policy_spec import PolicySpec
from trirl_ros.core.deploy.safety import FaultChecker, SafetyFsm, SafetyState
from trirl_ros.core.robots.spec import RobotSpec

log = logging.getLogger(__name__)

#: a policy: observation (D,) float32 -> action (A,) (e.g. ``PolicyRunner.run``)
PolicyFn = Callable[[np.ndarray], np.ndarray]

_PD_STATES = (SafetyState.RAMP, SafetyState.HOLD, SafetyState.POLICY)


class DeployController:
    """Safety state machine + observation builder + policy + command shaping for one robot.

    Args:
        robot: the robot being driven. spec: the policy's spec (checked against ``robot``:
            :class:`~trirl_ros.core.deploy.policy_spec.PolicySpecMismatch` on mismatch).
        policy: callable obs (D,) -> action (J,). cfg: deploy settings.
        period: control period in seconds (default ``1 / spec.control_hz``).
    """

    def __init__(self, robot: RobotSpec, spec: PolicySpec, policy: PolicyFn,
                 cfg: DeployConfig | None = None, period: float | None = None) -> None:
        cfg = cfg or DeployConfig()
        spec.check_robot(robot)
        self.robot, self.spec, self.policy, self.cfg = robot, spec, policy, cfg
        self.period = float(period) if period is not None else 1.0 / spec.control_hz
        self.fsm = SafetyFsm()
        self.faults = FaultChecker(robot, cfg.safety)
        self.obs = ObservationBuilder(robot, spec)
        self.shaper = CommandShaper(robot, spec, cfg.safety.damping_kd_scale)
        self.command = CommandFilter(cfg.command)
        self.estimator = None
        if spec.uses("base_lin_vel") and cfg.estimator.enabled:
            from trirl_ros.core.deploy.estimator import BaseVelocityEstimator

            self.estimator = BaseVelocityEstimator(robot, cfg.estimator)
        #: (3,) the estimator's latest base velocity (base frame), None without an estimator
        self.lin_vel_estimate: np.ndarray | None = None
        self._last_rx: float | None = None
        self._last_bad_rx: float | None = None
        self._missed = 0  # consecutive ticks without a new state
        self._last_tick: float | None = None
        #: ticks that came more than 1.5 periods after the one before (the control loop itself was late)
        self.overruns = 0
        #: longest time between two ticks so far (s)
        self.max_tick_gap = 0.0
        self._low: LowState | None = None
        self._ramp_from: np.ndarray | None = None
        self._start_requested = False
        self._stop_reason: str | None = None
        self.ticks = 0
        self.crc_errors = 0
        self.last_action = np.zeros(spec.num_joints)
        self.last_cmd = self.shaper.zero_torque()
        self.last_obs: np.ndarray | None = None

    # ---- operator interface -------------------------------------------------------------------
    @property
    def state(self) -> SafetyState:
        return self.fsm.state

    def request_start(self) -> None:
        """Operator: advance ZERO_TORQUE -> RAMP, or HOLD -> POLICY (when not auto_start)."""
        self._start_requested = True

    def request_stop(self, reason: str = "operator stop") -> None:
        """Operator: go to DAMPING on the next tick."""
        self._stop_reason = reason

    def set_velocity_command(self, command, now: float) -> None:
        """New cmd_vel target (3,) vx, vy, wz (clamped and slew-rate limited)."""
        self.command.set_target(command, now)

    # ---- the tick -----------------------------------------------------------------------------
    def tick(self, sample: tuple[LowState, float] | None, now: float,
             base_lin_vel: np.ndarray | None = None) -> LowCmd:
        """One control step. ``sample`` is the backend's ``latest_state()``; ``now`` the time on the
        same clock; ``base_lin_vel`` (3,) the base velocity for policies observing it when the caller
        has it (a simulator's ground truth); otherwise the estimator's, when enabled.
        Returns the LowCmd to send (also kept as :attr:`last_cmd`)."""
        self.ticks += 1
        self._note_tick_gap(now)
        cmd_value = self.command.update(now)
        fresh = False
        if sample is not None:
            low, rx = sample
            if not low.crc_ok:  # never refreshes the staleness clock
                if rx != self._last_bad_rx:
                    self._last_bad_rx = rx
                    self.crc_errors += 1
            elif self._last_rx is None or rx > self._last_rx:
                est = self.estimator  # a NaN state damps below; it must not reach the filter first
                if est is not None and np.isfinite(low.imu_acc).all() and np.isfinite(low.motor_q).all():
                    dt = 0.0 if self._last_rx is None else min(rx - self._last_rx, 5 * self.period)
                    self.lin_vel_estimate = est.update(low, dt)
                self._last_rx = rx
                fresh = True
                self._low = low
        self._missed = 0 if fresh else self._missed + 1
        if base_lin_vel is None:
            base_lin_vel = self.lin_vel_estimate
        fsm = self.fsm
        if fsm.state != SafetyState.DAMPING:
            reason = self._fault(now)
            if reason is not None:
                fsm.to(SafetyState.DAMPING, now, reason)
        state = fsm.state
        start, self._start_requested = self._start_requested, False
        auto = self.cfg.safety.auto_start
        if state == SafetyState.WAIT_STATE:
            if self._low is not None:
                fsm.to(SafetyState.ZERO_TORQUE, now, "first robot state received")
            cmd = self.shaper.zero_torque()
        elif state == SafetyState.ZERO_TORQUE:
            cmd = self.shaper.zero_torque()
            if start or (auto and fsm.elapsed(now) >= self.cfg.safety.zero_torque_s - 1e-9):
                self._ramp_from = self.shaper.measured(self._low.motor_q)
                fsm.to(SafetyState.RAMP, now, "operator start" if start else "zero-torque time elapsed")
                cmd = self._ramp_cmd(now)
        elif state == SafetyState.RAMP:
            cmd = self._ramp_cmd(now)
            if fsm.elapsed(now) >= self.cfg.safety.ramp_s - 1e-9:
                fsm.to(SafetyState.HOLD, now, f"ramp to the default pose done ({self.cfg.safety.ramp_s:g} s)")
        elif state == SafetyState.HOLD:
            cmd = self.shaper.pd(self.shaper.default_pos)
            if start or (auto and fsm.elapsed(now) >= self.cfg.safety.hold_s - 1e-9):
                fsm.to(SafetyState.POLICY, now, "operator start" if start else "hold time elapsed")
                self.obs.reset()
                cmd = self._policy_cmd(now, cmd_value, base_lin_vel)
        elif state == SafetyState.POLICY:
            cmd = self._policy_cmd(now, cmd_value, base_lin_vel)
        else:
            cmd = self.shaper.damping()
        self.last_cmd = cmd
        return cmd

    # ---- helpers ------------------------------------------------------------------------------
    def _fault(self, now: float) -> str | None:
        if self._stop_reason is not None:
            reason, self._stop_reason = self._stop_reason, None
            return reason
        state = self.fsm.state
        if state == SafetyState.WAIT_STATE:
            if self._low is not None:
                return self.faults.non_finite(self._low)
            return None
        if self._missed >= self.cfg.safety.stale_periods:
            age = now - self._last_rx if self._last_rx is not None else float("inf")
            return f"stale robot state: no new state on {self._missed} control ticks ({age * 1e3:.0f} ms)"
        low = self._low
        reason = self.faults.non_finite(low)
        if reason is None and state in _PD_STATES:
            reason = self.faults.limits(low)
        if reason is None and state in (SafetyState.HOLD, SafetyState.POLICY):
            reason = self.faults.tilt(low)
        return reason

    def _note_tick_gap(self, now: float) -> None:
        """Count control-loop overruns. A late tick is the controller's fault, not the robot's: it
        is logged and reported (diagnostics), never taken for a silent robot."""
        if self._last_tick is not None:
            gap = now - self._last_tick
            if gap > 1.5 * self.period:
                self.overruns += 1
                if gap > self.max_tick_gap:  # log each new worst case, count the rest
                    log.warning("control loop overrun: %.0f ms between ticks (period %.0f ms, %d so far)",
                                gap * 1e3, self.period * 1e3, self.overruns)
            self.max_tick_gap = max(self.max_tick_gap, gap)
        self._last_tick = now

    def _ramp_cmd(self, now: float) -> LowCmd:
        alpha = min(1.0, max(0.0, self.fsm.elapsed(now) / self.cfg.safety.ramp_s))
        target = self._ramp_from + alpha * (self.shaper.default_pos - self._ramp_from)
        return self.shaper.pd(target)

    def _policy_cmd(self, now: float, command: np.ndarray, base_lin_vel) -> LowCmd:
        try:
            obs = self.obs.build(self._low, command, base_lin_vel)
        except ValueError as exc:  # a used observation value is not finite
            self.fsm.to(SafetyState.DAMPING, now, f"bad observation: {exc}")
            return self.shaper.damping()
        self.last_obs = obs
        action = np.asarray(self.policy(obs), dtype=np.float64).reshape(-1)
        if action.shape[0] != self.spec.num_joints:
            self.fsm.to(SafetyState.DAMPING, now,
                        f"policy returned {action.shape[0]} actions, expected {self.spec.num_joints}")
            return self.shaper.damping()
        if not np.isfinite(action).all():
            self.fsm.to(SafetyState.DAMPING, now, "non-finite policy action")
            return self.shaper.damping()
        action = self.shaper.clip_action(action)
        self.obs.record_action(action)
        self.last_action = action
        return self.shaper.policy(action)
