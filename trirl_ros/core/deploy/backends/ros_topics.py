"""Generic ROS 2 topics backend (ROS-free core part): ``sensor_msgs/JointState`` + ``sensor_msgs/Imu``
in, ``sensor_msgs/JointState`` position targets out, for ros2_control setups.

The ROS side (:mod:`trirl_ros.ros.ros_topics_io`) subscribes/publishes and calls :meth:`on_joint_state`
and :meth:`on_imu` with plain arrays; this class assembles per-slot :class:`LowState` samples and turns
each :class:`LowCmd` into a :class:`JointTargets` for the publisher callback.

Joints are matched BY NAME (the robot spec's MJCF joint names); JointState messages may list them in
any order and may carry extra joints. A sample is produced only once every robot joint and an IMU
message have been seen.

Position-controlled robots cannot go limp or do pure damping: for slots commanded with kp = 0
(ZERO_TORQUE, DAMPING) the published position target is the *measured* position, with velocity
target 0, so a position controller holds the joint where it is. ``kp``/``kd`` are carried in
:class:`JointTargets` for controllers that accept gains.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np

from trirl_ros.core.deploy.backends.base import LowCmd, LowState, RobotBackend
from trirl_ros.core.robots.spec import RobotSpec


@dataclass
class JointTargets:
    """Targets for the robot's joints in ``names`` order (J,) each."""

    names: tuple[str, ...]
    position: np.ndarray
    velocity: np.ndarray
    effort: np.ndarray  # feed-forward torque
    kp: np.ndarray
    kd: np.ndarray


class RosTopicsBackend(RobotBackend):
    """RobotBackend fed by JointState/Imu callbacks; ``publish`` receives a JointTargets per send.

    Args:
        robot: robot spec (joint names, motor slots).
        publish: callable taking one :class:`JointTargets` (the ROS side publishes it).
        clock: receive-time clock (``time.monotonic``).
    """

    def __init__(self, robot: RobotSpec, publish: Callable[[JointTargets], None],
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.robot = robot
        self.num_slots = robot.num_motor_slots
        self._publish = publish
        self._clock = clock
        self._names = robot.joint_names
        self._index = {n: i for i, n in enumerate(self._names)}
        self._slots = robot.motor_indices
        self._q = np.full(robot.num_joints, np.nan)
        self._dq = np.zeros(robot.num_joints)
        self._tau = np.zeros(robot.num_joints)
        self._seen = np.zeros(robot.num_joints, dtype=bool)
        self._imu: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None
        self._latest: tuple[LowState, float] | None = None
        self._tick = 0
        self._lock = threading.Lock()

    def on_joint_state(self, names: Sequence[str], position: Sequence[float],
                       velocity: Sequence[float] = (), effort: Sequence[float] = ()) -> None:
        """A JointState message: ``names`` (M,), ``position`` (M,), optional ``velocity``/``effort``
        (M,) or empty. Produces a new state sample once all joints and an IMU reading are known."""
        if len(position) != len(names):
            raise ValueError(f"JointState has {len(names)} names but {len(position)} positions")
        for k, name in enumerate(names):
            i = self._index.get(name)
            if i is None:
                continue
            self._q[i] = position[k]
            self._dq[i] = velocity[k] if len(velocity) == len(names) else 0.0
            self._tau[i] = effort[k] if len(effort) == len(names) else 0.0
            self._seen[i] = True
        self._emit()

    def on_imu(self, quat_wxyz: Sequence[float], gyro: Sequence[float], acc: Sequence[float]) -> None:
        """An Imu message: orientation (4,) **w, x, y, z** (convert from ROS x, y, z, w first),
        angular velocity (3,) and linear acceleration (3,) in the IMU frame."""
        self._imu = (np.asarray(quat_wxyz, float).copy(), np.asarray(gyro, float).copy(),
                     np.asarray(acc, float).copy())

    def missing_joints(self) -> list[str]:
        """Robot joints not yet seen in any JointState."""
        return [n for n, s in zip(self._names, self._seen) if not s]

    def _emit(self) -> None:
        if self._imu is None or not self._seen.all():
            return
        q = np.zeros(self.num_slots)
        dq = np.zeros(self.num_slots)
        tau = np.zeros(self.num_slots)
        q[self._slots], dq[self._slots], tau[self._slots] = self._q, self._dq, self._tau
        quat, gyro, acc = self._imu
        self._tick += 1
        with self._lock:
            self._latest = (LowState(q, dq, tau, quat, gyro, acc, tick=self._tick), self._clock())

    # ---- RobotBackend -------------------------------------------------------------------------
    def latest_state(self) -> tuple[LowState, float] | None:
        with self._lock:
            return self._latest

    def now(self) -> float:
        return self._clock()

    def send(self, cmd: LowCmd) -> None:
        if cmd.num_slots != self.num_slots:
            raise ValueError(f"LowCmd has {cmd.num_slots} slots, {self.robot.name} has {self.num_slots}")
        s = self._slots
        kp = cmd.kp[s].copy()
        position = cmd.q[s].copy()
        limp = kp == 0.0
        position[limp] = self._q[limp]  # hold where it is (see module doc)
        if not np.isfinite(position).all():  # joints not measured yet: publish nothing
            return
        velocity = cmd.dq[s].copy()
        self._publish(JointTargets(self._names, position, velocity, cmd.tau[s].copy(), kp, cmd.kd[s].copy()))
