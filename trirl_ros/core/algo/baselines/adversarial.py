"""Adversarial baselines (paper App. C.1): GAIL, AIRL and AMP reward learners.

All use the same transition features and absorbing-state handling as TRIRL (App. C.4) and a
gradient penalty on expert inputs. Rewards are returned per transition (B,).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from trirl_ros.core.algo.discriminator import (
    AgentReplay, Discriminator, TransitionNet, accuracy_metrics, disc_optimizer, gradient_penalty,
    metric_samples, paired_minibatches, train_classifier,
)
from trirl_ros.core.algo.hparams import AlgoConfig
from trirl_ros.core.algo.networks import adam
from trirl_ros.core.algo.reward_learner import RewardLearner
from trirl_ros.core.algo.transitions import Transitions


class _DiscLearner(RewardLearner):
    def __init__(self, obs_dim: int, act_dim: int, cfg: AlgoConfig, device="cpu",
                 generator: torch.Generator | None = None) -> None:
        dc = cfg.disc
        self.cfg, self.generator = cfg, generator
        self.disc = Discriminator.from_config(dc.input, obs_dim, act_dim, dc.hidden, dc).to(device)
        self.opt = disc_optimizer(self.disc, dc)
        self.replay = AgentReplay(dc.replay_size)

    def _train(self, expert: Transitions, agent: Transitions, loss_fn=None) -> dict[str, float]:
        dc = self.cfg.disc
        expert = expert.to(agent.device)
        self.disc.update_normalizer(Transitions.cat([expert, agent]))
        kw = {} if loss_fn is None else {"loss_fn": loss_fn}
        return train_classifier(self.disc, self.opt, expert, self.replay.mix(agent, self.generator),
                                dc.epochs, dc.minibatch, dc.grad_penalty, generator=self.generator,
                                logit_reg_coef=dc.logit_reg, **kw)

    def state_dict(self) -> dict:
        return {"disc": self.disc.state_dict(), "opt": self.opt.state_dict()}

    def load_state_dict(self, state: dict) -> None:
        self.disc.load_state_dict(state["disc"])
        self.opt.load_state_dict(state["opt"])


class GAILReward(_DiscLearner):
    """GAIL (Ho & Ermon 2016): BCE discriminator, reward log sigma(D) (paper App. C.1)."""

    def update(self, expert_batch, agent_batch):
        return self._train(expert_batch, agent_batch)

    @torch.no_grad()
    def reward(self, batch):
        return -F.softplus(-self.disc.on(batch))


def _lsgan_loss(d_expert: torch.Tensor, d_agent: torch.Tensor) -> torch.Tensor:
    """Least-squares loss with expert target +1 and agent target -1 (AMP, Peng et al. 2021)."""
    return (d_expert - 1.0).square().mean() + (d_agent + 1.0).square().mean()


class AMPReward(_DiscLearner):
    """AMP: least-squares discriminator, reward max(0, 1 - 0.25 (D - 1)^2) (paper App. C.1)."""

    def update(self, expert_batch, agent_batch):
        return self._train(expert_batch, agent_batch, _lsgan_loss)

    @torch.no_grad()
    def reward(self, batch):
        return torch.clamp(1.0 - 0.25 * (self.disc.on(batch) - 1.0).square(), min=0.0)


class AIRLReward(RewardLearner):
    """AIRL (Fu et al. 2018): D = exp(f) / (exp(f) + pi(a|s)), f = g(s) + gamma h(s') - h(s).

    The discriminator logit is f - log pi(a|s) (needs actions and ``log_prob_fn``; for
    action-free demonstrations the logit is f alone). PPO maximises f (its entropy bonus plays the
    role of -log pi); the re-optimisable reward (:meth:`frozen_reward`) is the unshaped g(s)
    (g(s, a) with ``baseline.airl_state_only: false`` and actions).
    """

    def __init__(self, obs_dim: int, act_dim: int, cfg: AlgoConfig, device="cpu",
                 generator: torch.Generator | None = None) -> None:
        dc = cfg.disc
        self.cfg, self.generator, self.gamma = cfg, generator, cfg.ppo.gamma
        g_kind = "s" if cfg.baseline.airl_state_only else "s_a"
        self.g = TransitionNet.from_config(g_kind, obs_dim, act_dim, dc.hidden, dc).to(device)
        self.h = TransitionNet.from_config("s", obs_dim, act_dim, dc.hidden, dc).to(device)
        self.opt = adam(list(self.g.parameters()) + list(self.h.parameters()), lr=dc.lr)

    def f(self, b: Transitions) -> torch.Tensor:
        """Shaped reward f(s, a, s') (B,); h(s_a) is learnt like any state (absorbing flag)."""
        nxt = Transitions(b.next_obs, b.next_obs, b.action, b.next_absorbing, b.next_absorbing)
        return self.g.on(b) + self.gamma * self.h.on(nxt) - self.h.on(b)

    def _logit(self, b: Transitions) -> torch.Tensor:
        f = self.f(b)
        if b.action is None or self.log_prob_fn is None:
            return f
        with torch.no_grad():  # log pi enters the logit but is not trained by the discriminator
            logp = self.log_prob_fn(b.obs, b.action)
        return f - torch.where(b.obs_absorbing, torch.zeros_like(logp), logp)

    def update(self, expert_batch, agent_batch):
        dc = self.cfg.disc
        expert = expert_batch.to(agent_batch.device)
        both = Transitions.cat([expert, agent_batch])
        self.g.update_normalizer(both)
        self.h.update_normalizer(Transitions(both.next_obs, both.next_obs, None, both.next_absorbing,
                                             both.next_absorbing))
        self.h.update_normalizer(both)
        loss = gp = torch.zeros(())
        for e, a in paired_minibatches(expert, agent_batch, dc.epochs, dc.minibatch, self.generator):
            le, la = self._logit(e), self._logit(a)
            loss = F.softplus(-le).mean() + F.softplus(la).mean()
            if dc.grad_penalty > 0:
                gp = gradient_penalty(self.g, e)
            self.opt.zero_grad(set_to_none=True)
            (loss + dc.grad_penalty * gp).backward()
            self.opt.step()
        with torch.no_grad():
            e, a = metric_samples(expert, agent_batch, self.generator)
            le, la = self._logit(e), self._logit(a)
        return {"disc/loss": float(loss.detach()), "disc/grad_penalty": float(gp.detach()),
                **accuracy_metrics(le, la)}

    @torch.no_grad()
    def reward(self, batch):
        return self.f(batch)

    @torch.no_grad()
    def frozen_reward(self, batch):
        return self.g.on(batch)

    def state_dict(self) -> dict:
        return {"g": self.g.state_dict(), "h": self.h.state_dict(), "opt": self.opt.state_dict()}

    def load_state_dict(self, state: dict) -> None:
        self.g.load_state_dict(state["g"])
        self.h.load_state_dict(state["h"])
        self.opt.load_state_dict(state["opt"])
