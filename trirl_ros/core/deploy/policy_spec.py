"""PolicySpec: the YAML file written beside every exported ONNX policy (``models/<name>.yaml``).

It says everything the deploy node needs to run the ONNX graph on a robot, independently of how the
policy was trained, so a third-party policy (legged_gym / Isaac Lab style) can be deployed by writing
one by hand:

* ``robot`` -- the :class:`~trirl_ros.core.robots.spec.RobotSpec` name it was trained for.
* ``joint_names`` -- the policy's OWN joint order (J names, MJCF joint names of that robot; may be a
  subset of the robot's joints: the others hold the robot's default pose with the robot's gains).
* ``obs`` -- an :class:`~trirl_ros.core.envs.obs_spec.ObsSpec` (terms with scales/clips, history); the
  deploy core builds frames with the same ``compute_frame`` the training env uses.
* ``default_pos``, ``kp``, ``kd``, ``action_scale`` -- (J,) each, in ``joint_names`` order:
  ``target = default_pos + action_scale * action``; ``joint_pos`` observations are relative to
  ``default_pos``.
* ``control_hz`` -- policy rate; ``command_scale`` -- (3,) per-component scale applied to the
  velocity command (vx, vy, wz) before the term's own scale (legged_gym's ``commands_scale``);
  ``action_clip`` -- optional symmetric clip of the raw action (legged_gym ``clip_actions``).
* ``onnx_input`` / ``onnx_output`` / ``opset`` -- the graph's interface; ``fingerprint`` -- the
  training run it came from (free text; the exporter writes hashes of the checkpoint and config).

Unknown keys are rejected; every error names the key.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from pathlib import Path

import yaml

from trirl_ros.core.config import ConfigError, load_yaml, to_dict
from trirl_ros.core.envs.obs_spec import ObsSpec
from trirl_ros.core.robots.spec import RobotSpec

SPEC_VERSION = 1


@dataclass(frozen=True)
class PolicySpec:
    """How to run one ONNX policy on a robot. Per-joint tuples are (J,) in ``joint_names`` order."""

    robot: str
    joint_names: tuple[str, ...]
    obs: ObsSpec
    default_pos: tuple[float, ...]
    kp: tuple[float, ...]
    kd: tuple[float, ...]
    action_scale: tuple[float, ...]
    control_hz: float
    command_scale: tuple[float, float, float] = (1.0, 1.0, 1.0)
    action_clip: float | None = None
    onnx_input: str = "obs"
    onnx_output: str = "action"
    opset: int | None = None
    fingerprint: str = ""
    version: int = SPEC_VERSION

    def __post_init__(self) -> None:
        if not self.robot:
            raise ValueError("robot must be non-empty")
        if not self.joint_names:
            raise ValueError("joint_names must not be empty")
        dup = sorted({n for n in self.joint_names if self.joint_names.count(n) > 1})
        if dup:
            raise ValueError(f"joint_names: duplicate joint(s) {dup}")
        j = len(self.joint_names)
        for key in ("default_pos", "kp", "kd", "action_scale"):
            values = getattr(self, key)
            if len(values) != j:
                raise ValueError(f"{key}: expected {j} values (one per joint_names entry), got {len(values)}")
            if not all(math.isfinite(v) for v in values):
                raise ValueError(f"{key}: all values must be finite, got {list(values)}")
        if min(self.kp) < 0 or min(self.kd) < 0:
            raise ValueError("kp and kd must be >= 0")
        if not (math.isfinite(self.control_hz) and self.control_hz > 0):
            raise ValueError(f"control_hz must be > 0, got {self.control_hz}")
        if len(self.command_scale) != 3 or not all(math.isfinite(v) for v in self.command_scale):
            raise ValueError(f"command_scale must be 3 finite numbers, got {self.command_scale}")
        if self.action_clip is not None and not self.action_clip > 0:
            raise ValueError(f"action_clip must be > 0 or null, got {self.action_clip}")
        if not self.onnx_input or not self.onnx_output:
            raise ValueError("onnx_input and onnx_output must be non-empty")
        if self.version != SPEC_VERSION:
            raise ValueError(f"version {self.version} is not supported (this build reads {SPEC_VERSION})")

    # ---- derived ------------------------------------------------------------------------------
    @property
    def num_joints(self) -> int:
        """J, the action dimension."""
        return len(self.joint_names)

    @property
    def obs_dim(self) -> int:
        """D, the ONNX input width (``obs.dim(J)``)."""
        return int(self.obs.dim(self.num_joints))

    def uses(self, term: str) -> bool:
        """Whether observation term ``term`` appears in ``obs``."""
        return any(t.name == term for t in self.obs.terms)

    # ---- robot matching -----------------------------------------------------------------------
    def check_robot(self, robot: RobotSpec) -> None:
        """Raise :class:`PolicySpecMismatch` unless this policy can run on ``robot``: same robot name,
        every policy joint known to the robot, targets (default pose) inside the robot's limits."""
        problems = []
        if self.robot != robot.name:
            problems.append(f"policy was trained for robot '{self.robot}', this robot is '{robot.name}'")
        known = set(robot.joint_names)
        missing = [n for n in self.joint_names if n not in known]
        if missing:
            problems.append(f"joint(s) {missing} are not joints of '{robot.name}'")
        else:
            limits = {j.name: j.pos_limit for j in robot.joints}
            outside = [
                (n, p) for n, p in zip(self.joint_names, self.default_pos)
                if not limits[n][0] <= p <= limits[n][1]
            ]
            if outside:
                problems.append(f"default_pos outside the robot's joint limits for {outside}")
        if problems:
            raise PolicySpecMismatch("policy spec does not match the robot: " + "; ".join(problems))

    def policy_robot(self, robot: RobotSpec) -> RobotSpec:
        """A view of ``robot`` with exactly this policy's joints, in the policy's order, carrying the
        policy's default pose, gains and action scales (limits/motor slots from the robot). Feed it to
        ``compute_frame`` so observations use the policy's own offsets. Call :meth:`check_robot` first."""
        self.check_robot(robot)
        by_name = {j.name: j for j in robot.joints}
        joints = tuple(
            dataclasses.replace(
                by_name[n], default_pos=float(p), kp=float(kp), kd=float(kd), action_scale=float(s)
            )
            for n, p, kp, kd, s in zip(
                self.joint_names, self.default_pos, self.kp, self.kd, self.action_scale
            )
        )
        unused = tuple(robot.unused_joints) + tuple(
            n for n in robot.joint_names if n not in set(self.joint_names)
        )
        return dataclasses.replace(robot, joints=joints, unused_joints=unused)

    # ---- I/O ----------------------------------------------------------------------------------
    def to_yaml(self) -> str:
        """The YAML text of this spec (round-trips through :func:`load_policy_spec`)."""
        return yaml.safe_dump(to_dict(self), sort_keys=False, default_flow_style=None, width=120)


