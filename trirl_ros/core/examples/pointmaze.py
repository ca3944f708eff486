"""The point-maze experiment of the TRIRL paper (Sec. 5.1, Table 1): train, retrain, transfer.

1. train the chosen algorithm on the maze from scripted-expert transitions (s, a, s');
2. retrain: a fresh PPO policy (new seed) from scratch on the frozen learned reward (TRIRL: the
   corrected reward R_fit + buffer; AIRL: g(s); others: their reward); with ``features``, both
   stages get the section ``ppo_features`` (one max-ent policy-step objective);
3. transfer: the same on the flipped maze (the wall's opening mirrored).

Scores are normalised returns (return - random) / (expert - random) of the deterministic policy,
with the expert and random returns measured on the same maze.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import torch
import yaml

from trirl_ros.core.algo.agent import ImitationAgent, make_agent
from trirl_ros.core.algo.hparams import AlgoConfig, load_algo_config
from trirl_ros.core.algo.reward_learner import FrozenReward
from trirl_ros.core.algo.runner import OnPolicyRunner, evaluate
from trirl_ros.core.algo.transitions import Transitions
from trirl_ros.core.config import ConfigError, config_path, with_overrides
from trirl_ros.core.envs.pointmaze import (ACT_DIM, OBS_DIM, PointMazeEnv, collect_expert, expert_action,
                                           normalized_score)
from trirl_ros.core.seeding import seed_everything

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class MazeBudget:
    """Sizes of one experiment."""

    iterations: int  # learner iterations of the IRL run
    retrain_iterations: int  # PPO iterations of each retraining
    num_envs: int = 16
    expert_episodes: int = 32
    eval_episodes: int = 32


QUICK = MazeBudget(iterations=100, retrain_iterations=100)
FULL = MazeBudget(iterations=250, retrain_iterations=250)


@dataclass
class MazeResult:
    """Normalised scores (None when not run) and raw returns."""

    algo: str
    score: float
    retrain: float | None = None
    transfer: float | None = None
    returns: dict[str, float] = field(default_factory=dict)


def maze_config(algo: str, overrides: list[str] | tuple[str, ...] = (), features: bool = False) -> AlgoConfig:
    """config/algo/<algo>.yaml + the point-maze overrides (config/algo/pointmaze.yaml) + ``overrides``.

    ``features``: also the sections ``<algo>_features`` (the feature-based reward of paper App. B)
    and ``ppo_features`` (the policy-step objective shared by that training and its retraining).
    """
    data = yaml.safe_load(config_path("algo", "pointmaze.yaml").read_text())
    sections = list(dict.fromkeys([algo, f"{algo}_features", "ppo_features"])) if features else [algo]
    for name in sections:
        if name not in data:
            raise ConfigError(f"config/algo/pointmaze.yaml has no section {name!r}")
    cfg = load_algo_config(algo)
    return with_overrides(cfg, [*data["common"], *(o for name in sections for o in data[name]), *overrides])


def _policy_fn(agent: ImitationAgent) -> Callable[[np.ndarray], np.ndarray]:
    return lambda obs: np.clip(agent.act(obs, deterministic=True).cpu().numpy(), -1.0, 1.0)


def reference_returns(flipped: bool, episodes: int, num_envs: int, seed: int) -> tuple[float, float]:
    """(expert return, random return) on the (flipped) maze."""
    env = PointMazeEnv(num_envs, flipped, seed=seed)
    expert = evaluate(env, lambda o: expert_action(o, flipped), episodes)
    rng = np.random.default_rng(seed)
    env = PointMazeEnv(num_envs, flipped, seed=seed)
    rand = evaluate(env, lambda o: rng.uniform(-1.0, 1.0, size=(len(o), ACT_DIM)), episodes)
    return expert, rand


def train_agent(cfg: AlgoConfig, budget: MazeBudget, seed: int, flipped: bool = False,
                expert: Transitions | None = None, reward_learner=None, iterations: int | None = None,
                callback=None) -> ImitationAgent:
    """Train ``cfg.algorithm`` (or PPO on ``reward_learner``) on the maze; returns the agent."""
    env = PointMazeEnv(budget.num_envs, flipped, seed=seed)
    agent = make_agent(cfg, OBS_DIM, ACT_DIM, budget.num_envs, seed=seed, reward_learner=reward_learner)
    runner = OnPolicyRunner(env, agent, expert, action_low=-1.0, action_high=1.0)
    runner.run(iterations if iterations is not None else budget.iterations, callback)
    return agent


def run_pointmaze(algo: str, transfer: bool = False, budget: MazeBudget = QUICK, seed: int = 0,
                  overrides: list[str] | tuple[str, ...] = (), callback=None, features: bool = False) -> MazeResult:
    """The whole experiment; ``callback(stage, iteration, metrics)`` reports progress.

    ``features``: the feature-based reward variant (:func:`maze_config`).
    """
    seed_everything(seed)
    torch.set_num_threads(1)  # small networks: one thread avoids OpenMP contention on shared CPUs
    cfg = maze_config(algo, overrides, features)
    s, s2, a, _ = collect_expert(budget.expert_episodes, flipped=False, seed=seed + 7)
    expert = Transitions(torch.from_numpy(s), torch.from_numpy(s2), torch.from_numpy(a))
    exp_ret, rand_ret = reference_returns(False, budget.eval_episodes, budget.num_envs, seed + 11)
    cb = None if callback is None else (lambda i, m: callback("train", i, m))
    agent = train_agent(cfg, budget, seed, expert=expert, callback=cb)
    eval_env = PointMazeEnv(budget.num_envs, seed=seed + 13)
    ret = evaluate(eval_env, _policy_fn(agent), budget.eval_episodes)
    result = MazeResult(algo, normalized_score(ret, rand_ret, exp_ret),
                        returns={"expert": exp_ret, "random": rand_ret, "train": ret})
    log.info("point maze %s: train return %.3f (expert %.3f, random %.3f)", algo, ret, exp_ret, rand_ret)
    if not transfer or agent.learner is None:
        return result
    frozen = FrozenReward(agent.learner.frozen_reward)
    ppo_cfg = maze_config("ppo", overrides, features)  # ppo_features: the objective training used
    for stage, flipped in (("retrain", False), ("transfer", True)):
        seed_r = seed + (1000 if stage == "retrain" else 2000)
        cb = None if callback is None else (lambda i, m, st=stage: callback(st, i, m))
        fresh = train_agent(ppo_cfg, budget, seed_r, flipped, expert=None, reward_learner=frozen,
                            iterations=budget.retrain_iterations, callback=cb)
        e_ret, r_ret = (exp_ret, rand_ret) if not flipped else reference_returns(
            True, budget.eval_episodes, budget.num_envs, seed + 17)
        env = PointMazeEnv(budget.num_envs, flipped, seed=seed_r + 1)
        ret = evaluate(env, _policy_fn(fresh), budget.eval_episodes)
        setattr(result, stage, normalized_score(ret, r_ret, e_ret))
        result.returns[stage] = ret
        if flipped:
            result.returns.update({"expert_flipped": e_ret, "random_flipped": r_ret})
    return result
