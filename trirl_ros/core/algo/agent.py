"""On-policy imitation agents: TRIRL and the baselines behind one API (PPO + a reward learner).

The runner calls, per environment step, ``act`` then ``process_step``; when ``ready`` (the
rollout horizon is full) it calls ``update(expert_batch)``. ``update`` trains the reward learner
on expert vs agent transitions (with absorbing self-transitions, App. C.4), computes the learned
rewards, GAE with absorbing-state values, runs the policy step and, for TRIRL, hands the
trust-region multiplier back to the reward correction.
"""

from __future__ import annotations

import copy
import logging

import numpy as np
import torch

from trirl_ros.core.algo.baselines import AIRLReward, AMPReward, GAILReward, MLIRLReward, PIROReward
from trirl_ros.core.algo.gae import absorbing_value, compute_gae
from trirl_ros.core.algo.hparams import AlgoConfig
from trirl_ros.core.algo.networks import Critic, GaussianPolicy
from trirl_ros.core.algo.ppo import PolicyBatch, PolicyOptimizer
from trirl_ros.core.algo.reward_learner import RewardLearner
from trirl_ros.core.algo.rollout import RolloutStorage
from trirl_ros.core.algo.transitions import Transitions
from trirl_ros.core.algo.trirl_reward import TRIRLReward

log = logging.getLogger(__name__)


def _tensor(x, device, dtype=torch.float32) -> torch.Tensor:
    if isinstance(x, torch.Tensor):
        return x.to(device=device, dtype=dtype)
    return torch.as_tensor(np.asarray(x), dtype=dtype, device=device)


