import math

import pytest
import torch

from trirl_ros.core.algo.discriminator import (Discriminator, accuracy_metrics, bce_loss, feature_dim,
                                               gradient_penalty, train_classifier)
from trirl_ros.core.algo.transitions import Transitions


def test_bce_of_zero_logits_is_two_log_two():
    assert float(bce_loss(torch.zeros(4), torch.zeros(6))) == pytest.approx(2 * math.log(2))


def test_absorbing_features_ignore_state_content():
    d = Discriminator("s_next", 3, 2, (8,))
    s = torch.randn(2, 3)
    b1 = Transitions(s, torch.randn(2, 3), next_absorbing=torch.tensor([True, True]))
    b2 = Transitions(s, torch.randn(2, 3) * 100, next_absorbing=torch.tensor([True, True]))
    f = d.features(b1.obs, b1.next_obs, None, b1.obs_absorbing, b1.next_absorbing)
    assert f.shape == (2, feature_dim("s_next", 3, 2))
    assert torch.all(f[:, 4:7] == 0) and torch.all(f[:, 7] == 1)
    assert torch.equal(d.on(b1), d.on(b2))
    sa = Transitions(torch.zeros(3, 3), torch.zeros(3, 3), torch.zeros(3, 2), torch.tensor([1, 0, 0]).bool())
    assert len(sa.with_absorbing()) == 4 and bool(sa.with_absorbing().obs_absorbing[-1])


def test_state_action_input_needs_actions():
    d = Discriminator("s_a", 3, 2, (8,))
    with pytest.raises(ValueError, match="needs actions"):
        d.on(Transitions(torch.zeros(2, 3), torch.zeros(2, 3)))
    with pytest.raises(ValueError, match="unknown discriminator input"):
        Discriminator("bogus", 3, 2, (8,))


def test_gradient_penalty_of_linear_head_is_weight_norm():
    d = Discriminator("s", 2, 1, (4,), normalize_obs=False)
    b = Transitions(torch.randn(5, 2), torch.randn(5, 2))
    gp = gradient_penalty(d, b)
    feats = d.features(b.obs, b.next_obs, None, b.obs_absorbing, b.next_absorbing).requires_grad_(True)
    (g,) = torch.autograd.grad(d.head(feats).sum(), feats)
    assert float(gp.detach()) == pytest.approx(float(g.square().sum(-1).mean()), rel=1e-5)


def test_classifier_separates_and_reports_accuracy():
    torch.manual_seed(0)
    expert = Transitions(torch.randn(512, 2) + 2.0, torch.randn(512, 2) + 2.0)
    agent = Transitions(torch.randn(512, 2) - 2.0, torch.randn(512, 2) - 2.0)
    d = Discriminator("s_next", 2, 1, (16,))
    d.update_normalizer(Transitions.cat([expert, agent]))
    m = train_classifier(d, torch.optim.Adam(d.parameters(), lr=1e-2), expert, agent, epochs=10,
                         minibatch=128, grad_penalty_coef=0.005)
    assert m["disc/accuracy"] > 0.95
    acc = accuracy_metrics(torch.tensor([1.0, -1.0]), torch.tensor([-1.0, -1.0]))
    assert acc["disc/accuracy_expert"] == 0.5 and acc["disc/accuracy_agent"] == 1.0


def test_transitions_reject_bad_input():
    with pytest.raises(ValueError, match="NaN"):
        Transitions(torch.tensor([[float("nan")]]), torch.zeros(1, 1))
    with pytest.raises(ValueError, match="obs and next_obs"):
        Transitions(torch.zeros(2, 3), torch.zeros(2, 4))
