"""PPO policy/critic update with three policy steps: plain clipped PPO, TRPL projection, TR loss.

* ``ppo``: the clipped surrogate (Schulman et al. 2017), used by the baselines.
* ``trpl``: every minibatch's Gaussian is projected into the KL trust region around the rollout
  policy (:func:`trirl_ros.core.algo.trpl.project_gaussian`); the surrogate uses the projected
  policy (with ``clip: 0`` the plain importance-sampled surrogate of Otto et al. 2021, otherwise
  PPO's clip applies too, as in the TRIRL authors' configuration), and the trust-region regression
  loss (coefficient ``tr_coef``, paper Table 7) pulls the network towards its projection. After
  the update the multiplier ``eta = max over the batch of max(eta_mean(s), eta_cov(s))`` (paper
  Sec. 4.3, max-eta) of the final network w.r.t. the rollout policy is returned for the reward
  correction.
* ``tr_loss``: the surrogate plus ``eta * KL(pi || pi_old)`` with a scheduled penalty
  coefficient eta (paper Sec. 4.3, TR-loss variant), which is also the multiplier returned.

Every step can add the bounds loss (:func:`bounds_loss`) on the network's action mean.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import torch
from torch import nn

from trirl_ros.core.algo.hparams import PPOConfig
from trirl_ros.core.algo.networks import Critic, GaussianPolicy, adam
from trirl_ros.core.algo import trpl

log = logging.getLogger(__name__)

POLICY_STEPS = ("ppo", "trpl", "tr_loss")


@dataclass
class PolicyBatch:
    """Flat on-policy data (M = T*N samples): obs (M, D), action (M, A), logp_old (M,),
    mean_old (M, A), std_old (M, A), advantages (M,), returns (M,)."""

    obs: torch.Tensor
    action: torch.Tensor
    logp_old: torch.Tensor
    mean_old: torch.Tensor
    std_old: torch.Tensor
    advantages: torch.Tensor
    returns: torch.Tensor


def bounds_loss(mean: torch.Tensor, limit: float) -> torch.Tensor:
    """Squared excess of the action mean (B, A) beyond [-limit, limit], summed over A, mean over B."""
    return ((mean - limit).clamp(min=0.0).square() + (-limit - mean).clamp(min=0.0).square()).sum(-1).mean()


class PolicyOptimizer:
    """Runs the epochs x minibatches update of policy and critic."""

    def __init__(self, policy: GaussianPolicy, critic: Critic, cfg: PPOConfig, step: str = "ppo",
                 mean_bound: float = 1e-3, cov_bound: float = 1e-3, tr_coef: float = 0.5) -> None:
        if step not in POLICY_STEPS:
            raise ValueError(f"unknown policy step {step!r}; expected one of {POLICY_STEPS}")
        if step == "ppo" and cfg.clip == 0:
            raise ValueError("ppo.clip is 0 (no ratio clipping), which leaves the plain PPO step without "
                             "any trust region; set ppo.clip > 0 or use a trust-region step (trpl, tr_loss)")
        self.policy, self.critic, self.cfg, self.step = policy, critic, cfg, step
        self.mean_bound, self.cov_bound, self.tr_coef = mean_bound, cov_bound, tr_coef
        self.optimizer = adam([
            {"params": list(policy.parameters()), "lr": cfg.lr_policy},
            {"params": list(critic.parameters()), "lr": cfg.lr_critic},
        ], eps=1e-5)
        self.lr_scale = 1.0  # the adaptive schedule's factor on both learning rates (ppo.desired_kl)
        self.lr_decay = 1.0  # the linear decay's factor (ppo.lr_decay_iters), set per iteration

    def _set_lr(self) -> None:
        for group, base in zip(self.optimizer.param_groups, (self.cfg.lr_policy, self.cfg.lr_critic)):
            group["lr"] = base * self.lr_scale * self.lr_decay

    def set_iteration(self, iteration: int) -> None:
        """Apply ``ppo.lr_decay_iters`` for learner iteration ``iteration`` (0-based): factor 1 up to
        start, lr_decay_to from end on, linear between."""
        if not self.cfg.lr_decay_iters:
            return
        start, end = (int(i) for i in self.cfg.lr_decay_iters)
        frac = min(1.0, max(0.0, (iteration - start) / (end - start)))
        self.lr_decay = 1.0 + frac * (self.cfg.lr_decay_to - 1.0)
        self._set_lr()

    def _adapt_lr(self, kl: float) -> None:
        """rsl_rl's adaptive schedule: lr / 1.5 above 2 x desired_kl, x 1.5 below half of it."""
        target = self.cfg.desired_kl
        if kl > 2.0 * target:
            self.lr_scale /= 1.5
        elif kl < 0.5 * target:
            self.lr_scale *= 1.5
        self.lr_scale = min(max(self.lr_scale, 1e-5 / self.cfg.lr_policy), 1e-2 / self.cfg.lr_policy)
        self._set_lr()

    def _dist(self, obs, mean_old, std_old):
        mean, std = self.policy(obs)
        if self.step == "trpl":
            proj = trpl.project_gaussian(mean, std, mean_old, std_old, self.mean_bound, self.cov_bound,
                                         validate=False)
            return mean, std, proj.mean, proj.std
        return mean, std, mean, std

    def update(self, data: PolicyBatch, kl_coef: float = 0.0,
               generator: torch.Generator | None = None) -> tuple[dict[str, float], float]:
        """Optimise on ``data``; returns (metrics, eta). eta is 0 for ``ppo``, the max-eta
        multiplier for ``trpl`` and ``kl_coef`` for ``tr_loss``."""
        cfg = self.cfg
        m = data.obs.shape[0]
        mb = max(1, m // cfg.num_minibatches)
        adv = data.advantages
        if cfg.normalize_advantages and m > 1:
            adv = (adv - adv.mean()) / (adv.std() + 1e-8)
        # clip actor and critic separately: a large value loss (learned rewards of a few nats per
        # step give returns of O(100)) must not shrink the policy gradient through a joint norm
        actor_params = list(self.policy.parameters())
        critic_params = list(self.critic.parameters())
        sums: dict[str, float] = {}
        count = 0
        for _ in range(cfg.epochs):
            perm = torch.randperm(m, generator=generator).to(data.obs.device)
            for start in range(0, m - mb + 1, mb):
                idx = perm[start:start + mb]
                obs, act = data.obs[idx], data.action[idx]
                mo, so = data.mean_old[idx], data.std_old[idx]
                mean, std, pmean, pstd = self._dist(obs, mo, so)
                logp = GaussianPolicy.log_prob(act, pmean, pstd)
                ratio = torch.exp(logp - data.logp_old[idx])
                a = adv[idx]
                if cfg.clip > 0:
                    surr = torch.min(ratio * a, ratio.clamp(1 - cfg.clip, 1 + cfg.clip) * a).mean()
                else:  # importance-sampled surrogate of TRPL: the projection bounds the step
                    surr = (ratio * a).mean()
                entropy = GaussianPolicy.entropy(pstd).mean()
                value = self.critic(self.policy.norm_obs(obs))
                v_loss = 0.5 * (data.returns[idx] - value).square().mean()
                loss = -surr - cfg.ent_coef * entropy + cfg.vf_coef * v_loss
                extra = {}
                if cfg.bounds_loss_coef > 0:
                    bl = bounds_loss(mean, cfg.bounds_soft_limit)
                    loss = loss + cfg.bounds_loss_coef * bl
                    extra["losses/bounds"] = float(bl.detach())
                if self.step == "trpl":
                    tr = trpl.trust_region_loss(pmean, pstd, mean, std)
                    loss = loss + self.tr_coef * tr
                    extra["tr/regression_loss"] = float(tr.detach())
                elif self.step == "tr_loss":
                    kl = (trpl.mean_kl(mean, mo, so) + trpl.cov_kl(std, so)).mean()
                    loss = loss + kl_coef * kl
                    extra["tr/kl"] = float(kl.detach())
                self.optimizer.zero_grad(set_to_none=True)
                loss.backward()
                gn = nn.utils.clip_grad_norm_(actor_params, cfg.max_grad_norm)
                nn.utils.clip_grad_norm_(critic_params, cfg.max_grad_norm)
                with torch.no_grad():
                    approx_kl = float(((ratio - 1) - torch.log(ratio)).mean())
                    clipfrac = float(((ratio - 1).abs() > cfg.clip).float().mean()) if cfg.clip > 0 else 0.0
                    if cfg.desired_kl > 0 and self.step == "ppo":
                        self._adapt_lr(float((trpl.mean_kl(mo, mean, std) + trpl.cov_kl(so, std)).mean()))
                self.optimizer.step()
                vals = {"losses/policy": -float(surr.detach()), "losses/value": float(v_loss.detach()),
                        "losses/entropy": float(entropy.detach()), "losses/approx_kl": approx_kl,
                        "losses/clip_fraction": clipfrac, "losses/grad_norm": float(gn), **extra}
                for k, v in vals.items():
                    sums[k] = sums.get(k, 0.0) + v
                count += 1
        metrics = {k: v / max(count, 1) for k, v in sums.items()}
        eta = 0.0
        if self.step == "trpl":
            with torch.no_grad():
                mean, std = self.policy(data.obs)
                res = trpl.project_gaussian(mean, std, data.mean_old, data.std_old, self.mean_bound,
                                            self.cov_bound, validate=False)
                eta = trpl.policy_eta(res)
                metrics["tr/eta_mean_max"] = float(res.eta_mean.max())
                metrics["tr/eta_cov_max"] = float(res.eta_cov.max())
                metrics["tr/mean_kl"] = float(trpl.mean_kl(mean, data.mean_old, data.std_old).mean())
                metrics["tr/cov_kl"] = float(trpl.cov_kl(std, data.std_old).mean())
        elif self.step == "tr_loss":
            eta = float(kl_coef)
        with torch.no_grad():  # the step taken, comparable across algorithms: KL(pi_new || pi_old), batch mean
            mean, std = self.policy(data.obs)
            metrics["policy/kl"] = float((trpl.mean_kl(mean, data.mean_old, data.std_old)
                                          + trpl.cov_kl(std, data.std_old)).mean())
        metrics["policy/std_mean"] = float(self.policy.std().mean().detach())
        metrics["losses/lr_policy"] = float(self.optimizer.param_groups[0]["lr"])
        return metrics, eta

    def state_dict(self) -> dict:
        return {"optimizer": self.optimizer.state_dict(), "lr_scale": self.lr_scale}

    def load_state_dict(self, state: dict) -> None:
        self.optimizer.load_state_dict(state["optimizer"])
        self.lr_scale = float(state.get("lr_scale", 1.0))
