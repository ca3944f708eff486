"""Sim2sim over Unitree DDS on loopback, in real time: the DDS ``SimRobot`` (the shared
:class:`~trirl_ros.core.deploy.sim_physics.SimPhysics` publishing ``rt/lowstate``, applying
``rt/lowcmd``) and the deploy controller on a ``UnitreeDdsBackend``, both in this process on a DDS
domain claimed with a lock (:mod:`.unitree.domains`). Needs the cyclonedds binding (make dds)."""

from __future__ import annotations

import logging
import time

from trirl_ros.core.deploy.config import DeployConfig
from trirl_ros.core.deploy.controller import DeployController
from trirl_ros.core.deploy.policy_spec import PolicySpec
from trirl_ros.core.deploy.scheduler import DeadlineTimer
from trirl_ros.core.deploy.sim2sim import Sim2SimResult
from trirl_ros.core.robots.spec import RobotSpec

log = logging.getLogger(__name__)


def run_sim2sim_dds(robot: RobotSpec, spec: PolicySpec, policy, cfg: DeployConfig, seconds: float,
                    cmd_vel: tuple[float, float, float] | None = None, domain: int | None = None,
                    hold_seconds: float = 0.0) -> Sim2SimResult:
    """Run ``seconds`` of wall-clock (= sim, real-time factor 1) sim2sim over DDS; see module doc.
    ``domain``: DDS domain id (default: a free one claimed from :mod:`.unitree.domains`' pool).
    Fall and distance are the sim's ground truth over every physics step."""
    try:
        from trirl_ros.core.deploy.backends.unitree_dds import UnitreeDdsBackend
        from trirl_ros.core.deploy.unitree.dds import DdsConfig
        from trirl_ros.core.deploy.unitree.domains import claim_domain
        from trirl_ros.core.deploy.unitree.sim_robot import SimRobot
    except ImportError as exc:
        raise RuntimeError(f"--backend dds needs CycloneDDS and its Python binding (make dds): {exc}") from exc
    claim = claim_domain() if domain is None else None
    config = DdsConfig.loopback(claim.domain if claim is not None else domain)
    sim = backend = None
    try:
        sim = SimRobot(robot, config, hold_seconds=hold_seconds)
        backend = UnitreeDdsBackend.from_spec(robot, config)
        controller = DeployController(robot, spec, policy, cfg)
        # one deadline for both loops: the sim thread ends at `end` itself, so its sim time never
        # runs on while this (GIL-sharing, possibly descheduled) thread gets to sim.stop()
        # (measured before: 4.02 s of sim in a 4 s run on the loaded CI box)
        # one clock for everything: the backend stamps receive times on time.monotonic (its now())
        # and the sim thread's `until` is on it too
        clock = time.monotonic
        end = clock() + seconds
        sim.start(seconds + 1.0, until=end)
        # real time: yield the last millisecond instead of sleeping it (OS sleeps overshoot ~0.5 ms)
        timer = DeadlineTimer(controller.period, clock=clock, spin=1e-3)
        while (now := clock()) < end:
            if cmd_vel is not None:
                controller.set_velocity_command(cmd_vel, now)
            backend.send(controller.tick(backend.latest_state(), now))
            timer.wait()
        sim.stop()
        ph = sim.physics
        log.info("dds sim2sim on domain %d: %d control overruns, sim %.2f s, %d sim overruns",
                 config.domain_id, timer.overruns, ph.sim_time, sim.stats.overruns)
        return Sim2SimResult(controller.state, ph.fell(), ph.distance(), ph.sim_time, ph.min_height,
                             ph.max_tilt_deg, list(controller.fsm.transitions))
    finally:
        if backend is not None:
            backend.close()
        if sim is not None:
            sim.close()
        if claim is not None:
            claim.release()
