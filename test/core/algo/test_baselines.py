"""Baseline reward learners: reward formulas and update directions."""

import math

import pytest
import torch

from trirl_ros.core.algo.baselines import AMPReward, GAILReward, MLIRLReward, PIROReward
from trirl_ros.core.algo.hparams import AlgoConfig, BaselineConfig, DiscriminatorConfig
from trirl_ros.core.algo.transitions import Transitions


def cfg(**disc):
    return AlgoConfig(disc=DiscriminatorConfig(hidden=(16,), epochs=20, minibatch=64, lr=1e-2,
                                               grad_penalty=0.0, **disc),
                      baseline=BaselineConfig(piro_target_change=0.05))


def data():
    g = torch.Generator().manual_seed(0)
    e = Transitions(torch.randn(256, 2, generator=g) + 1.5, torch.randn(256, 2, generator=g) + 1.5)
    a = Transitions(torch.randn(256, 2, generator=g) - 1.5, torch.randn(256, 2, generator=g) - 1.5)
    return e, a


def set_constant(net, value):
    with torch.no_grad():
        for p in net.parameters():
            p.zero_()
        net.net[-1].bias.fill_(value)


def test_gail_and_amp_reward_formulas():
    e, _ = data()
    g = GAILReward(2, 1, cfg())
    set_constant(g.disc, 0.0)
    assert torch.allclose(g.reward(e), torch.full((256,), -math.log(2.0)))  # log sigmoid(0)
    amp = AMPReward(2, 1, cfg())
    set_constant(amp.disc, 0.0)  # 1 - 0.25 (0 - 1)^2 = 0.75
    assert torch.allclose(amp.reward(e), torch.full((256,), 0.75))
    set_constant(amp.disc, -5.0)  # clipped at 0
    assert torch.all(amp.reward(e) == 0)


@pytest.mark.parametrize("kind", ["s", "s_next"])
def test_mlirl_raises_expert_reward_over_agent(kind):
    torch.manual_seed(0)
    e, a = data()
    learner = MLIRLReward(2, 1, cfg(input=kind))
    m = learner.update(e, a)
    assert m["reward/gap"] > 0.5
    assert float(learner.reward(e).mean()) > float(learner.reward(a).mean())


def test_piro_weight_adapts_per_the_rule():
    torch.manual_seed(0)
    e, a = data()
    learner = PIROReward(2, 1, cfg(input="s"))
    w0 = learner.weight
    m = learner.update(e, a)
    change = m["reward/change"]
    target = 0.05
    expected = w0 * 1.5 if change > 1.5 * target else (w0 / 1.5 if change < target / 1.5 else w0)
    assert m["reward/proximal_weight"] == pytest.approx(min(10.0, max(0.001, expected)))
    learner.weight = 9.0
    for _ in range(3):
        learner.update(e, a)
    assert 0.001 <= learner.weight <= 10.0
