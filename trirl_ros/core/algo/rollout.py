"""Fixed-horizon on-policy rollout storage for N vectorised environments."""

from __future__ import annotations

import torch

from trirl_ros.core.algo.transitions import Transitions


class RolloutStorage:
    """T steps x N envs of (s, a, log pi_old(a|s), mean_old, std_old, s', terminated, truncated, r_env).

    ``next_obs`` is the true successor of each step: ``final_obs`` where the episode ended
    (terminated or truncated), the next observation otherwise.
    """

    # every per-step tensor, each (T, N, ...): what a data-parallel gather concatenates
    FIELDS = ("obs", "next_obs", "action", "mean", "std", "logp", "reward_env", "terminated", "truncated")

    def __init__(self, horizon: int, num_envs: int, obs_dim: int, act_dim: int, device="cpu") -> None:
        self.T, self.N = int(horizon), int(num_envs)
        z = lambda *s, dtype=torch.float32: torch.zeros(*s, dtype=dtype, device=device)  # noqa: E731
        self.obs = z(self.T, self.N, obs_dim)
        self.next_obs = z(self.T, self.N, obs_dim)
        self.action = z(self.T, self.N, act_dim)
        self.mean = z(self.T, self.N, act_dim)
        self.std = z(self.T, self.N, act_dim)
        self.logp = z(self.T, self.N)
        self.reward_env = z(self.T, self.N)
        self.terminated = z(self.T, self.N, dtype=torch.bool)
        self.truncated = z(self.T, self.N, dtype=torch.bool)
        self.step = 0

    @property
    def full(self) -> bool:
        return self.step >= self.T

    def add(self, obs, action, logp, mean, std, next_obs, reward_env, terminated, truncated) -> None:
        """Store one step; each argument has leading dim N."""
        if self.full:
            raise RuntimeError("RolloutStorage is full: call update() before adding more steps")
        t = self.step
        self.obs[t], self.action[t], self.logp[t] = obs, action, logp
        self.mean[t], self.std[t], self.next_obs[t] = mean, std, next_obs
        self.reward_env[t] = reward_env
        self.terminated[t], self.truncated[t] = terminated, truncated
        self.step += 1

    def transitions(self) -> Transitions:
        """All T*N stored steps as a flat :class:`Transitions` (terminated -> s' absorbing)."""
        d, a = self.obs.shape[-1], self.action.shape[-1]
        return Transitions(self.obs.reshape(-1, d), self.next_obs.reshape(-1, d),
                           self.action.reshape(-1, a), self.terminated.reshape(-1))

    def reset(self) -> None:
        self.step = 0
