"""Sim2sim: the deploy controller drives a simulated robot through the RobotBackend interface.

:func:`run_sim2sim` runs lock-step on the in-process MuJoCo backend (one control tick, then one
control period of physics at 500 Hz with the motors' PD): fast and deterministic.
:func:`run_realtime` runs the same controller against any backend in wall-clock time with the
deadline scheduler (used with the DDS sim robot or a real robot).
"""

from __future__ import annotations

import logging
import math
import threading
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from trirl_ros.core import quat as Q
from trirl_ros.core.deploy.backends.base import RobotBackend
from trirl_ros.core.deploy.config import DeployConfig
from trirl_ros.core.deploy.controller import DeployController
from trirl_ros.core.deploy.policy_runner import PolicyRunner
from trirl_ros.core.deploy.policy_spec import PolicySpec, load_policy_spec, spec_path_for
from trirl_ros.core.deploy.safety import SafetyState, Transition, tilt_deg
from trirl_ros.core.deploy.scheduler import DeadlineTimer
from trirl_ros.core.robots.spec import RobotSpec

log = logging.getLogger(__name__)


@dataclass
class Sim2SimResult:
    """Outcome of a sim2sim run. ``distance``: metres the base travelled in the xy plane (start to
    end); ``fell``: the base went below ``fall_min_height`` or tilted beyond ``fall_max_tilt_deg``;
    ``policy_seconds`` / ``policy_distance``: time in POLICY and the xy metres travelled in it (its
    first entry to the end or its exit, straight line); ``policy_forward``: metres walked along the
    robot's own heading in POLICY (summed tick by tick: what a forward command vx asks for);
    ``policy_turn_deg``: how far the heading turned in POLICY (unwrapped)."""

    final_state: SafetyState
    fell: bool
    distance: float
    sim_seconds: float
    min_height: float
    max_tilt_deg: float
    transitions: list[Transition] = field(default_factory=list)
    policy_seconds: float = 0.0
    policy_distance: float = 0.0
    policy_forward: float = 0.0
    policy_turn_deg: float = 0.0

    @property
    def policy_speed(self) -> float:
        """Mean forward speed (m/s) in POLICY along the robot's heading: policy_forward / policy_seconds
        (0 if never there)."""
        return self.policy_forward / self.policy_seconds if self.policy_seconds > 0 else 0.0

    def summary(self) -> str:
        """The CLI's last line: ``state <S> fell <0|1> distance <m>``."""
        return f"state {self.final_state} fell {int(self.fell)} distance {self.distance:.3f}"


def load_policy(robot: RobotSpec, policy_path: str | Path, spec_path: str | Path | None = None
                ) -> tuple[PolicySpec, PolicyRunner]:
    """Load an ONNX policy and its spec (default: beside it), checking the spec against ``robot``
    (:class:`~trirl_ros.core.deploy.policy_spec.PolicySpecMismatch` on mismatch)."""
    spec = load_policy_spec(spec_path if spec_path is not None else spec_path_for(policy_path))
    spec.check_robot(robot)
    runner = PolicyRunner(policy_path, spec.obs_dim, spec.num_joints, spec.onnx_input, spec.onnx_output)
    return spec, runner


LIN_VEL_SOURCES = ("estimate", "truth")


def _check_lin_vel(lin_vel: str) -> None:
    if lin_vel not in LIN_VEL_SOURCES:
        raise ValueError(f"lin_vel must be one of {LIN_VEL_SOURCES}, got {lin_vel!r}")


