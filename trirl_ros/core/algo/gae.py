"""Generalised advantage estimation with time-limit bootstrapping and absorbing states.

Paper App. C.4 (after Kostrikov et al. 2019): ``V(s) = E[r(s, a) + (1 - nu) gamma V(s') +
nu V(s_a)]`` with ``V(s_a) = gamma / (1 - gamma) r(s_a)`` and ``nu = 1`` when s' is absorbing
(the episode *terminated*). A time limit (*truncated*) is not absorbing: the target bootstraps
from the value of the real final observation. Either way the GAE recursion stops at the
episode boundary.
"""

from __future__ import annotations

import torch


def absorbing_value(r_absorbing: float | torch.Tensor, gamma: float) -> torch.Tensor:
    """V(s_a) = gamma / (1 - gamma) * r(s_a)."""
    return torch.as_tensor(r_absorbing, dtype=torch.float32) * (gamma / (1.0 - gamma))


def compute_gae(rewards: torch.Tensor, values: torch.Tensor, next_values: torch.Tensor,
                terminated: torch.Tensor, truncated: torch.Tensor, gamma: float, lam: float,
                v_absorbing: float | torch.Tensor = 0.0) -> tuple[torch.Tensor, torch.Tensor]:
    """Advantages and value targets for a rollout of T steps of N envs.

    rewards, values: (T, N); next_values: (T, N) value of the true next state s'_t (the
    ``final_obs`` value where the episode ended, V(s_{t+1}) otherwise; its entries at
    terminated steps are ignored); terminated, truncated: (T, N) bool; v_absorbing: V(s_a).

    delta_t = r_t + (v_absorbing if terminated_t else gamma * next_values_t) - values_t,
    A_t = delta_t + gamma * lam * (1 - done_t) * A_{t+1}, A_T = 0, done = terminated | truncated.
    Returns (advantages (T, N), returns = advantages + values (T, N)).
    """
    if not (rewards.shape == values.shape == next_values.shape == terminated.shape == truncated.shape):
        raise ValueError(
            "compute_gae: rewards, values, next_values, terminated, truncated must share shape (T, N); got "
            f"{[tuple(x.shape) for x in (rewards, values, next_values, terminated, truncated)]}"
        )
    term = terminated.to(torch.bool)
    done = term | truncated.to(torch.bool)
    v_abs = torch.as_tensor(v_absorbing, dtype=rewards.dtype, device=rewards.device)
    target_next = torch.where(term, v_abs.expand_as(rewards), gamma * next_values)
    deltas = rewards + target_next - values
    adv = torch.zeros_like(rewards)
    running = torch.zeros_like(rewards[0])
    not_done = (~done).to(rewards.dtype)
    for t in range(rewards.shape[0] - 1, -1, -1):
        running = deltas[t] + gamma * lam * not_done[t] * running
        adv[t] = running
    return adv, adv + values
