"""PPO step options: the bounds loss on the action mean (hand value, config checks, it pulls a
saturated mean back inside the action limits) and TRPL without ratio clipping."""

import pytest
import torch

from trirl_ros.core.algo.hparams import AlgoConfig, PPOConfig
from trirl_ros.core.algo.networks import Critic, GaussianPolicy, adam, build_mlp
from trirl_ros.core.algo.ppo import PolicyBatch, PolicyOptimizer, bounds_loss
from trirl_ros.core.config import ConfigError, from_dict


def test_hand_computed_value():
    mean = torch.tensor([[1.5, -0.2], [-3.0, 0.9]])
    # row 0: (1.5 - 1)^2 = 0.25; row 1: (-1 - -3)^2 = 4; mean over rows 2.125
    assert float(bounds_loss(mean, 1.0)) == pytest.approx(2.125)
    assert float(bounds_loss(mean, 3.0)) == 0.0


def test_bad_settings_name_the_key():
    with pytest.raises(ConfigError, match="bounds_loss_coef"):
        from_dict(AlgoConfig, {"ppo": {"bounds_loss_coef": -1.0}})
    with pytest.raises(ConfigError, match="bounds_soft_limit"):
        from_dict(AlgoConfig, {"ppo": {"bounds_soft_limit": 0.0}})


