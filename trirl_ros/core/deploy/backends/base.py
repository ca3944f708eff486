"""The robot backend interface the deploy core talks to (ROS-free).

A backend is the low-level link to one robot: the real robot over Unitree DDS, the MuJoCo sim robot
over DDS, an in-process MuJoCo model, or generic ROS topics. All of them exchange the same two
messages, laid out per *motor slot* (the index in Unitree's LowCmd/LowState motor arrays, see
``JointSpec.motor_index``), not in policy order:

* :class:`LowState` -- what the robot measured (joint positions/velocities/torques per slot, IMU).
* :class:`LowCmd` -- what the robot should do this tick: a PD target per slot. The motor computes
  ``tau_out = kp * (q - q_meas) + kd * (dq - dq_meas) + tau``.

``S`` below is ``RobotSpec.num_motor_slots`` (35 for ``unitree_hg`` / G1, 20 for ``unitree_go`` / Go2).
Slots not used by a robot stay zero in both directions.

A backend never blocks the control loop: :meth:`RobotBackend.latest_state` returns the newest state
received so far (or ``None`` before the first one) together with its receive time, and
:meth:`RobotBackend.send` hands one command over without waiting for an answer. Staleness is judged by
the deploy core from the receive time, so a backend must not re-stamp an old state.
"""

from __future__ import annotations

import abc
from dataclasses import dataclass

import numpy as np


def _vec(values, size: int | None, name: str) -> np.ndarray:
    """``values`` as a 1-D float64 array, checked to have ``size`` entries when given."""
    arr = np.asarray(values, dtype=np.float64)
    if arr.ndim != 1:
        raise ValueError(f"{name}: expected a 1-D array, got shape {arr.shape}")
    if size is not None and arr.shape[0] != size:
        raise ValueError(f"{name}: expected {size} entries, got {arr.shape[0]}")
    return arr


@dataclass
class LowState:
    """One low-level state sample, per motor slot.

    Attributes:
        motor_q: (S,) joint positions [rad] per motor slot.
        motor_dq: (S,) joint velocities [rad/s] per motor slot.
        motor_tau: (S,) estimated joint torques [Nm] per motor slot.
        imu_quat: (4,) base orientation quaternion **w, x, y, z** (rotates base-frame vectors into the
            world frame; the same convention as MuJoCo's free-joint quaternion).
        imu_gyro: (3,) base angular velocity [rad/s] in the IMU (base) frame.
        imu_acc: (3,) linear acceleration [m/s^2] in the IMU frame (gravity included).
        tick: the robot's counter / timestamp of this sample (monotonic per source; informational).
        crc_ok: False when the transport received the message but its CRC did not match. The deploy
            core ignores such states (they never refresh the staleness clock).
    """

    motor_q: np.ndarray
    motor_dq: np.ndarray
    motor_tau: np.ndarray
    imu_quat: np.ndarray
    imu_gyro: np.ndarray
    imu_acc: np.ndarray
    tick: int = 0
    crc_ok: bool = True

    def __post_init__(self) -> None:
        self.motor_q = _vec(self.motor_q, None, "LowState.motor_q")
        slots = self.motor_q.shape[0]
        self.motor_dq = _vec(self.motor_dq, slots, "LowState.motor_dq")
        self.motor_tau = _vec(self.motor_tau, slots, "LowState.motor_tau")
        self.imu_quat = _vec(self.imu_quat, 4, "LowState.imu_quat")
        self.imu_gyro = _vec(self.imu_gyro, 3, "LowState.imu_gyro")
        self.imu_acc = _vec(self.imu_acc, 3, "LowState.imu_acc")

    @property
    def num_slots(self) -> int:
        """S, the number of motor slots."""
        return int(self.motor_q.shape[0])

    @classmethod
    def zeros(cls, num_slots: int) -> "LowState":
        """A state with every slot zero and an identity IMU quaternion (1, 0, 0, 0)."""
        z = np.zeros(num_slots)
        return cls(z, z.copy(), z.copy(), np.array([1.0, 0, 0, 0]), np.zeros(3), np.zeros(3))


@dataclass
class LowCmd:
    """One low-level command, per motor slot.

    Attributes:
        q: (S,) position targets [rad].
        dq: (S,) velocity targets [rad/s] (0 for damping towards rest).
        kp: (S,) position gains [Nm/rad]; 0 disables the position term.
        kd: (S,) velocity gains [Nm s/rad].
        tau: (S,) feed-forward torques [Nm].
    A slot with kp = kd = tau = 0 is a zero-torque (limp) motor.
    """

    q: np.ndarray
    dq: np.ndarray
    kp: np.ndarray
    kd: np.ndarray
    tau: np.ndarray

    def __post_init__(self) -> None:
        self.q = _vec(self.q, None, "LowCmd.q")
        slots = self.q.shape[0]
        self.dq = _vec(self.dq, slots, "LowCmd.dq")
        self.kp = _vec(self.kp, slots, "LowCmd.kp")
        self.kd = _vec(self.kd, slots, "LowCmd.kd")
        self.tau = _vec(self.tau, slots, "LowCmd.tau")

    @property
    def num_slots(self) -> int:
        """S, the number of motor slots."""
        return int(self.q.shape[0])

    @classmethod
    def zeros(cls, num_slots: int) -> "LowCmd":
        """A zero-torque command: every target and gain zero."""
        z = np.zeros(num_slots)
        return cls(z, z.copy(), z.copy(), z.copy(), z.copy())


class RobotBackend(abc.ABC):
    """The low-level link to one robot. Implementations: ``mujoco_direct`` (in-process MuJoCo),
    ``ros_topics`` (JointState/Imu), ``unitree_dds`` (Unitree LowCmd/LowState over CycloneDDS).

    Thread-safety: ``latest_state`` and ``send`` are called from the control loop only; a backend
    that receives on another thread must guard its latest sample itself.
    """

    #: S, the number of motor slots this backend exchanges (set by implementations).
    num_slots: int = 0

    @abc.abstractmethod
    def latest_state(self) -> tuple[LowState, float] | None:
        """The newest state received so far and its receive time (``time.monotonic()`` seconds, or
        the backend's simulated clock for simulated backends), or ``None`` before the first state.
        Does not block."""

    @abc.abstractmethod
    def send(self, cmd: LowCmd) -> None:
        """Send one command (``cmd.num_slots == num_slots``). Does not block on the robot."""

    def close(self) -> None:
        """Release transport resources. Safe to call twice."""

    def now(self) -> float:
        """The clock ``latest_state``'s receive times are measured on (default ``time.monotonic``)."""
        import time

        return time.monotonic()

    def __enter__(self) -> "RobotBackend":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
