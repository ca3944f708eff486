"""Binary layouts of Unitree's LowCmd/LowState as the C structs the SDK computes the CRC over.

Two message families (field names, order and types as published in unitree_ros2 / unitree_sdk2's
IDL; the C/C++ structs have natural alignment, so numpy's ``align=True`` reproduces their padding):

* ``unitree_hg`` (G1, H1-2): 35 motor slots. ``LowCmd_`` = mode_pr, mode_machine, 35 x MotorCmd_
  (mode, q, dq, tau, kp, kd, reserve), reserve[4], crc -- 1004 bytes. ``LowState_`` -- 2092 bytes.
* ``unitree_go`` (Go2, B2): 20 motor slots. ``LowCmd_`` = head[2] (0xFE 0xEF), level_flag (0xFF),
  frame_reserve, sn[2], version[2], bandwidth, 20 x MotorCmd_, bms_cmd, wireless_remote[40], led[12],
  fan[2], gpio, reserve, crc -- 812 bytes. ``LowState_`` -- 1180 bytes.

A packed message is a ``np.ndarray`` of shape ``()`` (or ``(B,)``) with one of the dtypes below; its
bytes are the C struct, little-endian. :func:`seal` writes the CRC, :func:`crc_ok` checks it.
"""

from __future__ import annotations

import numpy as np

from trirl_ros.core.deploy.unitree.crc import crc32_words

FAMILIES = ("unitree_hg", "unitree_go")
NUM_SLOTS = {"unitree_hg": 35, "unitree_go": 20}
GO_HEAD = (0xFE, 0xEF)
GO_LEVEL_FLAG_LOW = 0xFF  # LOWLEVEL

_IMU_HG = np.dtype(
    [("quaternion", "<f4", 4), ("gyroscope", "<f4", 3), ("accelerometer", "<f4", 3),
     ("rpy", "<f4", 3), ("temperature", "<i2")], align=True)
_IMU_GO = np.dtype(
    [("quaternion", "<f4", 4), ("gyroscope", "<f4", 3), ("accelerometer", "<f4", 3),
     ("rpy", "<f4", 3), ("temperature", "u1")], align=True)

_MOTOR_CMD_HG = np.dtype(
    [("mode", "u1"), ("q", "<f4"), ("dq", "<f4"), ("tau", "<f4"), ("kp", "<f4"), ("kd", "<f4"),
     ("reserve", "<u4")], align=True)
_MOTOR_CMD_GO = np.dtype(
    [("mode", "u1"), ("q", "<f4"), ("dq", "<f4"), ("tau", "<f4"), ("kp", "<f4"), ("kd", "<f4"),
     ("reserve", "<u4", 3)], align=True)

_MOTOR_STATE_HG = np.dtype(
    [("mode", "u1"), ("q", "<f4"), ("dq", "<f4"), ("ddq", "<f4"), ("tau_est", "<f4"),
     ("temperature", "<i2", 2), ("vol", "<f4"), ("sensor", "<u4", 2), ("motorstate", "<u4"),
     ("reserve", "<u4", 4)], align=True)
_MOTOR_STATE_GO = np.dtype(
    [("mode", "u1"), ("q", "<f4"), ("dq", "<f4"), ("ddq", "<f4"), ("tau_est", "<f4"),
     ("q_raw", "<f4"), ("dq_raw", "<f4"), ("ddq_raw", "<f4"), ("temperature", "u1"),
     ("lost", "<u4"), ("reserve", "<u4", 2)], align=True)

_BMS_CMD_GO = np.dtype([("off", "u1"), ("reserve", "u1", 3)], align=True)
_BMS_STATE_GO = np.dtype(
    [("version_high", "u1"), ("version_low", "u1"), ("status", "u1"), ("soc", "u1"),
     ("current", "<i4"), ("cycle", "<u2"), ("bq_ntc", "u1", 2), ("mcu_ntc", "u1", 2),
     ("cell_vol", "<u2", 15)], align=True)

HG_LOWCMD = np.dtype(
    [("mode_pr", "u1"), ("mode_machine", "u1"), ("motor_cmd", _MOTOR_CMD_HG, 35),
     ("reserve", "<u4", 4), ("crc", "<u4")], align=True)
HG_LOWSTATE = np.dtype(
    [("version", "<u4", 2), ("mode_pr", "u1"), ("mode_machine", "u1"), ("tick", "<u4"),
     ("imu_state", _IMU_HG), ("motor_state", _MOTOR_STATE_HG, 35), ("wireless_remote", "u1", 40),
     ("reserve", "<u4", 4), ("crc", "<u4")], align=True)
GO_LOWCMD = np.dtype(
    [("head", "u1", 2), ("level_flag", "u1"), ("frame_reserve", "u1"), ("sn", "<u4", 2),
     ("version", "<u4", 2), ("bandwidth", "<u2"), ("motor_cmd", _MOTOR_CMD_GO, 20),
     ("bms_cmd", _BMS_CMD_GO), ("wireless_remote", "u1", 40), ("led", "u1", 12), ("fan", "u1", 2),
     ("gpio", "u1"), ("reserve", "<u4"), ("crc", "<u4")], align=True)
