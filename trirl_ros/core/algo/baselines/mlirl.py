"""ML-IRL and PIRO reward learners.

ML-IRL (the thesis in papers/, Alg. 1/2, Lemma 1): the likelihood gradient is
``E_expert[grad r] - E_agent[grad r]``; gradient ascent on it is descent on the loss
``T (mean_agent r - mean_expert r)`` (T = ``baseline.horizon_scale``). The reward network takes
state-only (``disc.input: s``), state-action (``s_a``) or transition (``s_next``) inputs; a small
``reward_l2`` penalty on r^2 keeps its scale bounded.

PIRO (papers/README.md): the same loss plus ``w * ||r(X_agent) - r_old(X_agent)||`` with r_old
the reward before this update (held fixed); the norm is the root-mean-square over the agent
batch (batch-size independent). After each update w is multiplied by 1.5 when the measured change
exceeds 1.5 x target, divided by 1.5 when below target / 1.5, and clamped to [0.001, 10].
"""

from __future__ import annotations

import copy

import torch

from trirl_ros.core.algo.discriminator import TransitionNet, gradient_penalty, paired_minibatches
from trirl_ros.core.algo.hparams import AlgoConfig
from trirl_ros.core.algo.networks import adam
from trirl_ros.core.algo.reward_learner import RewardLearner
from trirl_ros.core.algo.transitions import Transitions


class MLIRLReward(RewardLearner):
    """Maximum-likelihood IRL reward r(x) (B,)."""

    proximal = False

    def __init__(self, obs_dim: int, act_dim: int, cfg: AlgoConfig, device="cpu",
                 generator: torch.Generator | None = None) -> None:
        dc = cfg.disc
        self.cfg, self.generator = cfg, generator
        self.net = TransitionNet.from_config(dc.input, obs_dim, act_dim, dc.hidden, dc).to(device)
        self.opt = adam(self.net.parameters(), lr=dc.lr)
        self.weight = cfg.baseline.piro_init_weight

    def update(self, expert_batch, agent_batch):
        dc, bc = self.cfg.disc, self.cfg.baseline
        expert = expert_batch.to(agent_batch.device)
        self.net.update_normalizer(Transitions.cat([expert, agent_batch]))
        old = copy.deepcopy(self.net) if self.proximal else None
        loss = prox = torch.zeros(())
        for e, a in paired_minibatches(expert, agent_batch, dc.epochs, dc.minibatch, self.generator):
            ra, re_ = self.net.on(a), self.net.on(e)
            loss = bc.horizon_scale * (ra.mean() - re_.mean())
            total = loss + bc.reward_l2 * 0.5 * (ra.square().mean() + re_.square().mean())
            if dc.grad_penalty > 0:
                total = total + dc.grad_penalty * gradient_penalty(self.net, e)
            if old is not None:
                with torch.no_grad():
                    r_old = old.on(a)
                prox = torch.sqrt((ra - r_old).square().mean() + 1e-12)
                total = total + self.weight * prox
            self.opt.zero_grad(set_to_none=True)
            total.backward()
            self.opt.step()
        with torch.no_grad():
            ra = self.net.on(agent_batch)
            re_ = self.net.on(expert.sample(min(len(expert), 4096), self.generator))
        metrics = {"disc/loss": float(loss.detach()), "reward/agent": float(ra.mean()),
                   "reward/expert": float(re_.mean()), "reward/gap": float(re_.mean() - ra.mean())}
        if old is not None:
            metrics.update(self._adapt(agent_batch, old))
        return metrics

    @torch.no_grad()
    def _adapt(self, agent: Transitions, old: TransitionNet) -> dict[str, float]:
        target = self.cfg.baseline.piro_target_change
        change = float(torch.sqrt((self.net.on(agent) - old.on(agent)).square().mean()))
        if change > 1.5 * target:
            self.weight *= 1.5
        elif change < target / 1.5:
            self.weight /= 1.5
        self.weight = min(10.0, max(0.001, self.weight))
        return {"reward/change": change, "reward/proximal_weight": self.weight}

    @torch.no_grad()
    def reward(self, batch):
        return self.net.on(batch)

    def state_dict(self) -> dict:
        return {"net": self.net.state_dict(), "opt": self.opt.state_dict(), "weight": self.weight}

    def load_state_dict(self, state: dict) -> None:
        self.net.load_state_dict(state["net"])
        self.opt.load_state_dict(state["opt"])
        self.weight = float(state["weight"])


class PIROReward(MLIRLReward):
    """PIRO: ML-IRL loss plus an adaptive proximal penalty on the reward change."""

    proximal = True
