"""The base-velocity estimator (IMU + leg kinematics Kalman filter): its leg kinematics against
finite differences of MuJoCo's forward kinematics, the filter's update by hand, the contact test, a
standing robot, and bad settings."""

from __future__ import annotations

import numpy as np
import pytest

from trirl_ros.core import quat as Q
from trirl_ros.core.deploy.backends.base import LowCmd, LowState
from trirl_ros.core.deploy.estimator import BaseVelocityEstimator
from trirl_ros.core.deploy.estimator_config import EstimatorConfig
from trirl_ros.core.robots.spec import load_robot_spec


@pytest.fixture(scope="module")
def go2(robots_dir):
    return load_robot_spec("go2")


def _low(robot, q, dq, gyro=(0.0, 0.0, 0.0), quat=(1.0, 0.0, 0.0, 0.0), acc=(0.0, 0.0, 9.81)) -> LowState:
    low = LowState.zeros(robot.num_motor_slots)
    low.motor_q[robot.motor_indices] = q
    low.motor_dq[robot.motor_indices] = dq
    low.imu_gyro[:], low.imu_quat[:], low.imu_acc[:] = gyro, quat, acc
    return low


def test_foot_velocities_are_the_derivative_of_foot_positions(go2):
    """r_i(q + dq dt) rotated by -omega dt, minus r_i(q), over dt: the base-frame foot velocity."""
    est = BaseVelocityEstimator(go2)
    est._radius[:] = 0.0  # the feet's origins (the rolling contact point: the next test)
    rng = np.random.default_rng(0)
    q = go2.default_pos + rng.uniform(-0.2, 0.2, go2.num_joints)
    dq = rng.uniform(-3.0, 3.0, go2.num_joints)
    gyro = np.array([0.4, -0.3, 0.8])
    dt = 1e-6
    pos0, vel = est.foot_kinematics(_low(go2, q, dq, gyro))
    pos1, _ = est.foot_kinematics(_low(go2, q + dq * dt, dq, gyro))
    # the base turned by omega dt: positions seen from the old base frame are R(omega dt) r
    turn = Q.to_matrix(Q.from_axis_angle(gyro / np.linalg.norm(gyro), np.linalg.norm(gyro) * dt))
    np.testing.assert_allclose((pos1 @ turn.T - pos0) / dt, vel, atol=1e-4)
    assert pos0.shape == (4, 3) and np.all(pos0[:, 2] < -0.2)  # four feet below the base


def test_a_rolling_foot_is_measured_where_it_touches_the_ground(go2, robots_dir):
    """The Go2's feet are 22 mm spheres: a calf turning at w moves the touching point by
    w a x (0.022 down) relative to the sphere's centre (a: the calf joint's axis). The G1's soles are flat."""
    import mujoco

    est = BaseVelocityEstimator(go2)
    np.testing.assert_allclose(est._radius, 0.022)
    assert not BaseVelocityEstimator(load_robot_spec("g1_29dof"))._radius.any()
    dq = np.zeros(go2.num_joints)
    calf = go2.joint_names.index("FL_calf_joint")
    dq[calf] = 2.0
    _, rolling = est.foot_kinematics(_low(go2, go2.default_pos, dq))
    axis = est.data.xaxis[mujoco.mj_name2id(est.model, mujoco.mjtObj.mjOBJ_JOINT, "FL_calf_joint")].copy()
    est._radius[:] = 0.0
    _, centre = est.foot_kinematics(_low(go2, go2.default_pos, dq))
    np.testing.assert_allclose(rolling[0] - centre[0], np.cross(2.0 * axis, [0.0, 0.0, -0.022]), atol=1e-12)
    np.testing.assert_allclose(rolling[1:], centre[1:], atol=1e-12)


