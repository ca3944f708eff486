"""CycloneDDS IDL types of Unitree's LowCmd/LowState, wire-compatible with the real robots and
unitree_mujoco (DDS type names ``unitree_hg::msg::dds_::LowCmd_`` etc.; final extensibility).

The field names, order and types are the ones in :mod:`.layouts`; :func:`to_record` and
:func:`from_record` convert between these IDL objects and the packed numpy records the CRC is
computed on. Importing this module needs the ``cyclonedds`` Python binding (``make dds``).
"""

# No `from __future__ import annotations`: cyclonedds evaluates the field annotations itself.
from dataclasses import dataclass

import numpy as np
import cyclonedds.idl as idl
import cyclonedds.idl.annotations as annotate
import cyclonedds.idl.types as t

from trirl_ros.core.deploy.unitree.layouts import LOWCMD_DTYPES, LOWSTATE_DTYPES, check_family, record_from_fields

# --- unitree_hg (G1) -------------------------------------------------------------------------


@dataclass
@annotate.final
@annotate.autoid("sequential")
class HgMotorCmd(idl.IdlStruct, typename="unitree_hg.msg.dds_.MotorCmd_"):
    mode: t.uint8
    q: t.float32
    dq: t.float32
    tau: t.float32
    kp: t.float32
    kd: t.float32
    reserve: t.uint32


@dataclass
@annotate.final
@annotate.autoid("sequential")
class HgMotorState(idl.IdlStruct, typename="unitree_hg.msg.dds_.MotorState_"):
    mode: t.uint8
    q: t.float32
    dq: t.float32
    ddq: t.float32
    tau_est: t.float32
    temperature: t.array[t.int16, 2]
    vol: t.float32
    sensor: t.array[t.uint32, 2]
    motorstate: t.uint32
    reserve: t.array[t.uint32, 4]


@dataclass
@annotate.final
@annotate.autoid("sequential")
class HgIMUState(idl.IdlStruct, typename="unitree_hg.msg.dds_.IMUState_"):
    quaternion: t.array[t.float32, 4]
    gyroscope: t.array[t.float32, 3]
    accelerometer: t.array[t.float32, 3]
    rpy: t.array[t.float32, 3]
    temperature: t.int16


@dataclass
@annotate.final
@annotate.autoid("sequential")
class HgLowCmd(idl.IdlStruct, typename="unitree_hg.msg.dds_.LowCmd_"):
    mode_pr: t.uint8
    mode_machine: t.uint8
    motor_cmd: t.array[HgMotorCmd, 35]
    reserve: t.array[t.uint32, 4]
    crc: t.uint32


@dataclass
@annotate.final
@annotate.autoid("sequential")
class HgLowState(idl.IdlStruct, typename="unitree_hg.msg.dds_.LowState_"):
    version: t.array[t.uint32, 2]
    mode_pr: t.uint8
    mode_machine: t.uint8
    tick: t.uint32
    imu_state: HgIMUState
    motor_state: t.array[HgMotorState, 35]
    wireless_remote: t.array[t.uint8, 40]
    reserve: t.array[t.uint32, 4]
    crc: t.uint32


# --- unitree_go (Go2) ------------------------------------------------------------------------


@dataclass
@annotate.final
@annotate.autoid("sequential")
class GoMotorCmd(idl.IdlStruct, typename="unitree_go.msg.dds_.MotorCmd_"):
    mode: t.uint8
    q: t.float32
    dq: t.float32
    tau: t.float32
    kp: t.float32
    kd: t.float32
    reserve: t.array[t.uint32, 3]


@dataclass
@annotate.final
@annotate.autoid("sequential")
class GoMotorState(idl.IdlStruct, typename="unitree_go.msg.dds_.MotorState_"):
    mode: t.uint8
    q: t.float32
    dq: t.float32
    ddq: t.float32
    tau_est: t.float32
    q_raw: t.float32
    dq_raw: t.float32
    ddq_raw: t.float32
    temperature: t.uint8
    lost: t.uint32
    reserve: t.array[t.uint32, 2]


@dataclass
@annotate.final
@annotate.autoid("sequential")
class GoIMUState(idl.IdlStruct, typename="unitree_go.msg.dds_.IMUState_"):
    quaternion: t.array[t.float32, 4]
    gyroscope: t.array[t.float32, 3]
    accelerometer: t.array[t.float32, 3]
    rpy: t.array[t.float32, 3]
    temperature: t.uint8


@dataclass
@annotate.final
@annotate.autoid("sequential")
class GoBmsCmd(idl.IdlStruct, typename="unitree_go.msg.dds_.BmsCmd_"):
    off: t.uint8
    reserve: t.array[t.uint8, 3]


@dataclass
@annotate.final
@annotate.autoid("sequential")
class GoBmsState(idl.IdlStruct, typename="unitree_go.msg.dds_.BmsState_"):
    version_high: t.uint8
    version_low: t.uint8
    status: t.uint8
    soc: t.uint8
    current: t.int32
    cycle: t.uint16
    bq_ntc: t.array[t.uint8, 2]
    mcu_ntc: t.array[t.uint8, 2]
    cell_vol: t.array[t.uint16, 15]