class ImitationAgent:
    """PPO policy + critic driven by a :class:`RewardLearner` (or the env reward when None).

    obs_dim D, act_dim A, num_envs N. ``policy_step``: 'ppo' | 'trpl' | 'tr_loss'.
    """

    policy_step = "ppo"

    def __init__(self, obs_dim: int, act_dim: int, num_envs: int, cfg: AlgoConfig,
                 reward_learner: RewardLearner | None = None, device="cpu", seed: int = 0) -> None:
        self.cfg, self.device = cfg, torch.device(device)
        self.obs_dim, self.act_dim, self.num_envs = int(obs_dim), int(act_dim), int(num_envs)
        pc = cfg.policy
        self.generator = torch.Generator().manual_seed(int(seed))
        # action noise; a data-parallel rank draws its own (train.distributed) while the learner's
        # stream, ``generator``, stays the same on every rank
        self.noise_generator = self.generator
        self.policy = GaussianPolicy(obs_dim, act_dim, pc.hidden, pc.init_std, pc.min_std,
                                     pc.normalize_obs).to(self.device)
        self.critic = Critic(obs_dim, pc.critic_hidden).to(self.device)
        tc = cfg.trirl
        self.optimizer = PolicyOptimizer(self.policy, self.critic, cfg.ppo, self.policy_step,
                                         tc.mean_bound, tc.cov_bound, tc.tr_coef)
        self.storage = RolloutStorage(cfg.ppo.horizon, num_envs, obs_dim, act_dim, self.device)
        self.learner = reward_learner if reward_learner is not None else self._make_learner()
        if self.learner is not None:
            self.learner.log_prob_fn = self._log_prob
        self.iteration = 0
        self._last: tuple | None = None

    def _make_learner(self) -> RewardLearner | None:
        return None

    # ---- acting ----------------------------------------------------------------------------
    def _log_prob(self, obs: torch.Tensor, action: torch.Tensor) -> torch.Tensor:
        mean, std = self.policy(obs)
        return GaussianPolicy.log_prob(action, mean, std)

    @torch.no_grad()
    def act(self, obs, deterministic: bool = False) -> torch.Tensor:
        """obs (N, D) -> action (N, A) (unclipped sample, or the mean when deterministic)."""
        obs = _tensor(obs, self.device)
        if obs.dim() != 2 or obs.shape[1] != self.obs_dim:
            raise ValueError(f"act: obs must be (N, {self.obs_dim}), got {tuple(obs.shape)}")
        mean, std = self.policy(obs)
        if deterministic:
            action = mean
        else:
            noise = torch.randn(mean.shape, generator=self.noise_generator).to(self.device)
            action = mean + std * noise
        self._last = (obs, action, GaussianPolicy.log_prob(action, mean, std), mean, std)
        return action

    def process_step(self, obs, action, next_obs, reward_env, terminated, truncated, final_obs=None) -> None:
        """Record one vectorised step. next_obs (N, D) is the post-reset observation; final_obs
        (N, D) holds the true last observation of envs that ended (rows of others ignored)."""
        obs, action = _tensor(obs, self.device), _tensor(action, self.device)
        next_obs = _tensor(next_obs, self.device)
        term = _tensor(terminated, self.device, torch.bool)
        trunc = _tensor(truncated, self.device, torch.bool)
        done = term | trunc
        true_next = next_obs
        if bool(done.any()):
            if final_obs is None:
                raise ValueError("process_step: final_obs is required when an episode ended")
            true_next = torch.where(done.unsqueeze(1), _tensor(final_obs, self.device), next_obs)
        last = self._last
        if last is not None and last[1].shape == action.shape and torch.equal(last[1], action) \
                and torch.equal(last[0], obs):
            logp, mean, std = last[2], last[3], last[4]
        else:
            with torch.no_grad():
                mean, std = self.policy(obs)
                logp = GaussianPolicy.log_prob(action, mean, std)
        self.storage.add(obs, action, logp, mean, std, true_next, _tensor(reward_env, self.device),
                         term, trunc)

    @property
    def ready(self) -> bool:
        """True when the rollout horizon is full and :meth:`update` should be called."""
        return self.storage.full

    # ---- learning ----------------------------------------------------------------------------
    def _kl_coef(self) -> float:
        tc = self.cfg.trirl
        frac = min(1.0, self.iteration / max(1, tc.eta_schedule_iters))
        return tc.eta_init + frac * (tc.eta_final - tc.eta_init)

    def update(self, expert_batch: Transitions | None = None,
               rollouts: RolloutStorage | None = None) -> dict[str, float]:
        """One learner iteration on the stored rollout, or on ``rollouts`` (T, N', ...) built from it
        (all data-parallel ranks' rollouts); returns metrics (losses/, disc/, reward/, tr/)."""
        if not self.storage.full:
            raise RuntimeError(f"update: rollout incomplete ({self.storage.step}/{self.storage.T} steps)")
        st, cfg = (self.storage if rollouts is None else rollouts), self.cfg.ppo
        T, N = st.T, st.N
        old_policy = copy.deepcopy(self.policy)  # pi^(i), the rollout policy
        agent = st.transitions()
        m = len(agent)
        metrics: dict[str, float] = {}
        if self.learner is None:
            rewards = st.reward_env
            r_abs = torch.zeros(())
        else:
            if expert_batch is None and self.learner.needs_expert:
                raise ValueError("update: this agent learns a reward and needs expert_batch")
            agent_disc = agent.with_absorbing()
            metrics.update(self.learner.update(expert_batch, agent_disc))
            rewards = self.learner.reward(agent_disc)[:m].reshape(T, N)
            if self.cfg.absorbing_reward == "min_agent":
                r_abs = rewards.min()
            else:
                r_abs = self.learner.reward(Transitions.absorbing(
                    self.obs_dim, self.act_dim, self.device))[0]
        if self.cfg.policy.normalize_obs:
            self.policy.normalizer.update(st.obs.reshape(-1, self.obs_dim))
        with torch.no_grad():
            flat_obs = st.obs.reshape(-1, self.obs_dim)
            values = self.critic(self.policy.norm_obs(flat_obs)).reshape(T, N)
            next_values = self.critic(self.policy.norm_obs(st.next_obs.reshape(-1, self.obs_dim))).reshape(T, N)
            v_abs = absorbing_value(r_abs, cfg.gamma)
            adv, ret = compute_gae(rewards, values, next_values, st.terminated, st.truncated,
                                   cfg.gamma, cfg.gae_lambda, v_abs)
        batch = PolicyBatch(flat_obs, st.action.reshape(-1, self.act_dim), st.logp.reshape(-1),
                            st.mean.reshape(-1, self.act_dim), st.std.reshape(-1, self.act_dim),
                            adv.reshape(-1), ret.reshape(-1))
        kl_coef = self._kl_coef() if self.policy_step == "tr_loss" else 0.0
        self.optimizer.set_iteration(self.iteration)
        pm, eta = self.optimizer.update(batch, kl_coef, self.generator)
        metrics.update(pm)
        if self.learner is not None:
            metrics.update(self.learner.after_policy_update(eta, old_policy))
        metrics["reward/ppo_mean"] = float(rewards.mean())
        metrics["reward/absorbing"] = float(r_abs)
        metrics["reward/env_step_mean"] = float(st.reward_env.mean())
        self.iteration += 1
        self.storage.reset()
        self._last = None
        return metrics

    @torch.no_grad()
    def reward(self, s, s_next, terminated=None) -> torch.Tensor:
        """Learned reward r(s, s') (N,): TRIRL's corrected reward, a baseline's re-optimisable one.
        s, s_next: (N, D); terminated (N,) bool marks s_next as the absorbing state."""
        if self.learner is None:
            raise RuntimeError("reward: this agent has no learned reward (algorithm 'ppo')")
        b = Transitions(_tensor(s, self.device), _tensor(s_next, self.device), None,
                        None if terminated is None else _tensor(terminated, self.device, torch.bool))
        return self.learner.frozen_reward(b)

    # ---- checkpoints ---------------------------------------------------------------------------
    def state_dict(self) -> dict:
        """Everything needed to resume exactly between iterations (storage is empty then)."""
        return {
            "policy": self.policy.state_dict(), "critic": self.critic.state_dict(),
            "optimizer": self.optimizer.state_dict(), "iteration": self.iteration,
            "learner": None if self.learner is None else self.learner.state_dict(),
            "generator": self.generator.get_state(), "torch_rng": torch.get_rng_state(),
        }

    def load_state_dict(self, state: dict) -> None:
        self.policy.load_state_dict(state["policy"])
        self.critic.load_state_dict(state["critic"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.iteration = int(state["iteration"])
        if self.learner is not None:
            self.learner.load_state_dict(state["learner"])
        self.generator.set_state(state["generator"])
        torch.set_rng_state(state["torch_rng"])
        self.storage.reset()
        self._last = None


class PPO(ImitationAgent):
    """Plain PPO on the environment reward (or on a given reward learner, e.g. a frozen reward)."""


class TRIRL(ImitationAgent):
    """Trust Region IRL (paper Alg. 2). Variant from ``cfg.trirl.variant``: max_eta (TRPL,
    default), retrospective_eta (TRPL, per-state multipliers), tr_loss (scheduled KL penalty)."""

    def __init__(self, obs_dim, act_dim, num_envs, cfg, reward_learner=None, device="cpu", seed=0):
        self.policy_step = "tr_loss" if cfg.trirl.variant == "tr_loss" else "trpl"
        super().__init__(obs_dim, act_dim, num_envs, cfg, reward_learner, device, seed)

    def _make_learner(self):
        return TRIRLReward(self.obs_dim, self.act_dim, self.cfg, self.policy, self.device, self.generator)


def _baseline(cls_name: str, learner_cls):
    def make(self):
        return learner_cls(self.obs_dim, self.act_dim, self.cfg, self.device, self.generator)

    return type(cls_name, (ImitationAgent,), {"_make_learner": make, "__doc__": f"{cls_name}: "
                f"{learner_cls.__doc__.splitlines()[0]} + PPO."})


GAIL = _baseline("GAIL", GAILReward)
AIRL = _baseline("AIRL", AIRLReward)
AMP = _baseline("AMP", AMPReward)
MLIRL = _baseline("MLIRL", MLIRLReward)
PIRO = _baseline("PIRO", PIROReward)

# "tracking" is PPO on the reference-tracking reward the training run computes (not IRL)
AGENTS = {"trirl": TRIRL, "gail": GAIL, "airl": AIRL, "amp": AMP, "mlirl": MLIRL, "piro": PIRO, "ppo": PPO,
          "tracking": PPO}


def make_agent(cfg: AlgoConfig, obs_dim: int, act_dim: int, num_envs: int, device="cpu", seed: int = 0,
               reward_learner: RewardLearner | None = None) -> ImitationAgent:
    """Build the agent for ``cfg.algorithm``."""
    if cfg.algorithm not in AGENTS:
        raise ValueError(f"unknown algorithm {cfg.algorithm!r}; expected one of {sorted(AGENTS)}")
    return AGENTS[cfg.algorithm](obs_dim, act_dim, num_envs, cfg, reward_learner, device, seed)