def test_a_foot_far_from_the_prediction_is_not_used_unless_all_are(go2, monkeypatch):
    """A swing foot skimming the ground passes the contact test; innovation_gate drops it."""
    est = BaseVelocityEstimator(go2, EstimatorConfig(innovation_gate=0.8))
    est.v = np.array([1.5, 0.0, 0.0])
    pos = np.array([[0.2, 0.1, -0.30], [0.2, -0.1, -0.29], [-0.2, 0.1, -0.20], [-0.2, -0.1, -0.30]])
    # feet 0 and 3 stand (they move back under the base at 1.5 m/s); foot 1 swings forward at 2 m/s
    vel = np.array([[-1.5, 0.0, 0.0], [2.0, 0.0, 0.0], [0.0, 0.0, 0.0], [-1.4, 0.0, 0.0]])
    monkeypatch.setattr(est, "foot_kinematics", lambda low: (pos, vel))
    est.update(_low(go2, go2.default_pos, np.zeros(12)), 0.0)
    assert est.stance.tolist() == [True, False, False, True]
    est.v = np.array([-3.0, 0.0, 0.0])  # every low foot is far from it: all are used, not none
    est.update(_low(go2, go2.default_pos, np.zeros(12)), 0.0)
    assert est.stance.tolist() == [True, True, False, True]


def test_one_stance_foot_update_is_the_kalman_gain_by_hand(go2, monkeypatch):
    cfg = EstimatorConfig(accel_noise=4.0, leg_velocity_noise=0.2)
    est = BaseVelocityEstimator(go2, cfg)
    pos = np.array([[0.2, 0.1, -0.30], [0.2, -0.1, -0.20], [-0.2, 0.1, -0.20], [-0.2, -0.1, -0.20]])
    vel = np.array([[-0.5, 0.1, 0.0], [0.0, 0.0, 0.0], [0.0, 0.0, 0.0], [0.0, 0.0, 0.0]])
    monkeypatch.setattr(est, "foot_kinematics", lambda low: (pos, vel))
    low = _low(go2, go2.default_pos, np.zeros(12), acc=(1.0, 0.0, 9.81))  # 1 m/s^2 forward
    v = est.update(low, 0.02)
    assert est.stance.tolist() == [True, False, False, False]  # only the lowest foot (3 cm rule)
    # predict: v = 0 + 1 * 0.02 in x; P = 0.01 + (4 * 0.02)^2 = 0.0164; gain = 0.0164 / (0.0164 + 0.04)
    gain = 0.0164 / (0.0164 + 0.04)
    expected = np.array([0.02, 0.0, 0.0]) + gain * (np.array([0.5, -0.1, 0.0]) - np.array([0.02, 0.0, 0.0]))
    np.testing.assert_allclose(v, expected, atol=1e-9)
    np.testing.assert_allclose(est.P, np.eye(3) * (1 - gain) * 0.0164, atol=1e-12)


def test_a_landing_foot_is_not_a_stance_foot(go2, monkeypatch):
    est = BaseVelocityEstimator(go2, EstimatorConfig(stance_max_vz=0.5))
    pos = np.array([[0.2, 0.1, -0.30], [0.2, -0.1, -0.29], [-0.2, 0.1, -0.20], [-0.2, -0.1, -0.30]])
    vel = np.array([[0.0, 0.0, 0.0], [0.0, 0.0, -1.2], [0.0, 0.0, 0.0], [0.3, 0.0, 0.4]])
    monkeypatch.setattr(est, "foot_kinematics", lambda low: (pos, vel))
    est.update(_low(go2, go2.default_pos, np.zeros(12)), 0.0)
    assert est.stance.tolist() == [True, False, False, True]  # low and not moving vertically


def test_a_standing_robot_estimates_zero(go2):
    """The sim Go2 held at its default pose by PD for 1 s: estimate within 2 cm/s of the truth."""
    from trirl_ros.core.deploy.sim_physics import SimPhysics

    ph = SimPhysics(go2)
    est = BaseVelocityEstimator(go2)
    cmd = LowCmd.zeros(go2.num_motor_slots)
    cmd.q[go2.motor_indices], cmd.kp[go2.motor_indices], cmd.kd[go2.motor_indices] = go2.default_pos, go2.kp, go2.kd
    ph.set_command(cmd)
    for _ in range(50):
        ph.step(10)
        v = est.update(ph.low_state(), 0.02)
    np.testing.assert_allclose(v, ph.base_lin_vel(), atol=0.02)
    assert est.stance.all()


def test_bad_settings_are_refused():
    with pytest.raises(ValueError, match="estimator.leg_velocity_noise must be > 0"):
        EstimatorConfig(leg_velocity_noise=0.0)
    with pytest.raises(ValueError, match="estimator.accel_noise must be > 0"):
        EstimatorConfig(accel_noise=float("nan"))
    with pytest.raises(ValueError, match="estimator.innovation_gate must be > 0 or null"):
        EstimatorConfig(innovation_gate=-1.0)
