"""RosTopicsBackend core: JointState/Imu by name -> LowState slots; LowCmd -> position targets."""

from __future__ import annotations

import numpy as np

from trirl_ros.core.deploy.backends.base import LowCmd
from trirl_ros.core.deploy.backends.ros_topics import RosTopicsBackend
from trirl_ros.core.robots.spec import load_robot_spec


def test_states_by_name_and_targets_in_robot_order():
    robot = load_robot_spec("go2")
    sent = []
    clock = iter(np.arange(100.0))
    backend = RosTopicsBackend(robot, sent.append, clock=lambda: float(next(clock)))
    names = list(reversed(robot.joint_names)) + ["some_other_joint"]
    positions = [float(i) for i in range(13)]
    backend.on_joint_state(names, positions, [0.5] * 13, [])
    assert backend.latest_state() is None  # no IMU yet
    backend.on_imu((1.0, 0.0, 0.0, 0.0), (0.1, 0.2, 0.3), (0.0, 0.0, 9.81))
    backend.on_joint_state(names, positions, [0.5] * 13, [])
    low, stamp = backend.latest_state()
    # FL_hip_joint is the last of the reversed list (position 11) and lives in unitree_go slot 3
    assert low.motor_q[3] == 11.0 and low.motor_q[0] == 8.0  # FR_hip: index 3 in policy order -> 11-3
    assert low.motor_dq[robot.motor_indices].tolist() == [0.5] * 12 and low.num_slots == 20
    np.testing.assert_allclose(low.imu_gyro, [0.1, 0.2, 0.3])

    cmd = LowCmd.zeros(20)
    cmd.q[3], cmd.kp[3], cmd.kd[3] = 0.3, 20.0, 0.5  # only FL_hip under PD
    backend.send(cmd)
    targets = sent[-1]
    assert targets.names == robot.joint_names
    assert targets.position[0] == 0.3  # FL_hip target
    assert targets.position[1] == 10.0  # FL_thigh limp: holds its measured position
    assert targets.kp[0] == 20.0 and targets.kp[1] == 0.0
