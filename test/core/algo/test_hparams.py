import pytest

from trirl_ros.core.algo.hparams import ALGORITHMS, AlgoConfig, load_algo_config
from trirl_ros.core.config import ConfigError, from_dict


@pytest.mark.parametrize("name", ALGORITHMS)
def test_every_algorithm_yaml_loads(name):
    cfg = load_algo_config(name)
    assert cfg.algorithm == name


def test_trirl_defaults_follow_paper_and_authors():
    cfg = load_algo_config("trirl")
    assert cfg.trirl.variant == "max_eta"
    assert 80 <= cfg.trirl.buffer_size <= 120
    assert 2e-4 <= cfg.trirl.mean_bound <= 5e-3 and 1e-4 <= cfg.trirl.cov_bound <= 4e-3
    assert 0.4 <= cfg.trirl.tr_coef <= 0.6
    assert cfg.ppo.clip == 0.2 and cfg.ppo.max_grad_norm == 1.0 and cfg.disc.grad_penalty == 0.005
    assert cfg.policy.init_std == 0.4


def test_bad_values_name_the_key():
    with pytest.raises(ConfigError, match="epsilon"):
        from_dict(AlgoConfig, {"trirl": {"epsilon": 1.5}})
    with pytest.raises(ConfigError, match="variant"):
        from_dict(AlgoConfig, {"trirl": {"variant": "nope"}})
    with pytest.raises(ConfigError, match="unknown key"):
        from_dict(AlgoConfig, {"ppo": {"cliprange": 0.1}})
    with pytest.raises(ConfigError, match="unknown algorithm"):
        load_algo_config("sac")