def _saturated_batch(policy: GaussianPolicy, n: int = 64) -> PolicyBatch:
    """Obs for which the mean sits at +3 (limit 1) and zero advantages: no surrogate gradient."""
    with torch.no_grad():
        policy.actor[-1].bias.fill_(3.0)
    obs = torch.randn(n, 3, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        mean, std = policy(obs)
    action = mean.clamp(-1.0, 1.0)
    zeros = torch.zeros(n)
    return PolicyBatch(obs, action, GaussianPolicy.log_prob(action, mean, std), mean.clone(), std.clone(),
                       zeros, zeros)


@pytest.mark.parametrize("step", ["ppo", "trpl"])
@pytest.mark.parametrize("coef", [0.0, 10.0])
def test_pulls_a_saturated_mean_inside_only_when_on(step, coef):
    torch.manual_seed(0)
    policy = GaussianPolicy(3, 2, (8,), normalize_obs=False)
    cfg = PPOConfig(epochs=5, num_minibatches=1, lr_policy=1e-2, ent_coef=1e-9, bounds_loss_coef=coef)
    opt = PolicyOptimizer(policy, Critic(3, (8,)), cfg, step=step, mean_bound=0.05, cov_bound=0.01)
    data = _saturated_batch(policy)
    metrics, _ = opt.update(data)
    with torch.no_grad():
        after = policy(data.obs)[0]
    if coef == 0.0:
        assert "losses/bounds" not in metrics
        assert float(after.mean()) == pytest.approx(3.0, abs=0.02)
    else:
        assert metrics["losses/bounds"] > 0
        assert float(after.mean()) < 3.0 - 0.03


def test_no_clipping_only_with_a_trust_region_step():
    policy = GaussianPolicy(3, 2, (8,), normalize_obs=False)
    with pytest.raises(ValueError, match="ppo.clip is 0"):
        PolicyOptimizer(policy, Critic(3, (8,)), PPOConfig(clip=0.0), step="ppo")
    with pytest.raises(ConfigError, match="clip"):
        from_dict(AlgoConfig, {"ppo": {"clip": -0.1}})


def _eta_after_update(clip: float) -> float:
    torch.manual_seed(0)
    policy = GaussianPolicy(3, 2, (16,), normalize_obs=False)
    gen = torch.Generator().manual_seed(1)
    obs = torch.randn(256, 3, generator=gen)
    with torch.no_grad():
        mean, std = policy(obs)
    action = mean + std * torch.randn(mean.shape, generator=gen)
    adv = (action - mean)[:, 0] / std[:, 0]  # rewards pushing the first action up: a consistent direction
    data = PolicyBatch(obs, action, GaussianPolicy.log_prob(action, mean, std), mean, std, adv, torch.zeros(256))
    cfg = PPOConfig(epochs=10, num_minibatches=2, lr_policy=3e-3, clip=clip)
    opt = PolicyOptimizer(policy, Critic(3, (8,)), cfg, step="trpl", mean_bound=0.05, cov_bound=0.01)
    _, eta = opt.update(data)
    return eta


def test_unclipped_trpl_step_pushes_against_the_trust_region():
    """With PPO's clip the update stops near ratio 1.2 inside the 0.05 bound (eta ~0); without it
    the projection is what bounds the step, so the multiplier becomes active."""
    clipped, unclipped = _eta_after_update(0.2), _eta_after_update(0.0)
    assert unclipped > 0.1 and unclipped > 2 * clipped, (clipped, unclipped)


def test_adaptive_lr_follows_rsl_rls_rule_and_its_bounds():
    policy = GaussianPolicy(3, 2, (8,), normalize_obs=False)
    cfg = PPOConfig(lr_policy=1e-3, lr_critic=2e-3, desired_kl=0.01)
    opt = PolicyOptimizer(policy, Critic(3, (8,)), cfg)
    opt._adapt_lr(0.03)  # above 2 x 0.01: / 1.5
    assert [g["lr"] for g in opt.optimizer.param_groups] == pytest.approx([1e-3 / 1.5, 2e-3 / 1.5])
    opt._adapt_lr(0.01)  # inside [0.005, 0.02]: unchanged
    assert opt.optimizer.param_groups[0]["lr"] == pytest.approx(1e-3 / 1.5)
    opt._adapt_lr(0.001)  # below 0.005: x 1.5
    assert opt.optimizer.param_groups[0]["lr"] == pytest.approx(1e-3)
    for _ in range(30):
        opt._adapt_lr(0.0)
    assert opt.optimizer.param_groups[0]["lr"] == pytest.approx(1e-2)  # policy lr capped at 1e-2
    assert opt.state_dict()["lr_scale"] == pytest.approx(10.0)
    trpl_opt = PolicyOptimizer(GaussianPolicy(3, 2, (8,), normalize_obs=False), Critic(3, (8,)), cfg, step="trpl",
                               mean_bound=0.05, cov_bound=0.01)
    obs = torch.randn(16, 3)
    with torch.no_grad():
        mean, std = trpl_opt.policy(obs)
    adv = torch.randn(16)
    trpl_opt.update(PolicyBatch(obs, mean + std, GaussianPolicy.log_prob(mean + std, mean, std), mean, std, adv, adv))
    assert trpl_opt.lr_scale == 1.0  # the trust region bounds TRPL's step; the schedule is PPO's
    with pytest.raises(ConfigError, match="desired_kl"):
        from_dict(AlgoConfig, {"ppo": {"desired_kl": -0.01}})


def test_every_step_reports_the_kl_it_took():
    torch.manual_seed(0)
    for step in ("ppo", "trpl"):
        policy = GaussianPolicy(3, 2, (8,), normalize_obs=False)
        opt = PolicyOptimizer(policy, Critic(3, (8,)), PPOConfig(epochs=2, num_minibatches=1, lr_policy=1e-2),
                              step=step, mean_bound=0.05, cov_bound=0.01)
        obs = torch.randn(32, 3)
        with torch.no_grad():
            mean, std = policy(obs)
        action = mean + std * torch.randn(32, 2)
        adv = torch.randn(32)
        metrics, _ = opt.update(PolicyBatch(obs, action, GaussianPolicy.log_prob(action, mean, std), mean, std,
                                            adv, adv))
        assert metrics["policy/kl"] > 0.0


def test_adam_multi_tensor_step_is_bit_for_bit_the_default_cpu_step():
    """networks.adam (foreach, faster) changes no result: same parameters after steps with weight decay."""
    torch.manual_seed(0)
    nets = [build_mlp(6, (32, 16), 1) for _ in range(2)]
    nets[1].load_state_dict(nets[0].state_dict())
    opts = [adam(nets[0].parameters(), lr=1e-2, weight_decay=1e-3),
            torch.optim.Adam(nets[1].parameters(), lr=1e-2, weight_decay=1e-3, foreach=False)]
    x = torch.randn(64, 6)
    start = nets[0][0].weight.detach().clone()
    for _ in range(5):
        for net, opt in zip(nets, opts):
            opt.zero_grad()
            net(x).square().mean().backward()
            opt.step()
    assert all(torch.equal(a, b) for a, b in zip(nets[0].parameters(), nets[1].parameters()))
    assert not torch.equal(nets[0][0].weight, start)  # it did train


def test_lr_decay_is_linear_between_its_iterations_and_composes_with_the_adaptive_scale():
    cfg = PPOConfig(lr_policy=1e-3, lr_critic=2e-3, lr_decay_iters=(10, 20), lr_decay_to=0.1)
    opt = PolicyOptimizer(GaussianPolicy(3, 2, (8,), normalize_obs=False), Critic(3, (8,)), cfg, step="trpl",
                          mean_bound=0.05, cov_bound=0.01)
    lrs = []
    for it in (0, 10, 15, 20, 500):
        opt.set_iteration(it)
        lrs += [g["lr"] for g in opt.optimizer.param_groups]
    # 1 up to iteration 10, 1 - 0.5 x 0.9 = 0.55 halfway, 0.1 from iteration 20 on
    assert lrs == pytest.approx([1e-3, 2e-3, 1e-3, 2e-3, 5.5e-4, 1.1e-3, 1e-4, 2e-4, 1e-4, 2e-4])
    opt.lr_scale = 2.0
    opt.set_iteration(15)
    assert opt.optimizer.param_groups[0]["lr"] == pytest.approx(1.1e-3)
    for bad in ([5, 5], [3], [-1, 4]):
        with pytest.raises(ConfigError, match="lr_decay_iters"):
            from_dict(AlgoConfig, {"ppo": {"lr_decay_iters": bad}})
    with pytest.raises(ConfigError, match="lr_decay_to"):
        from_dict(AlgoConfig, {"ppo": {"lr_decay_to": 0.0}})
