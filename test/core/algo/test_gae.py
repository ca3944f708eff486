"""GAE with absorbing states (terminations) and time-limit bootstrapping, hand-computed."""

import pytest
import torch

from trirl_ros.core.algo.gae import absorbing_value, compute_gae


def test_gae_absorbing_and_time_limit_hand_computed():
    gamma, lam = 0.5, 0.5
    # columns: env0 terminates at t=1, env1 hits the time limit at t=1
    rewards = torch.tensor([[1.0, 1.0], [2.0, 1.0], [3.0, 1.0]])
    values = torch.tensor([[0.5, 0.0], [1.0, 0.0], [1.5, 0.0]])
    next_values = torch.tensor([[1.0, 2.0], [9.0, 4.0], [2.0, 8.0]])  # 9.0 must be ignored (absorbed)
    terminated = torch.tensor([[False, False], [True, False], [False, False]])
    truncated = torch.tensor([[False, False], [False, True], [False, False]])
    v_abs = absorbing_value(-1.0, gamma)  # gamma/(1-gamma) * r(s_a) = -1
    assert float(v_abs) == pytest.approx(-1.0)
    adv, ret = compute_gae(rewards, values, next_values, terminated, truncated, gamma, lam, v_abs)
    # env0: d0 = 1 + .5*1 - .5 = 1, d1 = 2 + (-1) - 1 = 0, d2 = 3 + .5*2 - 1.5 = 2.5
    #       A2 = 2.5, A1 = 0 (episode ends), A0 = 1 + .25*0 = 1
    # env1: d0 = 1 + .5*2 = 2, d1 = 1 + .5*4 = 3 (bootstrap final obs), d2 = 1 + .5*8 = 5
    #       A2 = 5, A1 = 3, A0 = 2 + .25*3 = 2.75
    expected = torch.tensor([[1.0, 2.75], [0.0, 3.0], [2.5, 5.0]])
    assert torch.allclose(adv, expected)
    assert torch.allclose(ret, expected + values)


def test_gae_shape_mismatch_raises():
    z = torch.zeros(3, 2)
    with pytest.raises(ValueError, match="share shape"):
        compute_gae(z, z, torch.zeros(3, 1), z.bool(), z.bool(), 0.9, 0.9)
