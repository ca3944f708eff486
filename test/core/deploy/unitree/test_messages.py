"""LowCmd/LowState <-> packed Unitree records (numpy only, no DDS)."""

from __future__ import annotations

import numpy as np
import pytest

from trirl_ros.core.deploy.backends.base import LowCmd, LowState
from trirl_ros.core.deploy.unitree import layouts as L
from trirl_ros.core.deploy.unitree.messages import (
    lowcmd_to_record, lowstate_to_record, quat_to_rpy, record_to_lowcmd, record_to_lowstate)


def test_lowcmd_record_fields_and_header():
    cmd = LowCmd.zeros(20)
    cmd.q[4], cmd.kp[4], cmd.kd[4], cmd.tau[4], cmd.dq[4] = 0.8, 20.0, 0.5, 1.25, -0.5
    rec = lowcmd_to_record(cmd, "unitree_go")
    assert rec["head"].tolist() == [0xFE, 0xEF] and int(rec["level_flag"]) == 0xFF
    m = rec["motor_cmd"][4]
    assert (float(m["q"]), float(m["kp"]), float(m["kd"]), float(m["tau"]), float(m["dq"])) == \
        pytest.approx((0.8, 20.0, 0.5, 1.25, -0.5))
    assert int(m["mode"]) == 1 and L.crc_ok(rec)
    back = record_to_lowcmd(rec)
    assert np.allclose(back.q, cmd.q) and np.allclose(back.kd, cmd.kd)


def test_hg_lowcmd_carries_mode_machine_and_mode_pr():
    rec = lowcmd_to_record(LowCmd.zeros(35), "unitree_hg", mode_machine=6, mode_pr=1, motor_mode=np.arange(35) % 2)
    assert int(rec["mode_machine"]) == 6 and int(rec["mode_pr"]) == 1
    assert rec["motor_cmd"]["mode"].tolist() == [i % 2 for i in range(35)]
    assert L.crc_ok(rec)


def test_lowcmd_refuses_nan_and_wrong_slot_count():
    cmd = LowCmd.zeros(35)
    cmd.q[3] = np.nan
    with pytest.raises(ValueError, match="NaN or inf"):
        lowcmd_to_record(cmd, "unitree_hg")
    with pytest.raises(ValueError, match="35 motor slots"):
        lowcmd_to_record(LowCmd.zeros(20), "unitree_hg")


def test_lowstate_roundtrip_and_crc_flag():
    st = LowState.zeros(35)
    st.motor_q[:] = np.linspace(-1, 1, 35)
    st.motor_dq[7] = 3.0
    st.imu_quat[:] = [np.cos(0.2), np.sin(0.2), 0.0, 0.0]  # roll 0.4 rad about x
    st.imu_gyro[:] = [0.1, -0.2, 0.3]
    st.tick = 1234
    rec = lowstate_to_record(st, "unitree_hg", mode_machine=5)
    assert int(rec["mode_machine"]) == 5
    assert rec["imu_state"]["rpy"] == pytest.approx([0.4, 0.0, 0.0], abs=1e-6)
    back = record_to_lowstate(rec)
    assert back.crc_ok and back.tick == 1234
    assert np.allclose(back.motor_q, st.motor_q, atol=1e-6) and back.motor_dq[7] == 3.0
    rec["motor_state"]["q"][0] += 0.5  # changed after sealing
    assert not record_to_lowstate(rec).crc_ok


def test_quat_to_rpy_yaw():
    assert quat_to_rpy(np.array([np.cos(0.5), 0, 0, np.sin(0.5)])) == pytest.approx([0, 0, 1.0])
