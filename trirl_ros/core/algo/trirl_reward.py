"""TRIRL's reward learner: discriminator, buffer of discriminators, R_fit (paper Alg. 2).

Per iteration i (:meth:`TRIRLReward.update`): learn D_i by BCE with gradient penalty
(warm-started from D_{i-1}); compute the corrected reward r^(i) and the intermediate reward
r~^(i+1) from R_fit + buffer + D_i (:class:`RewardBuffer`); regress R_fit onto r^(i). After the
policy step (:meth:`after_policy_update`) push (D_i, eta_i, R_fit_i[, pi_i]) into the buffer.

Rewards returned to PPO are in logit units (beta * logit / beta): beta = 1 / ent_coef and the
authors multiply the corrected reward back by ent_coef before PPO.

Two parts of an iteration run in a worker thread, on the core the learner leaves idle (the
training loop runs torch on one thread, TaskConfig.torch_threads): the buffered networks on the
agent batch while D_i trains (they read only stored copies), and the R_fit regression while the
policy steps (R_fit_i is first read when it is pushed, :meth:`after_policy_update` waits for it;
its minibatch permutations are drawn beforehand from the same generator, in the same order).
Results are bit-for-bit those of ``overlap=False`` (test_agents.py); bench/learner.py
measures the gain.
"""

from __future__ import annotations

import copy
import logging
from concurrent.futures import Future, ThreadPoolExecutor

import torch

from trirl_ros.core.algo import trpl
from trirl_ros.core.algo.discriminator import (AgentReplay, Discriminator, TransitionNet, disc_optimizer,
                                                train_classifier)
from trirl_ros.core.algo.hparams import AlgoConfig
from trirl_ros.core.algo.networks import GaussianPolicy, adam
from trirl_ros.core.algo.reward_buffer import RewardBuffer, correct_rewards
from trirl_ros.core.algo.reward_learner import RewardLearner
from trirl_ros.core.algo.transitions import Transitions

log = logging.getLogger(__name__)


