"""SimRobot around the shared SimPhysics: PD per motor slot, torque clipping, frozen time until the
first command, pacing (DDS entities exist but no peer is needed)."""

from __future__ import annotations

import time

import numpy as np
import pytest

from .conftest import require_cyclonedds

require_cyclonedds()

from trirl_ros.core.deploy.backends.base import LowCmd  # noqa: E402
from trirl_ros.core.robots.spec import load_robot_spec  # noqa: E402


@pytest.fixture(scope="module")
def _go2_sim(dds_config, robots_dir):
    from trirl_ros.core.deploy.unitree.sim_robot import SimRobot

    sim = SimRobot(load_robot_spec("go2"), dds_config, wait_for_cmd=False)  # compiling the model is the slow part
    yield sim
    sim.close()


@pytest.fixture
def go2_sim(_go2_sim):
    _go2_sim.reset()
    _go2_sim.wait_for_cmd = False
    return _go2_sim


def test_pd_law_per_motor_slot_and_clipping(go2_sim):
    sim = go2_sim
    spec = sim.robot
    # FR_calf_joint is motor slot 2; find its policy index by name
    j = spec.joint_names.index("FR_calf_joint")
    assert int(spec.motor_indices[j]) == 2
    q = float(sim.low_state().motor_q[2])
    dq = float(sim.low_state().motor_dq[2])
    cmd = LowCmd.zeros(20)
    cmd.q[2], cmd.dq[2], cmd.kp[2], cmd.kd[2], cmd.tau[2] = q + 0.1, dq + 0.2, 30.0, 2.0, 0.5
    tau = sim.joint_torques(cmd)
    assert tau[j] == pytest.approx(0.5 + 30.0 * 0.1 + 2.0 * 0.2)
    others = np.delete(tau, j)
    assert np.allclose(others, 0.0)  # zero gains elsewhere: zero torque
    cmd.kp[2] = 1e4  # saturates at the calf's 45.43 Nm motor limit
    assert sim.joint_torques(cmd)[j] == pytest.approx(45.43, abs=1e-3)


def test_low_state_maps_joints_to_slots(go2_sim):
    st = go2_sim.low_state()
    spec = go2_sim.robot
    assert st.num_slots == 20
    assert np.allclose(st.motor_q[spec.motor_indices], spec.default_pos)  # starts in the default pose
    assert np.all(st.motor_q[12:] == 0.0)
    assert st.imu_quat == pytest.approx([1.0, 0.0, 0.0, 0.0], abs=1e-6)


def test_free_run_and_real_time_pacing(go2_sim):
    sim = go2_sim
    t0 = time.monotonic()
    stats = sim.run(0.1, speed=None)  # free-running: 50 steps of 2 ms
    assert stats.steps == 50 and sim.sim_time == pytest.approx(0.1)
    assert stats.states_published == 50
    assert sim.low_state().tick == 100  # ms
    t1 = time.monotonic()
    sim.run(0.1, speed=1.0)
    t2 = time.monotonic()
    assert t2 - t1 >= 0.095, f"real-time pacing ran 0.1 s of sim in {t2 - t1:.3f} s wall"
    assert sim.stats.steps == 100 and len(sim.stats.lateness_s) == 50
    with pytest.raises(ValueError, match="speed"):
        sim.run(0.1, speed=0.0)
    assert t1 - t0 < 30.0


def test_time_stays_frozen_until_the_first_command(go2_sim):
    sim = go2_sim
    sim.wait_for_cmd = True
    for _ in range(5):
        sim._tick()
    assert sim.sim_time == 0.0 and sim.stats.steps == 0 and sim.stats.states_published == 5
    assert not sim.have_cmd
    sim.physics.set_command(LowCmd.zeros(20))  # as if a valid LowCmd had been received
    sim._tick()
    assert sim.stats.steps == 1 and sim.sim_time == pytest.approx(sim.dt)
