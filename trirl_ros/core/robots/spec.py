"""Robot specifications: joint names/order, motor slots, PD gains, limits, loaded from YAML.

A :class:`RobotSpec` lists the joints the policy controls in POLICY ORDER (= the MJCF joint
order; for the G1 this is also the Unitree motor order, for the Go2 it is FL, FR, RL, RR while
the Go2 actuators and SDK motors are FR, FL, RR, RL). Everything is mapped to the MJCF by name
(see :mod:`trirl_ros.core.robots.models`) and checked against it by
:func:`trirl_ros.core.robots.check.check_robot`.

Per-joint arrays exposed as properties all have shape ``(J,)`` (``pos_limits`` is ``(J, 2)``),
in policy order, and are read-only.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np

from trirl_ros.core.config import ConfigError, config_path, load_yaml

MSG_FAMILIES = ("unitree_hg", "unitree_go")


def _finite(name: str, value: float) -> None:
    if not math.isfinite(value):
        raise ValueError(f"{name} must be finite, got {value!r}")


@dataclass(frozen=True)
class JointSpec:
    """One actuated joint.

    ``target = default_pos + action_scale * action``; ``tau = kp (target - q) - kd qdot``,
    clipped to ``±torque_limit``.
    """

    name: str  # MJCF joint name, e.g. "left_knee_joint", "FL_calf_joint"
    actuator: str  # MJCF actuator name driving it
    motor_index: int  # slot in Unitree LowCmd/LowState motor arrays
    default_pos: float  # rad, standing pose
    kp: float  # Nm/rad
    kd: float  # Nm s/rad
    torque_limit: float  # Nm
    pos_limit: tuple[float, float]  # rad (from MJCF range)
    vel_limit: float  # rad/s
    action_scale: float  # rad per unit action

    def __post_init__(self) -> None:
        where = f"joint '{self.name}'"
        if not self.name or not self.actuator:
            raise ValueError(f"{where}: name and actuator must be non-empty")
        if self.motor_index < 0:
            raise ValueError(f"{where}: motor_index must be >= 0, got {self.motor_index}")
        for field in ("default_pos", "kp", "kd", "torque_limit", "vel_limit", "action_scale"):
            _finite(f"{where}: {field}", getattr(self, field))
        lo, hi = self.pos_limit
        _finite(f"{where}: pos_limit", lo)
        _finite(f"{where}: pos_limit", hi)
        if not lo < hi:
            raise ValueError(f"{where}: pos_limit must be (low, high) with low < high, got {self.pos_limit}")
        if not lo <= self.default_pos <= hi:
            raise ValueError(
                f"{where}: default_pos {self.default_pos} outside pos_limit {self.pos_limit}"
            )
        if self.kp < 0 or self.kd < 0:
            raise ValueError(f"{where}: kp and kd must be >= 0, got kp={self.kp} kd={self.kd}")
        for field in ("torque_limit", "vel_limit", "action_scale"):
            if getattr(self, field) <= 0:
                raise ValueError(f"{where}: {field} must be > 0, got {getattr(self, field)}")


@dataclass(frozen=True, kw_only=True)
class RobotSpec:
    """A robot as the policy sees it. Construct with keywords (or from YAML)."""

    name: str  # "g1_29dof" | "g1_23dof" | "go2"
    mjcf: str  # relative to the robots dir, e.g. "unitree_g1/g1_29dof.xml"
    scene: str  # e.g. "unitree_g1/scene_29dof.xml" (robot + floor + light)
    msg_family: str  # "unitree_hg" | "unitree_go"
    num_motor_slots: int  # 35 | 20
    joints: tuple[JointSpec, ...]  # POLICY ORDER (= MJCF joint order)
    base_body: str
    feet_bodies: tuple[str, ...]
    imu_site: str
    upper_body: str  # body whose linear velocity the G1 imitation score uses (torso); base for Go2
    fall_min_height: float  # m, base height below which an episode terminates
    fall_max_tilt_deg: float  # deg, angle between base z axis and world z above which it terminates
    policy_hz: float = 50.0
    physics_dt: float = 0.002
    # Hinge joints present in the MJCF that the policy deliberately does not control (the
    # G1 23-DoF MJCF carries 6 dummy joints + motors far above the floor so that it exposes the
    # 29-motor layout). The env keeps their motors at zero torque; `robots check` accepts them.
    unused_joints: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        where = f"robot '{self.name}'"
        if not self.name:
            raise ValueError("robot name must be non-empty")
        for field in ("mjcf", "scene", "base_body", "imu_site", "upper_body"):
            if not getattr(self, field):
                raise ValueError(f"{where}: {field} must be non-empty")
        if self.msg_family not in MSG_FAMILIES:
            raise ValueError(f"{where}: msg_family must be one of {MSG_FAMILIES}, got {self.msg_family!r}")
        if self.num_motor_slots <= 0:
            raise ValueError(f"{where}: num_motor_slots must be > 0, got {self.num_motor_slots}")
        if not self.joints:
            raise ValueError(f"{where}: joints must not be empty")
        if not self.feet_bodies:
            raise ValueError(f"{where}: feet_bodies must not be empty")
        for kind, values in (
            ("joint name", [j.name for j in self.joints] + list(self.unused_joints)),
            ("actuator", [j.actuator for j in self.joints]),
            ("motor_index", [j.motor_index for j in self.joints]),
        ):
            dup = sorted({str(v) for v in values if values.count(v) > 1})
            if dup:
                raise ValueError(f"{where}: duplicate {kind}(s) {dup}")
        bad = [(j.name, j.motor_index) for j in self.joints if j.motor_index >= self.num_motor_slots]
        if bad:
            raise ValueError(f"{where}: motor_index >= num_motor_slots={self.num_motor_slots}: {bad}")
        for field in ("policy_hz", "physics_dt", "fall_min_height", "fall_max_tilt_deg"):
            _finite(f"{where}: {field}", getattr(self, field))
        if self.policy_hz <= 0 or self.physics_dt <= 0:
            raise ValueError(f"{where}: policy_hz and physics_dt must be > 0")
        ratio = 1.0 / (self.policy_hz * self.physics_dt)
        if abs(ratio - round(ratio)) > 1e-6 or round(ratio) < 1:
            raise ValueError(
                f"{where}: 1/(policy_hz*physics_dt) = {ratio:.6g} must be a positive integer "
                "(whole physics substeps per policy step)"
            )
        if self.fall_min_height < 0:
            raise ValueError(f"{where}: fall_min_height must be >= 0")
        if not 0 < self.fall_max_tilt_deg <= 180:
            raise ValueError(f"{where}: fall_max_tilt_deg must be in (0, 180]")

    # ---- derived values -------------------------------------------------------------------
    @property
    def joint_names(self) -> tuple[str, ...]:
        return tuple(j.name for j in self.joints)

    @property
    def actuator_names(self) -> tuple[str, ...]:
        return tuple(j.actuator for j in self.joints)

    @property
    def num_joints(self) -> int:
        return len(self.joints)

    @property
    def substeps(self) -> int:
        """Physics steps per policy step, e.g. 10 for 50 Hz policy at 2 ms physics."""
        return int(round(1.0 / (self.policy_hz * self.physics_dt)))

    def _array(self, field: str, dtype=np.float64) -> np.ndarray:
        arr = np.array([getattr(j, field) for j in self.joints], dtype=dtype)
        arr.flags.writeable = False
        return arr

    @cached_property
    def kp(self) -> np.ndarray:
        """(J,) Nm/rad."""
        return self._array("kp")

    @cached_property
    def kd(self) -> np.ndarray:
        """(J,) Nm s/rad."""
        return self._array("kd")

    @cached_property
    def default_pos(self) -> np.ndarray:
        """(J,) rad."""
        return self._array("default_pos")

    @cached_property
    def torque_limit(self) -> np.ndarray:
        """(J,) Nm."""
        return self._array("torque_limit")

    @cached_property
    def pos_limits(self) -> np.ndarray:
        """(J, 2) rad, columns low, high."""
        return self._array("pos_limit")

    @cached_property
    def vel_limit(self) -> np.ndarray:
        """(J,) rad/s."""
        return self._array("vel_limit")

    @cached_property
    def action_scale(self) -> np.ndarray:
        """(J,) rad per unit action."""
        return self._array("action_scale")

    def action_targets(self, action: np.ndarray) -> np.ndarray:
        """PD joint targets of policy actions (..., J): ``default_pos + action_scale * action``
        clipped to the joint ranges. The one mapping the env trains with and deploy sends."""
        lo, hi = self.pos_limits[:, 0], self.pos_limits[:, 1]
        return np.clip(self.default_pos + self.action_scale * np.asarray(action, dtype=np.float64), lo, hi)

    @cached_property
    def motor_indices(self) -> np.ndarray:
        """(J,) int, slot of each policy joint in the LowCmd/LowState motor arrays."""
        return self._array("motor_index", np.int64)


def robot_names() -> list[str]:
    """Names of the robot specs shipped in config/robots/ (sorted)."""
    return sorted(p.stem for p in config_path("robots").glob("*.yaml"))


def load_robot_spec(name_or_path: str | Path) -> RobotSpec:
    """Load a spec by name (``config/robots/<name>.yaml``) or by a path to a YAML file."""
    text = str(name_or_path)
    path = Path(text)
    if text.endswith((".yaml", ".yml")) or path.is_file():
        return load_yaml(path, RobotSpec)
    path = config_path("robots", f"{text}.yaml")
    if not path.is_file():
        raise ConfigError(f"unknown robot {text!r}; known robots: {robot_names()}")
    return load_yaml(path, RobotSpec)