class TRIRLReward(RewardLearner):
    """obs_dim D, act_dim A; policy_template: a :class:`GaussianPolicy` of the agent's shape
    (stored per entry for the retrospective-eta variant)."""

    def __init__(self, obs_dim: int, act_dim: int, cfg: AlgoConfig, policy_template: GaussianPolicy,
                 device="cpu", generator: torch.Generator | None = None, overlap: bool = True) -> None:
        self.cfg = cfg
        self.obs_dim, self.act_dim = obs_dim, act_dim
        self.beta = 1.0 / cfg.ppo.ent_coef
        self.generator = generator
        dc, tc = cfg.disc, cfg.trirl
        self.disc = Discriminator.from_config(dc.input, obs_dim, act_dim, dc.hidden, dc).to(device)
        self.rfit = TransitionNet.from_config(dc.input, obs_dim, act_dim, tc.rfit_hidden, dc,
                                              out_gain=0.0).to(device)
        self.disc_opt = disc_optimizer(self.disc, dc)
        self.replay = AgentReplay(dc.replay_size)
        self.rfit_opt = adam(self.rfit.parameters(), lr=tc.rfit_lr)
        self.retrospective = tc.variant == "retrospective_eta"
        self.buffer = RewardBuffer(self.disc, self.rfit, tc.buffer_size, tc.epsilon, self.beta,
                                   policy_template if self.retrospective else None)
        self.policy = policy_template  # the live policy (read for the retrospective multipliers)
        self._disc_init = copy.deepcopy(self.disc.state_dict())
        self._cache: tuple[Transitions, torch.Tensor] | None = None
        self._pending = False
        self.overlap = overlap
        self._worker: ThreadPoolExecutor | None = None
        self._rfit_job: Future | None = None

    def _submit(self, fn, *args) -> Future:
        """Run ``fn(*args)`` in the worker thread (with this thread's torch thread count), or now
        when ``overlap`` is off."""
        fut: Future = Future()
        if not self.overlap:
            fut.set_result(fn(*args))
            return fut
        if self._worker is None:
            self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="trirl-reward")
        threads = torch.get_num_threads()

        def job():
            torch.set_num_threads(threads)
            return fn(*args)

        return self._worker.submit(job)

    def _rfit_metrics(self) -> dict[str, float]:
        """Wait for a running R_fit regression; its metrics (empty when none ran)."""
        job, self._rfit_job = self._rfit_job, None
        return {} if job is None else job.result()

    # ---- multipliers -------------------------------------------------------------------
    @torch.no_grad()
    def state_etas(self, batch: Transitions) -> torch.Tensor | None:
        """Retrospective multipliers (n, B): eta_j(s) of pi_{j+1} projected around pi_j, with
        pi_n = the live policy; all buffered policies evaluated (StackedModules) and one projection."""
        if not self.retrospective or len(self.buffer) == 0:
            return None
        mean, std = self.buffer.policies.evaluate(batch.obs)  # (n, B, A) each
        cur_m, cur_s = self.policy(batch.obs)
        means = torch.cat([mean, cur_m.unsqueeze(0)])
        stds = torch.cat([std, cur_s.unsqueeze(0)])
        n, b, a = mean.shape
        res = trpl.project_gaussian(
            means[1:].reshape(n * b, a), stds[1:].reshape(n * b, a), means[:-1].reshape(n * b, a),
            stds[:-1].reshape(n * b, a), self.cfg.trirl.mean_bound, self.cfg.trirl.cov_bound, validate=False)
        eta = trpl.per_state_eta(res).reshape(n, b).clamp(min=0.0)
        return torch.where(batch.obs_absorbing.unsqueeze(0), torch.zeros_like(eta), eta)

    # ---- learner API ---------------------------------------------------------------------
    def update(self, expert_batch: Transitions, agent_batch: Transitions) -> dict[str, float]:
        dc, tc = self.cfg.disc, self.cfg.trirl
        if not dc.warm_start:
            self.disc.load_state_dict(self._disc_init)
            self.disc_opt = disc_optimizer(self.disc, dc)
        expert_batch = expert_batch.to(agent_batch.device)
        self.disc.update_normalizer(Transitions.cat([expert_batch, agent_batch]))
        self._rfit_metrics()  # (a regression left running by an update without a policy step)
        # the stored networks on the agent batch, while D_i trains
        on_agent = self._submit(self.buffer.evaluate, agent_batch) if len(self.buffer) else None
        metrics = train_classifier(self.disc, self.disc_opt, expert_batch,
                                   self.replay.mix(agent_batch, self.generator), dc.epochs,
                                   dc.minibatch, dc.grad_penalty, generator=self.generator,
                                   smooth_penalty_coef=dc.smooth_penalty, logit_reg_coef=dc.logit_reg)
        # corrected r^(i) and intermediate r~^(i+1) on agent + expert samples
        # R_fit's regression set: the agent batch plus rfit_expert_fraction as many expert
        # samples (the buffer is evaluated on all of it: the largest part of TRIRL's extra cost)
        # and rfit_box_fraction as many box states
        n_agent = len(agent_batch)
        n_exp = max(1, int(round(n_agent * tc.rfit_expert_fraction)))
        parts = [agent_batch, expert_batch.sample(n_exp, self.generator)]
        n_box = int(round(n_agent * tc.rfit_box_fraction))
        if n_box:
            parts.append(self.rfit.state_map.box_transitions(agent_batch, n_box, self.generator))
        fit = Transitions.cat(parts)
        if on_agent is None:
            logits, base = self.buffer.evaluate(fit)
        else:
            agent_logits, agent_base = on_agent.result()  # first: both calls use the stored copies
            rest_logits, rest_base = self.buffer.evaluate(Transitions.cat(parts[1:]))
            logits = torch.cat([agent_logits, rest_logits], dim=1)
            base = torch.cat([agent_base, rest_base])
        with torch.no_grad():
            latest = self.disc.on(fit)
        corrected, intermediate = self.buffer.fold(logits, base, latest, self.state_etas(fit))
        self._cache = (agent_batch, intermediate[:n_agent] / self.beta)
        # R_fit regresses onto r^(i) while the policy steps (after_policy_update waits for it)
        self.rfit.update_normalizer(fit)
        perms = [torch.randperm(len(fit), generator=self.generator).to(fit.device)
                 for _ in range(tc.rfit_epochs)]
        self._rfit_job = self._submit(self._fit_rfit, fit, corrected / self.beta, perms)
        metrics["reward/corrected_agent"] = float(corrected[:n_agent].mean() / self.beta)
        metrics["reward/corrected_expert"] = float(corrected[n_agent:n_agent + n_exp].mean() / self.beta)
        metrics["reward/intermediate_agent"] = float(intermediate[:n_agent].mean() / self.beta)
        metrics["reward/buffer_size"] = float(len(self.buffer))
        self._pending = True
        return metrics

    def _fit_rfit(self, batch: Transitions, target: torch.Tensor, perms: list[torch.Tensor]) -> dict[str, float]:
        """Warm-started regression of R_fit onto ``target`` (B,) in logit units, one epoch per
        permutation in ``perms`` (each (B,)); R_fit's normaliser is already updated."""
        tc = self.cfg.trirl
        n = len(batch)
        mb = max(1, min(tc.rfit_minibatch, n))
        for perm in perms:
            for s in range(0, n - mb + 1, mb):
                idx = perm[s:s + mb]
                loss = (self.rfit.on(batch.index(idx)) - target[idx]).square().mean()
                self.rfit_opt.zero_grad(set_to_none=True)
                loss.backward()
                self.rfit_opt.step()
        with torch.no_grad():
            err = (self.rfit.on(batch) - target).square().mean()
            var = target.var() if n > 1 else torch.ones(())
        return {"reward/rfit_mse": float(err), "reward/rfit_r2": float(1.0 - err / (var + 1e-12))}

    @torch.no_grad()
    def reward(self, batch: Transitions) -> torch.Tensor:
        """Intermediate reward r~^(i+1) / beta for the pending policy step (B,)."""
        if self._cache is not None and self._cache[0] is batch:
            return self._cache[1]
        if not self._pending:
            return self.frozen_reward(batch)
        _, inter = self.buffer.rewards(batch, latest=self.disc, etas=self.state_etas(batch))
        return inter / self.beta

    @torch.no_grad()
    def frozen_reward(self, batch: Transitions) -> torch.Tensor:
        """The corrected reward over the whole buffer (R_fit + every (D_j, eta_j)) / beta (B,)."""
        corrected, _ = self.buffer.rewards(batch, latest=None, etas=self.state_etas(batch))
        return corrected / self.beta

    def after_policy_update(self, eta: float, old_policy: torch.nn.Module | None) -> dict[str, float]:
        """Push (D_i, eta_i, R_fit_i[, pi_i]) into the buffer."""
        if not self._pending:
            raise RuntimeError("after_policy_update called without a preceding update()")
        metrics = self._rfit_metrics()
        self.buffer.push(self.disc, eta, self.rfit, old_policy if self.retrospective else None)
        self._pending = False
        self._cache = None
        eta = max(0.0, float(eta))
        return {**metrics, "tr/eta": eta, "tr/step": self.cfg.trirl.epsilon / (1.0 + eta)}

    def state_dict(self) -> dict:
        self._rfit_metrics()
        return {"disc": self.disc.state_dict(), "rfit": self.rfit.state_dict(),
                "disc_opt": self.disc_opt.state_dict(), "rfit_opt": self.rfit_opt.state_dict(),
                "buffer": self.buffer.state_dict()}

    def load_state_dict(self, state: dict) -> None:
        self._rfit_metrics()
        self.disc.load_state_dict(state["disc"])
        self.rfit.load_state_dict(state["rfit"])
        self.disc_opt.load_state_dict(state["disc_opt"])
        self.rfit_opt.load_state_dict(state["rfit_opt"])
        self.buffer.load_state_dict(state["buffer"])
        self._pending, self._cache = False, None


__all__ = ["TRIRLReward", "correct_rewards"]
