import math

import pytest
import torch

from trirl_ros.core.algo.discriminator import (AgentReplay, Discriminator, accuracy_metrics, bce_loss, feature_dim,
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


def _numbered(first: int, n: int) -> Transitions:
    """n transitions whose obs are their numbers first .. first + n - 1, (n, 1)."""
    x = torch.arange(first, first + n, dtype=torch.float32).unsqueeze(1)
    return Transitions(x, x + 0.5, next_absorbing=(torch.arange(n) % 2 == 0))


def test_agent_replay_keeps_the_latest_and_mixes_half():
    r = AgentReplay(5)
    b1 = _numbered(0, 4)
    assert r.mix(b1) is b1 and len(r) == 4  # empty replay: the current batch alone
    r.add(_numbered(10, 3))  # 0 1 2 3 10 -> 11 12 overwrite 0 1: store [11, 12, 2, 3, 10]
    assert len(r) == 5
    assert sorted(r._store.obs[:, 0].tolist()) == [2, 3, 10, 11, 12]
    assert r._store.next_absorbing.tolist() == [False, True, True, False, True]  # 11, 12: rows 1, 2 of theirs
    g = torch.Generator().manual_seed(0)
    current = _numbered(100, 6)
    mixed = r.mix(current, g)
    values = mixed.obs[:, 0].tolist()
    assert len(mixed) == 6
    assert sum(v >= 100 for v in values) == 3 and len(set(v for v in values if v >= 100)) == 3
    assert all(v in (2, 3, 10, 11, 12) for v in values if v < 100)
    assert torch.equal(mixed.next_obs, mixed.obs + 0.5)
    assert sorted(r._store.obs[:, 0].tolist()) == [101, 102, 103, 104, 105]  # current stored after
    assert len(AgentReplay(0).mix(current)) == 6


def test_logit_regularisation_is_the_output_weights_squared():
    torch.manual_seed(0)
    d = Discriminator("s", 2, 1, (4,), normalize_obs=False)
    w = float(d.net[-1].weight.detach().square().sum())
    e, a = Transitions(torch.randn(8, 2), torch.randn(8, 2)), Transitions(torch.randn(8, 2), torch.randn(8, 2))
    m = train_classifier(d, torch.optim.SGD(d.parameters(), lr=0.0), e, a, epochs=1, minibatch=8,
                         grad_penalty_coef=0.0, logit_reg_coef=0.5)
    assert m["disc/logit_reg"] == pytest.approx(w, rel=1e-6)
    before = float(d.net[-1].weight.detach().square().sum())
    train_classifier(d, torch.optim.SGD(d.parameters(), lr=1e-3), e, a, epochs=1, minibatch=8,
                     grad_penalty_coef=0.0, logit_reg_coef=100.0)  # w <- 0.8 w - 1e-3 dBCE/dw
    assert float(d.net[-1].weight.detach().square().sum()) < 0.7 * before
    with pytest.raises(ValueError, match="logit_reg"):
        from trirl_ros.core.algo.hparams import DiscriminatorConfig
        DiscriminatorConfig(logit_reg=-1.0)


def test_transitions_reject_bad_input():
    with pytest.raises(ValueError, match="NaN"):
        Transitions(torch.tensor([[float("nan")]]), torch.zeros(1, 1))
    with pytest.raises(ValueError, match="obs and next_obs"):
        Transitions(torch.zeros(2, 3), torch.zeros(2, 4))
