"""In-process MuJoCo robot behind :class:`RobotBackend`: the motors run PD at the physics rate
(500 Hz for ``physics_dt`` = 2 ms) on the latest :class:`LowCmd`, like the robot's motor drivers do,
and every physics step produces a :class:`LowState`.

Two ways to drive time:

* lock-step (default): the caller advances the simulation with :meth:`advance`; receive times and
  :meth:`now` are simulated seconds. Fast and deterministic -- sim2sim and tests.
* real time: :meth:`start` runs physics on a background thread paced by a deadline scheduler;
  receive times and :meth:`now` are ``time.monotonic()``. Used behind the ROS deploy node.

Per motor slot S = ``robot.num_motor_slots``: ``tau = clip(kp (q* - q) + kd (dq* - dq) + tau_ff,
±torque_limit)``. Unused slots and MJCF motors the spec does not list get zero torque.
"""

from __future__ import annotations

import logging
import threading
import time

import mujoco
import numpy as np

from trirl_ros.core.deploy.backends.base import LowCmd, LowState, RobotBackend
from trirl_ros.core.deploy.scheduler import DeadlineTimer
from trirl_ros.core.robots import models
from trirl_ros.core.robots.spec import RobotSpec

log = logging.getLogger(__name__)


class MujocoDirectBackend(RobotBackend):
    """MuJoCo robot (scene with floor) starting from ``qpos`` (nq,) or the standing default pose.

    Attributes:
        publish_states: set False to stop producing states (fault injection: a dead link).
        state_noise: optional callable LowState -> LowState applied before publishing (fault injection).
    """

    def __init__(self, robot: RobotSpec, qpos: np.ndarray | None = None, realtime: bool = False) -> None:
        self.robot = robot
        self.num_slots = robot.num_motor_slots
        self.model = models.load_model(robot, scene=True)
        self.data = mujoco.MjData(self.model)
        self.data.qpos[:] = models.default_qpos(self.model, robot) if qpos is None else qpos
        mujoco.mj_forward(self.model, self.data)
        self._qadr = models.joint_qpos_adr(self.model, robot)
        self._dadr = models.joint_dof_adr(self.model, robot)
        self._act = models.actuator_ids(self.model, robot)
        self._slot = robot.motor_indices
        self._tau_lim = robot.torque_limit
        fa = models.free_joint_qpos_adr(self.model, robot)
        self._base_q = fa
        self._base_body = models.body_id(self.model, robot.base_body)
        self._base_d = int(self.model.jnt_dofadr[np.nonzero(self.model.jnt_qposadr == fa)[0][0]])
        self._cmd = LowCmd.zeros(self.num_slots)
        self._tau = np.zeros(self.num_slots)
        self._lock = threading.Lock()
        self._realtime = realtime
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._latest: tuple[LowState, float] | None = None
        self._tick = 0
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
            self._cmd = cmd

    def now(self) -> float:
        return time.monotonic() if self._realtime else float(self.data.time)

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=2.0)
        self._thread = None

    # ---- simulation ---------------------------------------------------------------------------
    def advance(self, seconds: float) -> None:
        """Step physics for ``seconds`` (rounded to whole physics steps), PD on the latest command."""
        steps = max(1, int(round(seconds / self.model.opt.timestep)))
        for _ in range(steps):
            self._step()

    def _step(self) -> None:
        d = self.data
        with self._lock:
            cmd = self._cmd
        q = d.qpos[self._qadr]
        dq = d.qvel[self._dadr]
        s = self._slot
        tau = cmd.kp[s] * (cmd.q[s] - q) + cmd.kd[s] * (cmd.dq[s] - dq) + cmd.tau[s]
        tau = np.clip(tau, -self._tau_lim, self._tau_lim)
        d.ctrl[:] = 0.0
        d.ctrl[self._act] = tau
        self._tau[:] = 0.0
        self._tau[s] = tau
        mujoco.mj_step(self.model, d)
        self._publish(self.now())

    def _publish(self, stamp: float) -> None:
        if not self.publish_states:
            return
        d = self.data
        motor_q = np.zeros(self.num_slots)
        motor_dq = np.zeros(self.num_slots)
        motor_q[self._slot] = d.qpos[self._qadr]
        motor_dq[self._slot] = d.qvel[self._dadr]
        quat = d.qpos[self._base_q + 3:self._base_q + 7].copy()
        gyro = d.qvel[self._base_d + 3:self._base_d + 6].copy()  # free joint: body frame
        rot = d.xmat[self._base_body].reshape(3, 3)
        acc_world = d.qacc[self._base_d:self._base_d + 3] - self.model.opt.gravity
        self._tick += 1
        low = LowState(motor_q, motor_dq, self._tau.copy(), quat, gyro, rot.T @ acc_world,
                       tick=self._tick, crc_ok=True)
        if self.state_noise is not None:
            low = self.state_noise(low)
        with self._lock:
            self._latest = (low, stamp)

    # ---- ground truth (not available on a real robot) -----------------------------------------
    def base_position(self) -> np.ndarray:
        """(3,) world position of the base."""
        return self.data.qpos[self._base_q:self._base_q + 3].copy()

    def base_lin_vel(self) -> np.ndarray:
        """(3,) base linear velocity in the base frame (MuJoCo ground truth)."""
        rot = self.data.xmat[self._base_body].reshape(3, 3)
        return rot.T @ self.data.qvel[self._base_d:self._base_d + 3]

    def base_quat(self) -> np.ndarray:
        """(4,) base orientation w, x, y, z."""
        return self.data.qpos[self._base_q + 3:self._base_q + 7].copy()

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
        timer = DeadlineTimer(self.model.opt.timestep)
        while not self._stop.is_set():
            self._step()
            timer.wait()
        log.debug("mujoco backend thread stopped (%d overruns)", timer.overruns)
