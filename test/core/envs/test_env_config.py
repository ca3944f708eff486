"""EnvConfig: shipped defaults load, bad values and unknown keys are named."""

import pytest

from trirl_ros.core.config import ConfigError, from_dict
from trirl_ros.core.envs.config import EnvConfig, load_env_config
from trirl_ros.core.robots.spec import load_robot_spec, robot_names


@pytest.mark.parametrize("name", robot_names())
def test_default_env_configs_load(name):
    cfg = load_env_config(name)
    dim = cfg.obs.dim(load_robot_spec(name).num_joints)
    assert dim == {"go2": 42, "g1_29dof": 3 * (6 + 3 * 29), "g1_23dof": 3 * (6 + 3 * 23)}[name]


def test_env_config_validation():
    obs = {"terms": [{"name": "joint_pos"}]}
    with pytest.raises(ConfigError, match=r"unknown key\(s\) \['episode_length'\]"):
        from_dict(EnvConfig, {"obs": obs, "episode_length": 3})
    with pytest.raises(ConfigError, match="joint_pos_noise must be a finite number >= 0"):
        from_dict(EnvConfig, {"obs": obs, "joint_pos_noise": -0.1})
    with pytest.raises(ConfigError, match="fall_max_tilt_deg must be in"):
        from_dict(EnvConfig, {"obs": obs, "fall_max_tilt_deg": 270})
    with pytest.raises(ConfigError, match=r"command_ranges: vx range \(1.0, 0.2\) must be finite with low <= high"):
        from_dict(EnvConfig, {"obs": obs, "command_ranges": [[1.0, 0.2], [0, 0], [0, 0]]})
    with pytest.raises(ConfigError, match="command_resample_s needs command_ranges"):
        from_dict(EnvConfig, {"obs": obs, "command_resample_s": 5.0})
    with pytest.raises(ConfigError, match="no default env config for robot 'h1'"):
        load_env_config("h1")
