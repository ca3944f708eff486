"""SimPhysics, the one simulated robot of the in-process backend and the DDS sim robot: the motor
drivers' PD law, equivalence with the training env's PD servos, the IMU of the same instant, and the
measured reason a free-running sim dropped the G1 (zero torque)."""

from __future__ import annotations

import mujoco
import numpy as np
import pytest

from trirl_ros.core.deploy.backends.base import LowCmd
from trirl_ros.core.deploy.sim_physics import SimPhysics
from trirl_ros.core.envs.pd import apply_pd_actuators
from trirl_ros.core.robots import models
from trirl_ros.core.robots.spec import load_robot_spec


def stand_cmd(robot) -> LowCmd:
    """The HOLD command: default pose with the spec gains, dq* = 0, tau_ff = 0."""
    cmd = LowCmd.zeros(robot.num_motor_slots)
    s = robot.motor_indices
    cmd.q[s], cmd.kp[s], cmd.kd[s] = robot.default_pos, robot.kp, robot.kd
    return cmd


@pytest.fixture(scope="module")
def g1(robots_dir):
    return load_robot_spec("g1_29dof")


def test_pd_law_per_slot_clipped_to_the_torque_limit(robots_dir):
    robot = load_robot_spec("go2")
    ph = SimPhysics(robot)
    j = robot.joint_names.index("RL_calf_joint")
    slot = int(robot.motor_indices[j])
    assert slot == 11
    st = ph.low_state()
    q, dq = st.motor_q[slot], st.motor_dq[slot]
    cmd = LowCmd.zeros(20)
    cmd.q[slot], cmd.dq[slot], cmd.kp[slot], cmd.kd[slot], cmd.tau[slot] = q - 0.2, dq + 0.5, 25.0, 1.5, -0.3
    tau = ph.joint_torques(cmd)
    assert tau[j] == pytest.approx(-0.3 + 25.0 * -0.2 + 1.5 * 0.5)  # hand-computed: -4.55 Nm
    assert np.all(np.delete(tau, j) == 0.0)
    cmd.kp[slot] = -1e4  # far beyond the calf's 45.43 Nm
    assert ph.joint_torques(cmd)[j] == pytest.approx(45.43)
    ph.set_command(cmd)
    ph.step()
    assert ph.low_state().motor_tau[slot] == pytest.approx(45.43)  # reported = applied
    assert ph.data.actuator_force[models.actuator_ids(ph.model, robot)[j]] == pytest.approx(45.43)
    with pytest.raises(ValueError, match="slots"):
        ph.set_command(LowCmd.zeros(35))


def test_lowcmd_pd_matches_the_training_envs_pd_servos(g1):
    """Same trajectory (1 s of the G1 holding its default pose) whether PD is computed from a LowCmd
    and applied to the raw motors, or by MuJoCo's actuator model as in the training env."""
    ph = SimPhysics(g1)
    ph.set_command(stand_cmd(g1))
    model = models.load_model(g1, scene=True)
    ids = apply_pd_actuators(model, g1)
    data = mujoco.MjData(model)
    data.qpos[:] = models.default_qpos(model, g1)
    data.ctrl[ids] = g1.default_pos
    for _ in range(500):
        ph.step()
        mujoco.mj_step(model, data)
    assert np.abs(ph.data.qpos - data.qpos).max() < 1e-6
    assert not ph.fell() and ph.min_height > 0.75


def test_imu_is_reported_for_the_same_instant_as_the_joints(g1):
    ph = SimPhysics(g1)  # no command: the robot starts to fall, so the base rotates
    ph.step(60)
    st = ph.low_state()
    quat = ph.base_quat()  # imu site: pelvis origin, no rotation
    assert np.allclose(st.imu_quat * np.sign(st.imu_quat[0]), quat * np.sign(quat[0]), atol=1e-9)
    w_body = ph.data.qvel[ph._free_dof + 3:ph._free_dof + 6]
    assert np.abs(w_body).max() > 0.05 and np.allclose(st.imu_gyro, w_body, atol=1e-9)
    assert st.tick == 120


def test_zero_torque_drops_a_standing_g1_within_half_a_second(g1):
    """Why a sim that runs before the controller talks loses the G1: limp, it falls below
    fall_min_height (0.40 m) in ~0.33 s (measured 0.334 s)."""
    ph = SimPhysics(g1)
    ph.step(250)  # 0.5 s without a command
    assert ph.fell() and ph.min_height < g1.fall_min_height
