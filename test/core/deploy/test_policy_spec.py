"""PolicySpec loading/validation and observation building for a third-party joint order."""

from __future__ import annotations

import numpy as np
import pytest
import yaml

from trirl_ros.core.config import ConfigError, config_path
from trirl_ros.core.deploy.backends.base import LowState
from trirl_ros.core.deploy.commands import CommandShaper
from trirl_ros.core.deploy.observation import ObservationBuilder
from trirl_ros.core.deploy.policy_spec import PolicySpecMismatch, load_policy_spec
from trirl_ros.core.robots.spec import load_robot_spec

EXAMPLE = config_path("deploy", "examples", "go2_isaaclab_style.yaml")


@pytest.fixture(scope="module")
def go2():
    return load_robot_spec("go2")


def _write(tmp_path, **changes):
    data = yaml.safe_load(EXAMPLE.read_text())
    data.update(changes)
    path = tmp_path / "spec.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def test_example_spec_loads(go2):
    spec = load_policy_spec(EXAMPLE)
    assert spec.obs_dim == 3 + 3 + 3 + 3 + 12 * 3 == 48
    spec.check_robot(go2)


def test_unknown_key_and_bad_lengths_rejected(tmp_path):
    with pytest.raises(ConfigError, match=r"unknown key\(s\) \['gains'\]"):
        load_policy_spec(_write(tmp_path, gains=1))
    with pytest.raises(ConfigError, match="default_pos: expected 12 values"):
        load_policy_spec(_write(tmp_path, default_pos=[0.0] * 11))
    with pytest.raises(ConfigError, match="unknown observation term 'foot_contacts'"):
        load_policy_spec(_write(tmp_path, obs={"terms": [{"name": "foot_contacts"}]}))
    with pytest.raises(FileNotFoundError, match="policy spec not found"):
        load_policy_spec(tmp_path / "missing.yaml")


def test_spec_for_another_robot_is_refused(tmp_path):
    spec = load_policy_spec(EXAMPLE)
    with pytest.raises(PolicySpecMismatch, match="trained for robot 'go2', this robot is 'g1_29dof'"):
        spec.check_robot(load_robot_spec("g1_29dof"))
    names = list(spec.joint_names)
    names[0] = "FL_hip"
    bad = load_policy_spec(_write(tmp_path, joint_names=names))
    with pytest.raises(PolicySpecMismatch, match=r"joint\(s\) \['FL_hip'\] are not joints of 'go2'"):
        bad.check_robot(load_robot_spec("go2"))


def test_observation_in_the_policy_joint_order(go2):
    spec = load_policy_spec(EXAMPLE)
    builder = ObservationBuilder(go2, spec)
    low = LowState.zeros(go2.num_motor_slots)
    low.motor_q[go2.motor_indices] = go2.default_pos  # robot default == spec default here
    low.motor_q[0] += 0.2  # slot 0 = FR_hip_joint -> policy index 1
    low.motor_dq[10] = 2.0  # slot 10 = RL_thigh_joint -> policy index 6
    low.imu_gyro[:] = [0.4, 0.0, 0.0]
    obs = builder.build(low, command=np.array([0.5, 0.0, 1.0]), base_lin_vel=np.array([0.1, 0.0, 0.0]))
    expected = np.zeros(48, dtype=np.float32)
    expected[0:3] = [0.2, 0, 0]  # lin vel * 2
    expected[3:6] = [0.1, 0, 0]  # ang vel * 0.25
    expected[6:9] = [0, 0, -1]  # gravity, level base
    expected[9:12] = [1.0, 0.0, 0.25]  # command * (2, 2, 0.25)
    expected[12 + 1] = 0.2  # joint_pos of FR_hip
    expected[24 + 6] = 0.1  # joint_vel of RL_thigh * 0.05
    np.testing.assert_allclose(obs, expected, atol=1e-6)
    builder.record_action(np.arange(12.0))
    obs2 = builder.build(low, command=np.zeros(3), base_lin_vel=np.zeros(3))
    np.testing.assert_allclose(obs2[36:48], np.arange(12.0))


def test_action_goes_to_the_right_motor_slot(go2):
    spec = load_policy_spec(EXAMPLE)
    shaper = CommandShaper(go2, spec)
    action = np.zeros(12)
    action[4] = 1.0  # FL_thigh_joint in the policy's order -> unitree_go slot 4
    cmd = shaper.policy(shaper.clip_action(action))
    assert cmd.q[4] == pytest.approx(0.8 + 0.25)
    assert cmd.q[1] == pytest.approx(0.8)  # FR_thigh stays at default
    assert cmd.kp[go2.motor_indices].tolist() == [20.0] * 12 and cmd.kp[12:].sum() == 0
    huge = shaper.clip_action(np.full(12, 1e3))
    assert huge.max() == 100.0  # action_clip of the spec
