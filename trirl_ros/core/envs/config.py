"""EnvConfig: everything about a locomotion env that is not the robot itself."""

from __future__ import annotations

import math
from dataclasses import dataclass

from trirl_ros.core.config import ConfigError, config_path, load_yaml
from trirl_ros.core.envs.obs_spec import ObsSpec


@dataclass(frozen=True)
class EnvConfig:
    """Env settings (YAML: ``config/envs/<robot>.yaml``; task configs embed one).

    obs: the observation spec. episode_length_s: time limit (truncation), seconds.
    Reset noise (uniform in ±value): joint_pos_noise rad (clipped to the joint range),
    joint_vel_noise rad/s, base_yaw_noise rad. fall_min_height / fall_max_tilt_deg override the
    robot's thresholds when set; terminate_on_fall=False disables fall termination.
    action_clip: actions are clipped to ±action_clip before scaling (None = no clip).
    command: (vx, vy, wz) fed to the velocity_command term (m/s, m/s, rad/s, base frame).
    command_ranges: ((vx_lo, vx_hi), (vy_lo, vy_hi), (wz_lo, wz_hi)): when set, each env draws its
    command uniformly from these ranges at every reset and every ``command_resample_s`` seconds
    (None: only at resets) instead of using ``command`` (legged_gym's command sampling).
    backend: the physics engine, ``mujoco`` (CPU MuJoCo, threads) or ``warp`` (MuJoCo Warp, every env
    on one device); backend_device: warp's device (``cuda``, ``cuda:1``, ``cpu``), ignored by mujoco.
    """

    obs: ObsSpec
    episode_length_s: float = 20.0
    joint_pos_noise: float = 0.0
    joint_vel_noise: float = 0.0
    base_yaw_noise: float = 0.0
    fall_min_height: float | None = None
    fall_max_tilt_deg: float | None = None
    terminate_on_fall: bool = True
    action_clip: float | None = None
    command: tuple[float, float, float] = (0.0, 0.0, 0.0)
    command_ranges: tuple[tuple[float, float], tuple[float, float], tuple[float, float]] | None = None
    command_resample_s: float | None = None
    backend: str = "mujoco"
    backend_device: str = "cuda"

    def __post_init__(self) -> None:
        from trirl_ros.core.envs.physics import BACKENDS

        if self.backend not in BACKENDS:
            raise ValueError(f"backend must be one of {list(BACKENDS)}, got {self.backend!r}")
        if not (math.isfinite(self.episode_length_s) and self.episode_length_s > 0):
            raise ValueError(f"episode_length_s must be > 0, got {self.episode_length_s}")
        for f in ("joint_pos_noise", "joint_vel_noise", "base_yaw_noise"):
            v = getattr(self, f)
            if not (math.isfinite(v) and v >= 0):
                raise ValueError(f"{f} must be a finite number >= 0, got {v}")
        if self.fall_min_height is not None and not self.fall_min_height >= 0:
            raise ValueError(f"fall_min_height must be >= 0, got {self.fall_min_height}")
        if self.fall_max_tilt_deg is not None and not 0 < self.fall_max_tilt_deg <= 180:
            raise ValueError(f"fall_max_tilt_deg must be in (0, 180], got {self.fall_max_tilt_deg}")
        if self.action_clip is not None and not self.action_clip > 0:
            raise ValueError(f"action_clip must be > 0 or null, got {self.action_clip}")
        if not all(math.isfinite(c) for c in self.command):
            raise ValueError(f"command must be finite, got {self.command}")
        if self.command_ranges is not None:
            for name, (lo, hi) in zip(("vx", "vy", "wz"), self.command_ranges):
                if not (math.isfinite(lo) and math.isfinite(hi) and lo <= hi):
                    raise ValueError(f"command_ranges: {name} range ({lo}, {hi}) must be finite with low <= high")
        if self.command_resample_s is not None:
            if self.command_ranges is None:
                raise ValueError("command_resample_s needs command_ranges")
            if not (math.isfinite(self.command_resample_s) and self.command_resample_s > 0):
                raise ValueError(f"command_resample_s must be > 0 or null, got {self.command_resample_s}")


def load_env_config(robot_name: str) -> EnvConfig:
    """Default env config of a robot: ``config/envs/<robot_name>.yaml``."""
    path = config_path("envs", f"{robot_name}.yaml")
    if not path.is_file():
        raise ConfigError(f"no default env config for robot {robot_name!r} ({path} not found)")
    return load_yaml(path, EnvConfig)
