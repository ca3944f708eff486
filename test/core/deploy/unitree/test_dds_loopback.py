"""Real CycloneDDS on an isolated loopback domain: sim robot <-> UnitreeDdsBackend.

Everything here goes through DDS (no mocks): the sim robot publishes LowState, the backend
receives it, sends LowCmd with a valid CRC, the sim applies it and reports the applied torques back
in LowState. Corrupted messages are dropped and counted on both sides.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from .conftest import require_cyclonedds

require_cyclonedds()

from trirl_ros.core.deploy.backends.base import LowCmd, LowState  # noqa: E402
from trirl_ros.core.deploy.backends.unitree_dds import UnitreeDdsBackend  # noqa: E402
from trirl_ros.core.deploy.unitree import dds, idl, layouts as L  # noqa: E402
from trirl_ros.core.deploy.unitree.cdr import CdrCodec  # noqa: E402
from trirl_ros.core.deploy.unitree.messages import lowcmd_to_record, lowstate_to_record  # noqa: E402
from trirl_ros.core.robots.spec import load_robot_spec  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))))


def wait_until(pred, timeout: float, period: float = 0.01) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if pred():
            return True
        time.sleep(period)
    return bool(pred())


def torque_cmd(num_slots: int, taus: dict[int, float]) -> LowCmd:
    """Pure feed-forward torques (kp = kd = 0): the sim must apply exactly these."""
    cmd = LowCmd.zeros(num_slots)
    for slot, tau in taus.items():
        cmd.tau[slot] = tau
    return cmd


@pytest.fixture
def go2():
    return load_robot_spec("go2")


def test_dds_config_validation():
    with pytest.raises(ValueError, match="domain_id"):
        dds.DdsConfig(domain_id=300)
    with pytest.raises(ValueError, match="unicast peer"):
        dds.DdsConfig(domain_id=3, multicast=False)
    xml = dds.DdsConfig.loopback(9).to_xml()
    assert 'NetworkInterface name="lo"' in xml and "<AllowMulticast>false" in xml and "127.0.0.1" in xml
    assert dds.DdsConfig(domain_id=0).to_xml() is None  # CYCLONEDDS_URI / defaults


def test_second_config_on_same_domain_is_refused(dds_config):
    from dataclasses import replace

    p = dds.open_participant(dds_config)
    try:
        with pytest.raises(ValueError, match="another configuration"):
            dds.open_participant(replace(dds_config, peers=("127.0.0.2",)))
    finally:
        dds.close_participant(p)


def test_sim_robot_and_backend_exchange_state_and_commands(go2, dds_config, robots_dir):
    from trirl_ros.core.deploy.unitree.sim_robot import SimRobot

    with SimRobot(go2, dds_config) as sim, UnitreeDdsBackend.from_spec(go2, dds_config) as backend:
        sim.start(speed=1.0)
        assert backend.wait_for_state(10.0), "no LowState from the sim robot within 10 s"
        state, stamp = backend.latest_state()
        assert state.crc_ok and state.num_slots == 20 and 0 <= time.monotonic() - stamp < 1.0
        assert abs(np.linalg.norm(state.imu_quat) - 1.0) < 1e-5
        used = set(int(i) for i in go2.motor_indices)
        assert used == set(range(12))
        assert np.all(state.motor_q[12:] == 0)  # unused slots stay zero
        assert np.all(np.isfinite(state.imu_gyro)) and np.all(np.isfinite(state.imu_acc))

        taus = {0: 1.5, 7: -2.0}  # FR hip, RR thigh (feed-forward only)
        cmd = torque_cmd(20, taus)

        def applied():
            backend.send(cmd)
            st, _ = backend.latest_state()
            return all(abs(st.motor_tau[s] - t) < 1e-5 for s, t in taus.items())

        assert wait_until(applied, 10.0, 0.02), "sim never reported the commanded torques"
        assert sim.stats.cmds_received > 0 and sim.stats.cmd_crc_errors == 0
        assert backend.crc_errors == 0 and backend.states_received >= 2

        # A LowCmd with a broken CRC is dropped and counted; the last good command stays in force.
        writer = dds.RawWriter(backend._participant, dds.LOWCMD_TOPIC, idl.GoLowCmd)
        bad = lowcmd_to_record(torque_cmd(20, {0: -9.0}), "unitree_go")
        bad["crc"] ^= 0x1
        codec = CdrCodec(L.GO_LOWCMD)
        before = sim.stats.cmd_crc_errors
        assert wait_until(lambda: (writer.write(codec.encode(bad)), sim.stats.cmd_crc_errors > before)[1], 5.0)
        time.sleep(0.05)
        st, _ = backend.latest_state()
        assert abs(st.motor_tau[0] - 1.5) < 1e-5, "a LowCmd with a bad CRC was applied"
    assert backend.latest_state() is not None  # close keeps the last state readable


def test_lowstate_with_bad_crc_is_ignored_and_counted(dds_config):
    backend = UnitreeDdsBackend("unitree_go", dds_config)
    try:
        writer = dds.RawWriter(backend._participant, dds.LOWSTATE_TOPIC, idl.GoLowState)
        codec = CdrCodec(L.GO_LOWSTATE)

        def publish(tick, corrupt=False):
            st = LowState.zeros(20)
            st.tick = tick
            st.motor_q[2] = 0.1 * tick
            rec = lowstate_to_record(st, "unitree_go")
            if corrupt:
                rec["motor_state"]["q"][2] = 99.0  # content changed after sealing
            writer.write(codec.encode(rec))

        assert wait_until(lambda: (publish(1), backend.states_received >= 1)[1], 10.0, 0.05)
        publish(2, corrupt=True)
        assert wait_until(lambda: backend.crc_errors == 1, 5.0)
        state, _ = backend.latest_state()
        assert state.tick == 1 and state.motor_q[2] == pytest.approx(0.1)
        publish(3)
        assert wait_until(lambda: backend.latest_state()[0].tick == 3, 5.0)
        assert backend.crc_errors == 1
    finally:
        backend.close()
        backend.close()  # idempotent


def test_g1_commands_echo_mode_machine(dds_config, robots_dir):
    from trirl_ros.core.deploy.unitree.sim_robot import SimRobot

    g1 = load_robot_spec("g1_29dof")
    with SimRobot(g1, dds_config, mode_machine=7, hold_seconds=100.0) as sim, \
            UnitreeDdsBackend.from_spec(g1, dds_config) as backend:
        # before any LowState the backend does not know mode_machine: the sim must reject commands
        sim._reader  # DDS entities exist; step manually (no thread) so the order is deterministic
        assert wait_until(lambda: backend.matched_readers() >= 1, 10.0)
        cmd = torque_cmd(35, {3: 4.0})  # left knee
        backend.send(cmd)
        assert wait_until(lambda: (sim.step(), sim.stats.cmd_mode_machine_rejected >= 1)[1], 5.0)
        assert sim.stats.cmds_received == 0
        assert wait_until(lambda: (sim.step(), backend.states_received > 0)[1], 5.0)
        assert backend.mode_machine == 7
        backend.send(cmd)
        assert wait_until(lambda: (sim.step(), sim.stats.cmds_received >= 1)[1], 5.0)
        sim.step()
        assert sim.low_state().motor_tau[3] == pytest.approx(4.0)


def test_sim_robot_process_over_loopback(go2, dds_domain, dds_config, robots_dir):
    """The `sim_robot` CLI in its own process: a real loopback network exchange."""
    env = dict(os.environ, PYTHONPATH=REPO + os.pathsep + os.environ.get("PYTHONPATH", ""))
    proc = subprocess.Popen(
        [sys.executable, "-m", "trirl_ros.ros.sim_robot", "--robot", "go2", "--loopback", "--domain",
         str(dds_domain), "--status-every", "0", "--seconds", "60"],
        cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    backend = UnitreeDdsBackend.from_spec(go2, dds_config)
    try:
        assert backend.wait_for_state(30.0), "no LowState from the sim_robot process"
        cmd = torque_cmd(20, {4: 3.0})

        def applied():
            backend.send(cmd)
            return abs(backend.latest_state()[0].motor_tau[4] - 3.0) < 1e-5

        assert wait_until(applied, 10.0, 0.02)
        assert backend.crc_errors == 0
    finally:
        backend.close()
        proc.send_signal(signal.SIGTERM)
        try:
            out, _ = proc.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            out, _ = proc.communicate()
    assert proc.returncode == 0, out
    assert "publishing rt/lowstate" in out
    summary = [line for line in out.splitlines() if line.startswith("sim_robot done:")]
    assert summary, out
    fields = summary[0].split()
    assert int(fields[fields.index("cmds") + 1]) > 0 and int(fields[fields.index("bad_crc") + 1]) == 0


def test_sim_robot_run_ends_at_its_wall_deadline(go2, dds_config, robots_dir):
    """``until`` ends a real-time run by itself (sim2sim over DDS shares its controller's deadline):
    no stop() call, and the sim time stepped is at most the wall time it ran."""
    from trirl_ros.core.deploy.unitree.sim_robot import SimRobot

    with SimRobot(go2, dds_config, wait_for_cmd=False) as sim:
        start = time.monotonic()
        sim.run(seconds=None, speed=1.0, until=start + 0.3)
        ran = time.monotonic() - start
        assert 0.3 <= ran < 1.0
        assert 0.0 < sim.sim_time <= ran + sim.dt