@dataclass
@annotate.final
@annotate.autoid("sequential")
class GoLowCmd(idl.IdlStruct, typename="unitree_go.msg.dds_.LowCmd_"):
    head: t.array[t.uint8, 2]
    level_flag: t.uint8
    frame_reserve: t.uint8
    sn: t.array[t.uint32, 2]
    version: t.array[t.uint32, 2]
    bandwidth: t.uint16
    motor_cmd: t.array[GoMotorCmd, 20]
    bms_cmd: GoBmsCmd
    wireless_remote: t.array[t.uint8, 40]
    led: t.array[t.uint8, 12]
    fan: t.array[t.uint8, 2]
    gpio: t.uint8
    reserve: t.uint32
    crc: t.uint32


@dataclass
@annotate.final
@annotate.autoid("sequential")
class GoLowState(idl.IdlStruct, typename="unitree_go.msg.dds_.LowState_"):
    head: t.array[t.uint8, 2]
    level_flag: t.uint8
    frame_reserve: t.uint8
    sn: t.array[t.uint32, 2]
    version: t.array[t.uint32, 2]
    bandwidth: t.uint16
    imu_state: GoIMUState
    motor_state: t.array[GoMotorState, 20]
    bms_state: GoBmsState
    foot_force: t.array[t.int16, 4]
    foot_force_est: t.array[t.int16, 4]
    tick: t.uint32
    wireless_remote: t.array[t.uint8, 40]
    bit_flag: t.uint8
    adc_reel: t.float32
    temperature_ntc1: t.uint8
    temperature_ntc2: t.uint8
    power_v: t.float32
    power_a: t.float32
    fan_frequency: t.array[t.uint16, 4]
    reserve: t.uint32
    crc: t.uint32


LOWCMD_TYPES = {"unitree_hg": HgLowCmd, "unitree_go": GoLowCmd}
LOWSTATE_TYPES = {"unitree_hg": HgLowState, "unitree_go": GoLowState}
_NESTED = {  # IDL class of each struct-typed field, by (parent class, field)
    (HgLowCmd, "motor_cmd"): HgMotorCmd, (HgLowState, "motor_state"): HgMotorState,
    (HgLowState, "imu_state"): HgIMUState, (GoLowCmd, "motor_cmd"): GoMotorCmd,
    (GoLowCmd, "bms_cmd"): GoBmsCmd, (GoLowState, "motor_state"): GoMotorState,
    (GoLowState, "imu_state"): GoIMUState, (GoLowState, "bms_state"): GoBmsState,
}


def _from_record(cls: type, rec: np.ndarray):
    """IDL object of class ``cls`` from a numpy record (shape ``()``) with matching fields."""
    values = []
    for name in rec.dtype.names:
        sub_dtype = rec.dtype.fields[name][0]
        value = rec[name]
        if sub_dtype.names is not None:  # nested struct
            values.append(_from_record(_NESTED[(cls, name)], value))
        elif sub_dtype.subdtype is not None and sub_dtype.subdtype[0].names is not None:
            elem_cls = _NESTED[(cls, name)]
            columns = [value[f].tolist() for f in value.dtype.names]  # each (n,) or (n, k) lists
            values.append([elem_cls(*row) for row in zip(*columns)])
        else:
            values.append(value.tolist())
    return cls(*values)


def from_record(rec: np.ndarray):
    """IDL LowCmd/LowState object from a packed record of :mod:`.layouts` (shape ``()``)."""
    for family in ("unitree_hg", "unitree_go"):
        if rec.dtype == LOWCMD_DTYPES[family]:
            return _from_record(LOWCMD_TYPES[family], rec)
        if rec.dtype == LOWSTATE_DTYPES[family]:
            return _from_record(LOWSTATE_TYPES[family], rec)
    raise ValueError(f"not a Unitree LowCmd/LowState record dtype: {rec.dtype}")


def to_record(obj) -> np.ndarray:
    """Packed numpy record (shape ``()``) of an IDL LowCmd/LowState object."""
    for family in ("unitree_hg", "unitree_go"):
        for types, dtypes in ((LOWCMD_TYPES, LOWCMD_DTYPES), (LOWSTATE_TYPES, LOWSTATE_DTYPES)):
            if isinstance(obj, types[family]):
                return record_from_fields(obj, dtypes[family])
    raise ValueError(f"not a Unitree LowCmd/LowState IDL object: {type(obj).__name__}")


def lowcmd_type(family: str) -> type:
    """The IDL LowCmd class of a message family."""
    return LOWCMD_TYPES[check_family(family)]


def lowstate_type(family: str) -> type:
    """The IDL LowState class of a message family."""
    return LOWSTATE_TYPES[check_family(family)]
