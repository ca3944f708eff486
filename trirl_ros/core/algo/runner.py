"""A small generic on-policy runner: vectorised env + agent + expert transitions.

Env interface (numpy): ``reset() -> obs (N, D)``; ``step(action (N, A)) -> (obs (N, D),
terminated (N,), truncated (N,), info)`` with autoreset, ``info["final_obs"]`` (N, D) for envs
that ended and optionally ``info["reward"]`` (N,) the ground-truth reward (logged only).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import Callable, Protocol

import numpy as np
import torch

from trirl_ros.core.algo.agent import ImitationAgent
from trirl_ros.core.algo.transitions import Transitions

log = logging.getLogger(__name__)


class VecEnv(Protocol):
    num_envs: int

    def reset(self) -> np.ndarray: ...

    def step(self, action: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, dict]: ...


@dataclass
class EpisodeTracker:
    """Sums the ground-truth reward per env and records finished episodes' returns and lengths."""

    num_envs: int
    returns: list[float] = field(default_factory=list)
    lengths: list[int] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._ret = np.zeros(self.num_envs)
        self._len = np.zeros(self.num_envs, dtype=np.int64)

    def step(self, reward: np.ndarray, done: np.ndarray) -> None:
        self._ret += reward
        self._len += 1
        for i in np.flatnonzero(done):
            self.returns.append(float(self._ret[i]))
            self.lengths.append(int(self._len[i]))
            self._ret[i], self._len[i] = 0.0, 0

    def pop(self) -> tuple[list[float], list[int]]:
        r, l = self.returns, self.lengths
        self.returns, self.lengths = [], []
        return r, l


class OnPolicyRunner:
    """Collects ``cfg.ppo.horizon`` steps of all envs, then calls ``agent.update(expert)``."""

    def __init__(self, env: VecEnv, agent: ImitationAgent, expert: Transitions | None = None,
                 action_low: float | None = None, action_high: float | None = None) -> None:
        self.env, self.agent, self.expert = env, agent, expert
        self.action_low, self.action_high = action_low, action_high
        self.tracker = EpisodeTracker(env.num_envs)
        self.obs = env.reset()
        self.env_steps = 0

    def collect(self) -> None:
        """Step the envs until the agent's rollout storage is full."""
        while not self.agent.ready:
            action = self.agent.act(self.obs)
            a_np = action.cpu().numpy()
            if self.action_low is not None or self.action_high is not None:
                a_np = np.clip(a_np, self.action_low, self.action_high)
            next_obs, term, trunc, info = self.env.step(a_np)
            reward = np.asarray(info.get("reward", np.zeros(len(term))), dtype=np.float64)
            final = info.get("final_obs")
            self.agent.process_step(self.obs, action, next_obs, reward, term, trunc, final)
            self.tracker.step(reward, np.logical_or(term, trunc))
            self.obs = next_obs
            self.env_steps += len(term)

    def iterate(self) -> dict[str, float]:
        """One rollout + one update; returns the agent's metrics plus env/ statistics."""
        t0 = time.perf_counter()
        self.collect()
        t1 = time.perf_counter()
        metrics = self.agent.update(self.expert)
        t2 = time.perf_counter()
        rets, lens = self.tracker.pop()
        metrics["time/rollout_s"] = t1 - t0
        metrics["time/learner_s"] = t2 - t1
        metrics["env/steps"] = float(self.env_steps)
        if rets:
            metrics["env/episode_return"] = float(np.mean(rets))
            metrics["env/episode_length"] = float(np.mean(lens))
        return metrics

    def run(self, iterations: int, callback: Callable[[int, dict], None] | None = None) -> list[dict]:
        """``iterations`` learner iterations; ``callback(i, metrics)`` after each. Returns all metrics."""
        history = []
        for i in range(iterations):
            m = self.iterate()
            history.append(m)
            if callback is not None:
                callback(i, m)
            log.debug("iteration %d: %s", i, {k: round(v, 4) for k, v in m.items()})
        return history


@torch.no_grad()
def evaluate(env: VecEnv, policy_fn: Callable[[np.ndarray], np.ndarray], episodes: int) -> float:
    """Mean ground-truth return (``info['reward']``) of ``policy_fn`` over ``episodes`` episodes."""
    tracker = EpisodeTracker(env.num_envs)
    obs = env.reset()
    while len(tracker.returns) < episodes:
        obs, term, trunc, info = env.step(policy_fn(obs))
        tracker.step(np.asarray(info["reward"], dtype=np.float64), np.logical_or(term, trunc))
    return float(np.mean(tracker.returns[:episodes]))
