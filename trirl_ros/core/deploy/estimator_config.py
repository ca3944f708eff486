"""Settings of the base-velocity estimator (:mod:`trirl_ros.core.deploy.estimator`), kept apart from
it so that loading a deploy config does not import MuJoCo."""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class EstimatorConfig:
    """``estimator:`` in config/deploy/*.yaml (see :mod:`trirl_ros.core.deploy.estimator`).

    enabled: estimate base_lin_vel for policies that observe it when no ground truth is passed.
    accel_noise: m/s^2, process noise of the accelerometer integration (impacts, bias, one sample
        per control period of a 500 Hz signal). leg_velocity_noise: m/s, noise of one stance foot's
        velocity measurement (slip, rolling feet, joint velocity noise). contact_height (m) and
        stance_max_vz (m/s): the kinematic contact test. innovation_gate (m/s, null = off): a
        stance foot whose implied base velocity differs from the prediction by more than this is
        not used (a swing foot skimming the ground passes the contact test), unless every foot is.
    """

    enabled: bool = True
    accel_noise: float = 4.0
    leg_velocity_noise: float = 0.25
    contact_height: float = 0.03
    stance_max_vz: float = 0.5
    innovation_gate: float | None = 0.8

    def __post_init__(self) -> None:
        for name in ("accel_noise", "leg_velocity_noise", "contact_height", "stance_max_vz"):
            value = getattr(self, name)
            if not (math.isfinite(value) and value > 0):
                raise ValueError(f"estimator.{name} must be > 0, got {value!r}")
        if self.innovation_gate is not None and not (math.isfinite(self.innovation_gate) and self.innovation_gate > 0):
            raise ValueError(f"estimator.innovation_gate must be > 0 or null, got {self.innovation_gate!r}")
