"""In-process simulated robot behind :class:`RobotBackend`: :class:`~trirl_ros.core.deploy.sim_physics.SimPhysics`
(the motors' PD on the latest :class:`LowCmd` at the physics rate, 500 Hz for ``physics_dt`` = 2 ms,
the same physics as the DDS sim robot), one :class:`LowState` per physics step.

Two ways to drive time:

* lock-step (default): the caller advances the simulation with :meth:`advance`; receive times and
  :meth:`now` are simulated seconds. Fast and deterministic -- sim2sim and tests.
* real time: :meth:`start` runs physics on a background thread paced by a deadline scheduler;
  receive times and :meth:`now` are ``time.monotonic()``. Used behind the ROS deploy node.
"""

from __future__ import annotations

import logging
import threading
import time

import numpy as np

from trirl_ros.core.deploy.backends.base import LowCmd, LowState, RobotBackend
from trirl_ros.core.deploy.scheduler import DeadlineTimer
from trirl_ros.core.deploy.sim_physics import SimPhysics
from trirl_ros.core.robots.spec import RobotSpec

log = logging.getLogger(__name__)


class MujocoDirectBackend(RobotBackend):
    """Simulated robot (scene with floor) starting from ``qpos`` (nq,) or the standing default pose.

    Attributes:
        physics: the :class:`SimPhysics` (ground truth: base position, fall tracking).
        publish_states: set False to stop producing states (fault injection: a dead link).
        state_noise: optional callable LowState -> LowState applied before publishing (fault injection).
    """

    def __init__(self, robot: RobotSpec, qpos: np.ndarray | None = None, realtime: bool = False,
                 hold_seconds: float = 0.0) -> None:
        self.robot = robot
        self.num_slots = robot.num_motor_slots
        self.physics = SimPhysics(robot, qpos, hold_seconds=hold_seconds)
        self._lock = threading.Lock()
        self._realtime = realtime
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._latest: tuple[LowState, float] | None = None
        self.publish_states = True
        self.state_noise = None
        self._publish(self.now())

    # ---- RobotBackend -------------------------------------------------------------------------
    def latest_state(self) -> tuple[LowState, float] | None:
        with self._lock:
            return self._latest

    def send(self, cmd: LowCmd) -> None:
        if cmd.num_slots != self.num_slots:
            raise ValueError(f"LowCmd has {cmd.num_slots} slots, {self.robot.name} has {self.num_slots}")
        with self._lock:
            self.physics.set_command(cmd)

    def now(self) -> float:
        return time.monotonic() if self._realtime else self.physics.sim_time

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=2.0)
        self._thread = None

    # ---- simulation ---------------------------------------------------------------------------
    def advance(self, seconds: float) -> None:
        """Step physics for ``seconds`` (rounded to whole physics steps), PD on the latest command."""
        for _ in range(max(1, int(round(seconds / self.physics.dt)))):
            self._step()

    def _step(self) -> None:
        with self._lock:
            self.physics.step()
        self._publish(self.now())

    def _publish(self, stamp: float) -> None:
        if not self.publish_states:
            return
        low = self.physics.low_state()
        if self.state_noise is not None:
            low = self.state_noise(low)
        with self._lock:
            self._latest = (low, stamp)

    # ---- ground truth (not available on a real robot) -----------------------------------------
    def base_position(self) -> np.ndarray:
        """(3,) world position of the base."""
        return self.physics.base_position()

    def base_lin_vel(self) -> np.ndarray:
        """(3,) base linear velocity in the base frame (MuJoCo ground truth)."""
        return self.physics.base_lin_vel()

    def base_quat(self) -> np.ndarray:
        """(4,) base orientation w, x, y, z."""
        return self.physics.base_quat()

    # ---- real-time mode -----------------------------------------------------------------------
    def start(self) -> None:
        """Run physics in real time on a background thread (``realtime=True`` backends only)."""
        if not self._realtime:
            raise RuntimeError("start() needs a MujocoDirectBackend created with realtime=True")
        if self._thread is not None:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="mujoco-direct", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        timer = DeadlineTimer(self.physics.dt)
        while not self._stop.is_set():
            self._step()
            timer.wait()
        log.debug("mujoco backend thread stopped (%d overruns)", timer.overruns)