def run_sim2sim(robot: RobotSpec, spec: PolicySpec, policy, cfg: DeployConfig, seconds: float,
                cmd_vel: tuple[float, float, float] | None = None, backend=None,
                lin_vel: str = "estimate") -> Sim2SimResult:
    """Lock-step sim2sim for ``seconds`` of simulated time on a MujocoDirectBackend (created
    standing at the default pose unless given). ``policy``: obs (D,) -> action (J,).
    ``lin_vel``: where a policy observing base_lin_vel gets it: "estimate" (the deploy estimator, what
    the robot will see) or "truth" (the simulator's)."""
    _check_lin_vel(lin_vel)
    from trirl_ros.core.deploy.backends.mujoco_direct import MujocoDirectBackend

    backend = backend or MujocoDirectBackend(robot)
    controller = DeployController(robot, spec, policy, cfg)
    period = controller.period
    start = backend.base_position()
    min_h, max_tilt = math.inf, 0.0
    steps = int(round(seconds / period))
    policy_from = policy_to = None  # (time, xy) where POLICY began and was last seen
    forward = turn = 0.0
    for _ in range(steps):
        now = backend.now()
        if cmd_vel is not None:
            controller.set_velocity_command(cmd_vel, now)
        truth = backend.base_lin_vel() if lin_vel == "truth" else None
        backend.send(controller.tick(backend.latest_state(), now, truth))
        in_policy = controller.state == SafetyState.POLICY
        if in_policy:
            policy_to = (now, backend.base_position()[:2].copy())
            policy_from = policy_from or policy_to
            yaw0 = float(Q.yaw(backend.base_quat()))
        backend.advance(period)
        if in_policy:  # this period's step along the heading it started with, and its turn
            forward += float(np.dot(backend.base_position()[:2] - policy_to[1], (math.cos(yaw0), math.sin(yaw0))))
            turn += (float(Q.yaw(backend.base_quat())) - yaw0 + math.pi) % (2 * math.pi) - math.pi
        min_h = min(min_h, float(backend.base_position()[2]))
        max_tilt = max(max_tilt, tilt_deg(backend.base_quat()))
    fell = min_h < robot.fall_min_height or max_tilt > robot.fall_max_tilt_deg
    distance = float(np.linalg.norm(backend.base_position()[:2] - start[:2]))
    policy_s = policy_d = 0.0
    if policy_from is not None:
        policy_s = policy_to[0] - policy_from[0]
        policy_d = float(np.linalg.norm(policy_to[1] - policy_from[1]))
    return Sim2SimResult(controller.state, fell, distance, backend.now(), min_h, max_tilt,
                         list(controller.fsm.transitions), policy_s, policy_d, forward, math.degrees(turn))


def walking_check(robot: RobotSpec, spec: PolicySpec, policy, cfg: DeployConfig, speeds=(0.3, 0.5, 1.0),
                  seconds: float = 20.0, lin_vel: str = "estimate") -> list[tuple[float, Sim2SimResult]]:
    """A command-following policy from standing through the deploy stack: per forward command vx in
    ``speeds``, lock-step sim2sim for the ramp and hold of ``cfg.safety`` plus ``seconds`` of policy
    at (vx, 0, 0). Returns [(vx, result)]; it passes when every result ends in POLICY, not fallen."""
    lead = cfg.safety.zero_torque_s + cfg.safety.ramp_s + cfg.safety.hold_s
    return [(vx, run_sim2sim(robot, spec, policy, cfg, lead + seconds, cmd_vel=(vx, 0.0, 0.0), lin_vel=lin_vel))
            for vx in speeds]


def run_realtime(controller: DeployController, backend: RobotBackend, seconds: float,
                 stop: threading.Event | None = None,
                 cmd_vel: tuple[float, float, float] | None = None,
                 lin_vel_source: str = "estimate") -> DeadlineTimer:
    """Drive ``controller`` against ``backend`` at its period in wall-clock time for ``seconds``
    (or until ``stop`` is set), paced by a deadline scheduler (the robot is left in the state the
    controller is in: the caller decides whether to damp). ``lin_vel_source`` "truth" reads a
    simulated backend's ``base_lin_vel()``. Returns the timer (its ``overruns`` count missed deadlines)."""
    _check_lin_vel(lin_vel_source)
    stop = stop or threading.Event()
    timer = DeadlineTimer(controller.period, clock=backend.now)
    end = backend.now() + seconds
    lin_vel = getattr(backend, "base_lin_vel", None) if lin_vel_source == "truth" else None
    if lin_vel_source == "truth" and lin_vel is None:
        raise ValueError(f"lin_vel_source 'truth' needs a simulated backend, {type(backend).__name__} "
                         "has no ground truth")
    while not stop.is_set() and backend.now() < end:
        now = backend.now()
        if cmd_vel is not None:
            controller.set_velocity_command(cmd_vel, now)
        backend.send(controller.tick(backend.latest_state(), now, lin_vel() if lin_vel else None))
        timer.wait()
    return timer


__all__ = ["LIN_VEL_SOURCES", "Sim2SimResult", "load_policy", "run_realtime", "run_sim2sim", "walking_check"]
