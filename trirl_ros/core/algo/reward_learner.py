"""The reward-learner interface shared by TRIRL and the baselines.

A reward learner sees the expert transitions and the agent's latest rollout and returns the
reward PPO maximises. All rewards are in "PPO units" (what the policy optimiser adds up),
i.e. for TRIRL the corrected reward divided by beta = 1 / ent_coef (authors' configuration:
the corrected reward fed to PPO is multiplied back by the entropy coefficient).
"""

from __future__ import annotations

from typing import Callable

import torch

from trirl_ros.core.algo.transitions import Transitions


class RewardLearner:
    """Base class. Subclasses implement :meth:`update` and :meth:`reward`."""

    #: set by the agent: log pi(a|s) of the current policy, (B, D), (B, A) -> (B,) (AIRL needs it)
    log_prob_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor] | None = None
    #: False for fixed rewards that need no expert data in ``update``
    needs_expert: bool = True

    def update(self, expert_batch: Transitions, agent_batch: Transitions) -> dict[str, float]:
        """Learn from expert vs agent transitions; returns metrics (namespaced disc/, reward/)."""
        raise NotImplementedError

    def reward(self, batch: Transitions) -> torch.Tensor:
        """Reward for the policy update on ``batch`` (B,)."""
        raise NotImplementedError

    def frozen_reward(self, batch: Transitions) -> torch.Tensor:
        """The learned reward to re-optimise from scratch (B,); defaults to :meth:`reward`."""
        return self.reward(batch)

    def after_policy_update(self, eta: float, old_policy: torch.nn.Module | None) -> dict[str, float]:
        """Hook called after each policy update with its trust-region multiplier."""
        return {}

    def state_dict(self) -> dict:
        return {}

    def load_state_dict(self, state: dict) -> None:
        pass


class FrozenReward(RewardLearner):
    """A fixed reward function (B-batch -> (B,)), e.g. a trained learner's ``frozen_reward``."""

    needs_expert = False

    def __init__(self, fn: Callable[[Transitions], torch.Tensor]) -> None:
        self.fn = fn

    def update(self, expert_batch, agent_batch) -> dict[str, float]:
        return {}

    @torch.no_grad()
    def reward(self, batch: Transitions) -> torch.Tensor:
        return self.fn(batch)