class PolicySpecMismatch(ValueError):
    """The policy spec cannot run on the robot it is asked to drive (message names the mismatch)."""


def load_policy_spec(path: str | Path) -> PolicySpec:
    """Load and validate a policy spec YAML; unknown keys are rejected, errors name file and key."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"policy spec not found: {path}")
    return load_yaml(path, PolicySpec)


def spec_path_for(onnx_path: str | Path) -> Path:
    """``models/x.onnx`` -> ``models/x.yaml`` (the spec written beside an exported policy)."""
    return Path(onnx_path).with_suffix(".yaml")


def spec_from_robot(robot: RobotSpec, obs: ObsSpec, *, opset: int | None = None,
                    fingerprint: str = "", action_clip: float | None = None) -> PolicySpec:
    """The spec of a policy trained on ``robot`` in its own (policy) joint order with its gains;
    ``action_clip``: the training env's clip of the raw action, applied the same way on deploy."""
    return PolicySpec(
        robot=robot.name,
        joint_names=tuple(robot.joint_names),
        obs=obs,
        default_pos=tuple(float(v) for v in robot.default_pos),
        kp=tuple(float(v) for v in robot.kp),
        kd=tuple(float(v) for v in robot.kd),
        action_scale=tuple(float(v) for v in robot.action_scale),
        control_hz=float(robot.policy_hz),
        opset=opset,
        fingerprint=fingerprint,
        action_clip=action_clip,
    )


__all__ = [
    "ConfigError",
    "PolicySpec",
    "PolicySpecMismatch",
    "load_policy_spec",
    "spec_from_robot",
    "spec_path_for",
]
