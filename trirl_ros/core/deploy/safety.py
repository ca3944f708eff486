"""Safety state machine of the deploy loop and the fault checks that end in DAMPING.

States (in order)::

    WAIT_STATE -> ZERO_TORQUE -> RAMP -> HOLD -> POLICY
         \\______________\\____________\\______\\______\\___> DAMPING (latched)

* WAIT_STATE: no robot state yet; commands are zero torque.
* ZERO_TORQUE: state arrives; motors limp (kp = kd = 0) for ``zero_torque_s`` / until start.
* RAMP: PD to a target moving linearly from the measured pose to the default pose in ``ramp_s``.
* HOLD: PD at the default pose for ``hold_s`` / until start.
* POLICY: the ONNX policy drives the targets.
* DAMPING: kp = 0, kd only, dq = 0: the robot sinks slowly. Latched until the loop is reset.

Faults -> DAMPING on the tick that sees them (within one control period): stale state (no new state
on ``stale_periods`` consecutive ticks), NaN/inf in the state or the action, joint position beyond the range
(+ margin) or velocity beyond the limit (+ factor) on ``vel_limit_ticks`` consecutive ticks, base tilt
beyond the threshold, operator stop. Every
transition is logged with its reason and kept in :attr:`SafetyFsm.transitions`.
"""

from __future__ import annotations

import enum
import logging
import math
from dataclasses import dataclass

import numpy as np

from trirl_ros.core import quat as Q
from trirl_ros.core.deploy.backends.base import LowState
from trirl_ros.core.deploy.config import SafetyConfig
from trirl_ros.core.robots.spec import RobotSpec

log = logging.getLogger(__name__)


class SafetyState(str, enum.Enum):
    WAIT_STATE = "WAIT_STATE"
    ZERO_TORQUE = "ZERO_TORQUE"
    RAMP = "RAMP"
    HOLD = "HOLD"
    POLICY = "POLICY"
    DAMPING = "DAMPING"

    def __str__(self) -> str:
        return self.value


#: forward edges allowed besides "anything -> DAMPING"
_NEXT = {
    SafetyState.WAIT_STATE: SafetyState.ZERO_TORQUE,
    SafetyState.ZERO_TORQUE: SafetyState.RAMP,
    SafetyState.RAMP: SafetyState.HOLD,
    SafetyState.HOLD: SafetyState.POLICY,
}


@dataclass(frozen=True)
class Transition:
    """One state change: ``time`` on the control clock, from/to state, why."""

    time: float
    source: SafetyState
    target: SafetyState
    reason: str


class SafetyFsm:
    """The state variable with its legal edges; :meth:`to` logs and records every change."""

    def __init__(self) -> None:
        self.state = SafetyState.WAIT_STATE
        self.since = 0.0  # control-clock time the current state was entered
        self.transitions: list[Transition] = []

    def to(self, target: SafetyState, now: float, reason: str) -> None:
        """Change state; raises RuntimeError on an edge the machine does not have."""
        source = self.state
        if target == source:
            return
        legal = target == SafetyState.DAMPING or _NEXT.get(source) == target
        if not legal or source == SafetyState.DAMPING:
            raise RuntimeError(f"illegal safety transition {source} -> {target} ({reason})")
        self.state, self.since = target, now
        self.transitions.append(Transition(now, source, target, reason))
        level = logging.WARNING if target == SafetyState.DAMPING else logging.INFO
        log.log(level, "safety %s -> %s at t=%.3f s: %s", source, target, now, reason)

    def elapsed(self, now: float) -> float:
        """Seconds spent in the current state."""
        return now - self.since


def tilt_deg(quat_wxyz: np.ndarray) -> float:
    """Angle (deg) between the base z axis and world z for a w, x, y, z quaternion (4,)."""
    return math.degrees(math.acos(max(-1.0, min(1.0, float(Q.tilt_cos(quat_wxyz))))))


class FaultChecker:
    """Checks one LowState against the robot's limits. All robot joints are checked (by motor slot).

    Args:
        robot: the robot spec (ranges, velocity limits, fall tilt).
        cfg: thresholds (margin, velocity factor, tilt).
    """

    def __init__(self, robot: RobotSpec, cfg: SafetyConfig) -> None:
        self.names = robot.joint_names
        self.idx = robot.motor_indices
        self.lo = robot.pos_limits[:, 0] - cfg.pos_limit_margin
        self.hi = robot.pos_limits[:, 1] + cfg.pos_limit_margin
        self.vmax = robot.vel_limit * cfg.vel_limit_factor
        self.vel_ticks = cfg.vel_limit_ticks
        self._over = np.zeros(len(self.names), dtype=np.int64)  # consecutive ticks beyond vmax, per joint
        self.max_tilt = cfg.max_tilt_deg if cfg.max_tilt_deg is not None else robot.fall_max_tilt_deg

    def non_finite(self, low: LowState) -> str | None:
        """Reason string when any used value of ``low`` is NaN/inf, else None."""
        for name, arr in (("motor_q", low.motor_q[self.idx]), ("motor_dq", low.motor_dq[self.idx]),
                          ("imu_quat", low.imu_quat), ("imu_gyro", low.imu_gyro)):
            if not np.isfinite(arr).all():
                return f"non-finite {name} in robot state"
        if np.linalg.norm(low.imu_quat) < 1e-6:
            return "zero IMU quaternion in robot state"
        return None

    def limits(self, low: LowState) -> str | None:
        """Reason when a joint position is outside range + margin or a velocity has been beyond the
        limit on ``vel_limit_ticks`` consecutive calls (call once per control tick)."""
        q, dq = low.motor_q[self.idx], low.motor_dq[self.idx]
        bad = np.nonzero((q < self.lo) | (q > self.hi))[0]
        if bad.size:
            i = int(bad[0])
            return (f"joint {self.names[i]} position {q[i]:.3f} rad beyond its limits "
                    f"[{self.lo[i]:.3f}, {self.hi[i]:.3f}] (incl. margin)")
        over = np.abs(dq) > self.vmax
        self._over = np.where(over, self._over + 1, 0)
        bad = np.nonzero(self._over >= self.vel_ticks)[0]
        if bad.size:
            i = int(bad[0])
            return (f"joint {self.names[i]} velocity {dq[i]:.2f} rad/s beyond its limit {self.vmax[i]:.2f} "
                    f"for {self._over[i]} control tick(s)")
        return None

    def tilt(self, low: LowState) -> str | None:
        """Reason when the base tilt exceeds the threshold."""
        angle = tilt_deg(low.imu_quat)
        if angle > self.max_tilt:
            return f"base tilt {angle:.1f} deg beyond {self.max_tilt:.1f} deg"
        return None
