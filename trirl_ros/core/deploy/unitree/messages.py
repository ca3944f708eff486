"""Conversions between the deploy core's :class:`LowCmd`/:class:`LowState` (per motor slot,
float64) and Unitree's packed records (:mod:`.layouts`), CRC included."""

from __future__ import annotations

import numpy as np

from trirl_ros.core import quat as Q
from trirl_ros.core.deploy.backends.base import LowCmd, LowState
from trirl_ros.core.deploy.unitree.layouts import (
    NUM_SLOTS, check_family, crc_ok, empty_lowcmd, empty_lowstate, seal)

#: MotorCmd_.mode for an enabled motor: 1 on the G1 (enable), 0x01 (servo/FOC) on the Go2.
MOTOR_MODE_ENABLE = 1


def lowcmd_to_record(cmd: LowCmd, family: str, *, mode_machine: int = 0, mode_pr: int = 0,
                     motor_mode: int | np.ndarray = MOTOR_MODE_ENABLE,
                     out: np.ndarray | None = None) -> np.ndarray:
    """Pack ``cmd`` into a sealed (CRC written) LowCmd record of ``family``.

    Args:
        cmd: per-slot targets, ``cmd.num_slots`` must equal the family's slot count (35 / 20).
        mode_machine: ``unitree_hg`` only -- must echo the robot's LowState.mode_machine.
        mode_pr: ``unitree_hg`` only -- 0 = pitch/roll ankle & waist mode (PR), 1 = AB.
        motor_mode: scalar or (S,) MotorCmd_.mode per slot.
        out: a record to reuse (shape ``()``); a new one otherwise.
    Returns:
        the record, shape ``()``.
    """
    check_family(family)
    slots = NUM_SLOTS[family]
    if cmd.num_slots != slots:
        raise ValueError(f"{family} LowCmd has {slots} motor slots, got a command with {cmd.num_slots}")
    for name in ("q", "dq", "kp", "kd", "tau"):
        if not np.all(np.isfinite(getattr(cmd, name))):
            raise ValueError(f"LowCmd.{name} contains NaN or inf; refusing to send it")
    rec = empty_lowcmd(family) if out is None else out
    motors = rec["motor_cmd"]
    motors["mode"] = motor_mode
    motors["q"] = cmd.q
    motors["dq"] = cmd.dq
    motors["tau"] = cmd.tau
    motors["kp"] = cmd.kp
    motors["kd"] = cmd.kd
    if family == "unitree_hg":
        rec["mode_machine"] = mode_machine
        rec["mode_pr"] = mode_pr
    return seal(rec)


def record_to_lowcmd(rec: np.ndarray) -> LowCmd:
    """The per-slot command inside a LowCmd record (CRC not checked here)."""
    m = rec["motor_cmd"]
    f64 = np.float64
    return LowCmd(m["q"].astype(f64), m["dq"].astype(f64), m["kp"].astype(f64), m["kd"].astype(f64),
                  m["tau"].astype(f64))


def record_to_lowstate(rec: np.ndarray) -> LowState:
    """A :class:`LowState` from a LowState record; ``crc_ok`` tells whether its CRC matched."""
    m = rec["motor_state"]
    imu = rec["imu_state"]
    f64 = np.float64
    return LowState(motor_q=m["q"].astype(f64), motor_dq=m["dq"].astype(f64),
                    motor_tau=m["tau_est"].astype(f64), imu_quat=imu["quaternion"].astype(f64),
                    imu_gyro=imu["gyroscope"].astype(f64), imu_acc=imu["accelerometer"].astype(f64),
                    tick=int(rec["tick"]), crc_ok=bool(crc_ok(rec)))


def lowstate_to_record(state: LowState, family: str, *, mode_machine: int = 0,
                       out: np.ndarray | None = None) -> np.ndarray:
    """Pack ``state`` into a sealed LowState record of ``family`` (rpy filled from the quaternion)."""
    check_family(family)
    slots = NUM_SLOTS[family]
    if state.num_slots != slots:
        raise ValueError(f"{family} LowState has {slots} motor slots, got a state with {state.num_slots}")
    rec = empty_lowstate(family) if out is None else out
    m = rec["motor_state"]
    m["q"] = state.motor_q
    m["dq"] = state.motor_dq
    m["tau_est"] = state.motor_tau
    imu = rec["imu_state"]
    imu["quaternion"] = state.imu_quat
    imu["gyroscope"] = state.imu_gyro
    imu["accelerometer"] = state.imu_acc
    imu["rpy"] = quat_to_rpy(state.imu_quat)
    rec["tick"] = state.tick & 0xFFFFFFFF
    if family == "unitree_hg":
        rec["mode_machine"] = mode_machine
    return seal(rec)


def quat_to_rpy(q: np.ndarray) -> np.ndarray:
    """(3,) roll, pitch, yaw [rad] (ZYX) of a w-first quaternion (4,)."""
    return Q.roll_pitch_yaw(q)
