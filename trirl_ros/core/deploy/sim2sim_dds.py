"""Sim2sim over Unitree DDS on loopback, in real time: the DDS developer's ``SimRobot`` (MuJoCo PD at
500 Hz publishing ``rt/lowstate``, applying ``rt/lowcmd``) and the deploy controller on a
``UnitreeDdsBackend``, both in this process on an isolated domain. Needs the cyclonedds binding."""

from __future__ import annotations

import logging
import math
import os

import numpy as np

from trirl_ros.core.deploy.config import DeployConfig
from trirl_ros.core.deploy.controller import DeployController
from trirl_ros.core.deploy.policy_spec import PolicySpec
from trirl_ros.core.deploy.safety import tilt_deg
from trirl_ros.core.deploy.scheduler import DeadlineTimer
from trirl_ros.core.deploy.sim2sim import Sim2SimResult
from trirl_ros.core.robots.spec import RobotSpec

log = logging.getLogger(__name__)


def run_sim2sim_dds(robot: RobotSpec, spec: PolicySpec, policy, cfg: DeployConfig, seconds: float,
                    cmd_vel: tuple[float, float, float] | None = None, domain: int | None = None,
                    hold_seconds: float = 0.0) -> Sim2SimResult:
    """Run ``seconds`` of wall-clock (= sim, real-time factor 1) sim2sim over DDS; see module doc."""
    try:
        from trirl_ros.core.deploy.backends.unitree_dds import UnitreeDdsBackend
        from trirl_ros.core.deploy.unitree.dds import DdsConfig
        from trirl_ros.core.deploy.unitree.sim_robot import SimRobot
    except ImportError as exc:
        raise RuntimeError(f"--backend dds needs CycloneDDS and its Python binding (make dds): {exc}") from exc
    domain = domain if domain is not None else 100 + os.getpid() % 100
    config = DdsConfig.loopback(domain)
    sim = SimRobot(robot, config, hold_seconds=hold_seconds)
    backend = UnitreeDdsBackend.from_spec(robot, config)
    try:
        controller = DeployController(robot, spec, policy, cfg)
        start = sim.base_position()
        sim.start(seconds + 1.0)
        min_h, max_tilt = math.inf, 0.0
        timer = DeadlineTimer(controller.period, clock=backend.now)
        end = backend.now() + seconds
        while backend.now() < end:
            now = backend.now()
            if cmd_vel is not None:
                controller.set_velocity_command(cmd_vel, now)
            backend.send(controller.tick(backend.latest_state(), now))
            min_h = min(min_h, float(sim.base_position()[2]))
            max_tilt = max(max_tilt, tilt_deg(sim.base_quat()))
            timer.wait()
        fell = min_h < robot.fall_min_height or max_tilt > robot.fall_max_tilt_deg
        distance = float(np.linalg.norm(sim.base_position()[:2] - start[:2]))
        log.info("dds sim2sim: %d control overruns, sim %.2f s", timer.overruns, sim.sim_time)
        return Sim2SimResult(controller.state, fell, distance, sim.sim_time, min_h, max_tilt,
                             list(controller.fsm.transitions))
    finally:
        backend.close()
        sim.close()
