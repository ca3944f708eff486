"""Deployment settings (``config/deploy/*.yaml``): safety state machine timings/thresholds, the
velocity-command filter and the base-velocity estimator. Frozen, validated dataclasses loaded with
:func:`load_deploy_config`."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

from trirl_ros.core.config import config_path, load_yaml
from trirl_ros.core.deploy.estimator_config import EstimatorConfig


def _positive(name: str, value: float, allow_zero: bool = False) -> None:
    ok = math.isfinite(value) and (value >= 0 if allow_zero else value > 0)
    if not ok:
        raise ValueError(f"{name} must be {'>= 0' if allow_zero else '> 0'}, got {value!r}")


@dataclass(frozen=True)
class SafetyConfig:
    """Safety state machine settings (see :mod:`trirl_ros.core.deploy.safety`).

    zero_torque_s: time in ZERO_TORQUE before the ramp (auto_start) -- keep short when the robot
        stands on the floor, it sags while limp.
    ramp_s: RAMP duration, linear interpolation from the measured pose to the default pose.
    hold_s: HOLD duration before the policy starts (auto_start).
    auto_start: advance ZERO_TORQUE -> RAMP and HOLD -> POLICY by time; when false each advance
        waits for an operator start request.
    stale_periods: the state is stale (damping) when this many consecutive control ticks found no new
        one. Counted in ticks, not wall-clock time: the backend is drained on each tick, so a stall of
        the controller's own process is a late tick (an overrun, reported) and not a silent robot.
    max_tilt_deg: base tilt (angle between base z and world z) that triggers damping in HOLD/POLICY;
        null uses the robot spec's fall_max_tilt_deg.
    pos_limit_margin: rad beyond the joint range tolerated before damping (RAMP/HOLD/POLICY).
    vel_limit_factor: |qdot| > factor * vel_limit on ``vel_limit_ticks`` consecutive control ticks
        triggers damping (RAMP/HOLD/POLICY). A foot impact gives a one-sample spike (a walking Go2
        calf: 16.8-18.7 rad/s against its 15.7 for one tick); a runaway stays above the limit.
    damping_kd_scale: DAMPING uses kd = scale * the robot's kd, kp = 0.
    """

    zero_torque_s: float = 0.5
    ramp_s: float = 2.0
    hold_s: float = 1.0
    auto_start: bool = True
    stale_periods: int = 3
    max_tilt_deg: float | None = None
    pos_limit_margin: float = 0.1
    vel_limit_factor: float = 1.0
    vel_limit_ticks: int = 1
    damping_kd_scale: float = 1.0

    def __post_init__(self) -> None:
        _positive("safety.zero_torque_s", self.zero_torque_s, allow_zero=True)
        _positive("safety.ramp_s", self.ramp_s)
        _positive("safety.hold_s", self.hold_s, allow_zero=True)
        if self.stale_periods < 1:
            raise ValueError(f"safety.stale_periods must be >= 1, got {self.stale_periods}")
        if self.max_tilt_deg is not None and not 0 < self.max_tilt_deg <= 180:
            raise ValueError(f"safety.max_tilt_deg must be in (0, 180], got {self.max_tilt_deg}")
        _positive("safety.pos_limit_margin", self.pos_limit_margin, allow_zero=True)
        _positive("safety.vel_limit_factor", self.vel_limit_factor)
        if self.vel_limit_ticks < 1:
            raise ValueError(f"safety.vel_limit_ticks must be >= 1, got {self.vel_limit_ticks}")
        _positive("safety.damping_kd_scale", self.damping_kd_scale)


@dataclass(frozen=True)
class CommandConfig:
    """Velocity command (vx, vy, wz) fed from ``cmd_vel``: clamped to ``max``, slew-rate limited to
    ``max_rate`` per second, and reset to zero when no command arrived for ``timeout_s``."""

    max: tuple[float, float, float] = (1.0, 0.5, 1.0)
    max_rate: tuple[float, float, float] = (1.0, 1.0, 2.0)
    timeout_s: float = 0.5

    def __post_init__(self) -> None:
        for name in ("max", "max_rate"):
            values = getattr(self, name)
            if len(values) != 3:
                raise ValueError(f"command.{name} must have 3 values (vx, vy, wz), got {values}")
            for v in values:
                _positive(f"command.{name}", v, allow_zero=True)
        _positive("command.timeout_s", self.timeout_s)


@dataclass(frozen=True)
class DeployConfig:
    safety: SafetyConfig = field(default_factory=SafetyConfig)
    command: CommandConfig = field(default_factory=CommandConfig)
    estimator: EstimatorConfig = field(default_factory=EstimatorConfig)


def load_deploy_config(path: str | Path | None = None) -> DeployConfig:
    """Load a deploy config; ``None`` -> ``config/deploy/default.yaml``."""
    return load_yaml(path if path is not None else config_path("deploy", "default.yaml"), DeployConfig)