GO_LOWSTATE = np.dtype(
    [("head", "u1", 2), ("level_flag", "u1"), ("frame_reserve", "u1"), ("sn", "<u4", 2),
     ("version", "<u4", 2), ("bandwidth", "<u2"), ("imu_state", _IMU_GO),
     ("motor_state", _MOTOR_STATE_GO, 20), ("bms_state", _BMS_STATE_GO),
     ("foot_force", "<i2", 4), ("foot_force_est", "<i2", 4), ("tick", "<u4"),
     ("wireless_remote", "u1", 40), ("bit_flag", "u1"), ("adc_reel", "<f4"),
     ("temperature_ntc1", "u1"), ("temperature_ntc2", "u1"), ("power_v", "<f4"), ("power_a", "<f4"),
     ("fan_frequency", "<u2", 4), ("reserve", "<u4"), ("crc", "<u4")], align=True)

LOWCMD_DTYPES = {"unitree_hg": HG_LOWCMD, "unitree_go": GO_LOWCMD}
LOWSTATE_DTYPES = {"unitree_hg": HG_LOWSTATE, "unitree_go": GO_LOWSTATE}
#: sizeof() of the C structs in Unitree's SDK (what the CRC covers, crc word included).
C_SIZES = {("unitree_hg", "LowCmd"): 1004, ("unitree_hg", "LowState"): 2092,
           ("unitree_go", "LowCmd"): 812, ("unitree_go", "LowState"): 1180}


def check_family(family: str) -> str:
    """``family`` if it is a known message family, else ValueError naming the choices."""
    if family not in FAMILIES:
        raise ValueError(f"unknown Unitree message family {family!r}; expected one of {FAMILIES}")
    return family


def empty_lowcmd(family: str, batch: int | None = None) -> np.ndarray:
    """A zeroed LowCmd record (shape ``()`` or ``(batch,)``); Go2 head/level_flag preset."""
    msg = np.zeros(() if batch is None else (batch,), dtype=LOWCMD_DTYPES[check_family(family)])
    if family == "unitree_go":
        msg["head"] = GO_HEAD
        msg["level_flag"] = GO_LEVEL_FLAG_LOW
    return msg


def empty_lowstate(family: str, batch: int | None = None) -> np.ndarray:
    """A zeroed LowState record (shape ``()`` or ``(batch,)``), identity IMU quaternion."""
    msg = np.zeros(() if batch is None else (batch,), dtype=LOWSTATE_DTYPES[check_family(family)])
    msg["imu_state"]["quaternion"][..., 0] = 1.0
    if family == "unitree_go":
        msg["head"] = GO_HEAD
        msg["level_flag"] = GO_LEVEL_FLAG_LOW
    return msg


def _words(msg: np.ndarray) -> np.ndarray:
    """(n,) or (B, n) uint32: the message words the CRC covers (all but the crc word)."""
    arr = np.ascontiguousarray(msg)
    size = arr.dtype.itemsize
    if size % 4:
        raise ValueError(f"message dtype size {size} is not a multiple of 4")
    raw = arr.reshape(-1).view(np.uint8).reshape(-1, size)
    words = raw[:, : size - 4].view("<u4").astype(np.uint32)
    return words[0] if arr.ndim == 0 else words


def compute_crc(msg: np.ndarray) -> np.ndarray | int:
    """Unitree CRC of a packed message record (shape ``()`` -> int, ``(B,)`` -> (B,) uint32)."""
    return crc32_words(_words(msg))


def seal(msg: np.ndarray) -> np.ndarray:
    """Write the CRC into ``msg["crc"]`` in place and return ``msg``."""
    msg["crc"] = compute_crc(msg)
    return msg


def crc_ok(msg: np.ndarray) -> bool | np.ndarray:
    """Whether the stored crc matches the content (bool, or (B,) bool for a batch)."""
    expected = compute_crc(msg)
    return bool(expected == int(msg["crc"])) if np.ndim(msg) == 0 else expected == msg["crc"]


def record_from_fields(obj, dtype: np.dtype) -> np.ndarray:
    """Packed record (shape ``()``) of ``dtype`` from any object whose attributes have the record's
    field names: a cyclonedds IDL object or a unitree ROS message (nested structs, arrays of
    structs, and uint8 arrays that arrive as ``bytes``)."""
    rec = np.zeros((), dtype=dtype)
    _fill_from_fields(obj, rec)
    return rec


def _fill_from_fields(obj, rec: np.ndarray) -> None:
    for name in rec.dtype.names:
        sub = rec.dtype.fields[name][0]
        value = getattr(obj, name)
        if sub.names is not None:
            _fill_from_fields(value, rec[name])
        elif sub.subdtype is not None and sub.subdtype[0].names is not None:
            column = rec[name]
            for f in column.dtype.names:
                column[f] = [getattr(elem, f) for elem in value]
        elif isinstance(value, (bytes, bytearray)):  # cyclonedds / rclpy give uint8 arrays as bytes
            rec[name] = np.frombuffer(value, dtype=np.uint8)
        else:
            rec[name] = value


def random_record(dtype: np.dtype, seed: int = 0) -> np.ndarray:
    """A record (shape ``()``) with random finite content in every field and zero padding, for
    round-trip tests of the codecs and message conversions."""
    rng = np.random.default_rng(seed)
    rec = np.zeros((), dtype=dtype)

    def fill(view: np.ndarray) -> None:
        for name in view.dtype.names:
            sub = view[name]
            if sub.dtype.names is not None:
                fill(sub)
            elif sub.dtype.kind == "f":
                sub[...] = rng.uniform(-100, 100, size=sub.shape)
            else:
                info = np.iinfo(sub.dtype)
                sub[...] = rng.integers(info.min, info.max, size=sub.shape, endpoint=True, dtype=sub.dtype)

    fill(rec)
    return rec
