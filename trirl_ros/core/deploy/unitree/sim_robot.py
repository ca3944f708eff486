"""A simulated robot behind Unitree's DDS low-level interface, like unitree_mujoco's bridge.

The physics is :class:`~trirl_ros.core.deploy.sim_physics.SimPhysics` (the same as the in-process
backend). Every physics step (``RobotSpec.physics_dt``, 2 ms = 500 Hz):

1. take the newest ``rt/lowcmd`` (dropped and counted when its CRC is wrong, or -- ``unitree_hg`` --
   when its ``mode_machine`` differs from the robot's, as the real G1 does);
2. ``SimPhysics.step``: ``tau = tau_ff + kp (q* - q) + kd (dq* - dq)`` per motor slot, clipped to
   the torque limit (no command yet: zero torque), MuJoCo step;
3. publish ``rt/lowstate``: motor q/dq/tau per slot, IMU quaternion (w first), gyro and
   accelerometer from the MJCF's IMU sensors, tick (ms), CRC.

Physics starts with the first valid LowCmd (``wait_for_cmd``, default): until then the sim robot
publishes its start state at the physics rate with time frozen, so a deploy side that starts
seconds later finds the robot as it was placed. (A free-running sim with zero torque would drop a
standing G1 below 0.40 m in 0.33 s, before a late controller sends its first command.)

:meth:`SimRobot.run` paces steps against deadlines ``t0 + k * dt / speed`` (no sleep-after-work
drift; a step more than ``max_lag`` late resynchronises and counts as an overrun), or runs as fast as
it can (``speed=None``) for tests.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field

import numpy as np

from trirl_ros.core.deploy.backends.base import LowCmd, LowState
from trirl_ros.core.deploy.sim_physics import SimPhysics
from trirl_ros.core.deploy.unitree import dds, idl
from trirl_ros.core.deploy.unitree.cdr import CdrCodec
from trirl_ros.core.deploy.unitree.layouts import LOWCMD_DTYPES, LOWSTATE_DTYPES, NUM_SLOTS, crc_ok
from trirl_ros.core.deploy.unitree.messages import lowstate_to_record, record_to_lowcmd
from trirl_ros.core.robots.spec import RobotSpec

log = logging.getLogger(__name__)


@dataclass
class SimStats:
    """Counters of a :class:`SimRobot` (all monotonic)."""

    steps: int = 0
    states_published: int = 0
    cmds_received: int = 0  # valid commands applied
    cmd_crc_errors: int = 0
    cmd_mode_machine_rejected: int = 0
    cmd_decode_errors: int = 0
    overruns: int = 0  # steps that started more than max_lag late (schedule resynchronised)
    lateness_s: list[float] = field(default_factory=list)  # per paced step, start - deadline


class SimRobot:
    """:class:`SimPhysics` speaking LowCmd/LowState over DDS.

    Args:
        robot: the robot spec (joint -> motor slot map, MJCF, physics_dt).
        config: DDS configuration (domain, interface); e.g. ``DdsConfig.loopback(domain)``.
        mode_machine: ``unitree_hg`` robot type code reported in LowState; commands must echo it.
        hold_seconds: sim seconds during which an elastic band holds the base (0 = none).
        check_crc: drop LowCmds whose CRC does not match (the real robots do).
        qpos: (nq,) start configuration; default standing pose on the floor.
        wait_for_cmd: :meth:`run` keeps sim time frozen (publishing the start state) until the
            first valid LowCmd arrives.
    """

    def __init__(self, robot: RobotSpec, config: dds.DdsConfig, *, mode_machine: int = 1,
                 hold_seconds: float = 0.0, check_crc: bool = True, qpos: np.ndarray | None = None,
                 wait_for_cmd: bool = True, lowstate_topic: str = dds.LOWSTATE_TOPIC,
                 lowcmd_topic: str = dds.LOWCMD_TOPIC) -> None:
        self.robot = robot
        self.family = robot.msg_family
        self.num_slots = NUM_SLOTS[self.family]
        if robot.num_motor_slots != self.num_slots:
            raise ValueError(f"{robot.name}: num_motor_slots {robot.num_motor_slots} != {self.num_slots} "
                             f"of {self.family}")
        self.mode_machine = int(mode_machine)
        self.check_crc = check_crc
        self.wait_for_cmd = wait_for_cmd
        self.physics = SimPhysics(robot, qpos, hold_seconds=hold_seconds)
        self.dt = self.physics.dt
        self.reset(qpos)
        self._state_codec = CdrCodec(LOWSTATE_DTYPES[self.family])
        self._cmd_codec = CdrCodec(LOWCMD_DTYPES[self.family])
        self._state_rec = np.zeros((), dtype=LOWSTATE_DTYPES[self.family])
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._participant = dds.open_participant(config)
        try:
            self._writer = dds.RawWriter(self._participant, lowstate_topic, idl.lowstate_type(self.family))
            self._reader = dds.RawReader(self._participant, lowcmd_topic, idl.lowcmd_type(self.family), depth=4)
        except Exception:
            dds.close_participant(self._participant)
            raise
        self._closed = False
        log.info("sim robot %s up: %s on DDS domain %d, dt %.4f s", robot.name, self.family,
                 config.domain_id, self.dt)

    def reset(self, qpos: np.ndarray | None = None) -> None:
        """Put the robot at ``qpos`` (nq,) (default: standing pose) at rest, sim time 0, no command
        in force (zero torque until the next LowCmd), counters cleared."""
        self.physics.reset(qpos)
        self.stats = SimStats()

    @property
    def have_cmd(self) -> bool:
        """A valid LowCmd has been applied since :meth:`reset`."""
        return self.physics.command is not None

    @property
    def sim_time(self) -> float:
        """Simulated seconds since reset."""
        return self.physics.sim_time

    def base_position(self) -> np.ndarray:
        """(3,) world position of the base body [m]."""
        return self.physics.base_position()

    def base_quat(self) -> np.ndarray:
        """(4,) w, x, y, z orientation of the base body (world <- base)."""
        return self.physics.base_quat()

    def fallen(self) -> bool:
        """Since reset the base went below ``fall_min_height`` or tilted beyond ``fall_max_tilt_deg``."""
        return self.physics.fell()

    def low_state(self) -> LowState:
        """The current state as a :class:`LowState` (S slots; unused slots zero)."""
        return self.physics.low_state()

    def joint_torques(self, cmd: LowCmd) -> np.ndarray:
        """(J,) PD + feed-forward torques of ``cmd`` at the current state, clipped to the motor limits."""
        return self.physics.joint_torques(cmd)

    # -- one step ---------------------------------------------------------------------------
    def _receive(self) -> None:
        for data, _ in self._reader.take(8):
            try:
                rec = self._cmd_codec.decode(data)
            except ValueError:
                self.stats.cmd_decode_errors += 1
                continue
            if self.check_crc and not crc_ok(rec):
                self.stats.cmd_crc_errors += 1
                log.warning("LowCmd with bad CRC dropped (%d so far)", self.stats.cmd_crc_errors)
                continue
            if self.family == "unitree_hg" and int(rec["mode_machine"]) != self.mode_machine:
                self.stats.cmd_mode_machine_rejected += 1
                if self.stats.cmd_mode_machine_rejected in (1, 100, 10000):
                    log.warning("LowCmd with mode_machine %d != robot's %d ignored (%d so far)",
                                int(rec["mode_machine"]), self.mode_machine,
                                self.stats.cmd_mode_machine_rejected)
                continue
            self.physics.set_command(record_to_lowcmd(rec))
            self.stats.cmds_received += 1

    def step(self) -> None:
        """One physics step: apply the newest valid LowCmd, integrate, publish LowState."""
        self._receive()
        self.physics.step()
        self.stats.steps += 1
        self.publish_state()

    def publish_state(self) -> None:
        """Publish the current state on ``rt/lowstate`` (CRC sealed)."""
        rec = lowstate_to_record(self.low_state(), self.family, mode_machine=self.mode_machine,
                                 out=self._state_rec)
        self._writer.write(self._state_codec.encode(rec))
        self.stats.states_published += 1

    def _tick(self) -> None:
        """A paced iteration of :meth:`run`: a physics step, or while waiting for the first
        command only a publish of the frozen state."""
        if self.wait_for_cmd and not self.have_cmd:
            self._receive()
            if not self.have_cmd:
                self.publish_state()
                return
        self.step()

    # -- loops ------------------------------------------------------------------------------
    def run(self, seconds: float | None = None, *, speed: float | None = 1.0, max_lag: float = 0.05,
            stop: threading.Event | None = None, until: float | None = None) -> SimStats:
        """Step until ``seconds`` of sim time have passed (None: until stopped); with
        ``wait_for_cmd`` sim time starts with the first valid LowCmd.

        Args:
            speed: real-time factor for deadline pacing (1.0 = real time); None = free-running.
            max_lag: a step starting later than this behind its deadline resynchronises the
                schedule (counted in ``stats.overruns``) instead of bursting to catch up.
            stop: event that ends the loop (also :meth:`stop`).
            until: a ``time.monotonic()`` instant that also ends the loop, so that a run sharing a
                deadline with its controller ends with it however late that thread gets to :meth:`stop`.
        """
        if speed is not None and speed <= 0:
            raise ValueError(f"speed must be > 0 or None, got {speed}")
        stop = stop or self._stop
        end = None if seconds is None else self.sim_time + seconds - 0.5 * self.dt
        period = None if speed is None else self.dt / speed
        t0 = time.monotonic()
        k = 0
        while not stop.is_set() and (end is None or self.sim_time < end):
            if until is not None and time.monotonic() >= until:
                break
            if period is not None:
                deadline = t0 + k * period
                now = time.monotonic()
                if now < deadline:
                    time.sleep(deadline - now)
                    now = time.monotonic()
                late = now - deadline
                if late > max_lag:
                    self.stats.overruns += 1
                    t0 += late
                if len(self.stats.lateness_s) < 1_000_000:
                    self.stats.lateness_s.append(late)
            self._tick()
            k += 1
        return self.stats

    def start(self, seconds: float | None = None, **run_kwargs) -> "SimRobot":
        """Run :meth:`run` in a background thread (stop with :meth:`stop`)."""
        if self._thread is not None and self._thread.is_alive():
            raise RuntimeError("sim robot already running")
        self._stop.clear()
        self._thread = threading.Thread(target=self.run, args=(seconds,), kwargs=run_kwargs,
                                        name=f"sim-robot-{self.robot.name}", daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        """Stop a background run and wait for it."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def close(self) -> None:
        """Stop and delete the DDS participant (idempotent)."""
        if self._closed:
            return
        self.stop()
        self._closed = True
        dds.close_participant(self._participant)
        log.info("sim robot %s closed after %d steps (%.2f s sim), %d commands, %d bad CRC, %d overruns",
                 self.robot.name, self.stats.steps, self.sim_time, self.stats.cmds_received,
                 self.stats.cmd_crc_errors, self.stats.overruns)

    def __enter__(self) -> "SimRobot":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
