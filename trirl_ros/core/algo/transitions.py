"""Batches of transitions (s, a, s') with absorbing-state flags (Kostrikov et al. 2019)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch


def _t(x, dtype=torch.float32, device=None) -> torch.Tensor:
    if isinstance(x, torch.Tensor):
        return x.to(dtype=dtype, device=device)
    return torch.as_tensor(np.asarray(x), dtype=dtype, device=device)


@dataclass
class Transitions:
    """A batch of B transitions.

    obs: (B, D) float32; next_obs: (B, D) float32 (ignored where ``next_absorbing``);
    action: (B, A) float32 or None (state-only demonstrations);
    next_absorbing: (B,) bool, the episode terminated so s' is the absorbing state s_a;
    obs_absorbing: (B,) bool, s itself is s_a (the s_a -> s_a self-transitions).
    """

    obs: torch.Tensor
    next_obs: torch.Tensor
    action: torch.Tensor | None = None
    next_absorbing: torch.Tensor | None = None
    obs_absorbing: torch.Tensor | None = None

    def __post_init__(self) -> None:
        self.obs = _t(self.obs)
        self.next_obs = _t(self.next_obs, device=self.obs.device)
        if self.obs.dim() != 2 or self.next_obs.shape != self.obs.shape:
            raise ValueError(
                f"Transitions: obs and next_obs must both be (B, D), got {tuple(self.obs.shape)} "
                f"and {tuple(self.next_obs.shape)}"
            )
        b = self.obs.shape[0]
        if self.action is not None:
            self.action = _t(self.action, device=self.obs.device)
            if self.action.dim() != 2 or self.action.shape[0] != b:
                raise ValueError(f"Transitions: action must be (B={b}, A), got {tuple(self.action.shape)}")
        for name in ("next_absorbing", "obs_absorbing"):
            v = getattr(self, name)
            v = torch.zeros(b, dtype=torch.bool, device=self.obs.device) if v is None else _t(
                v, torch.bool, self.obs.device)
            if v.shape != (b,):
                raise ValueError(f"Transitions: {name} must be (B={b},), got {tuple(v.shape)}")
            setattr(self, name, v)
        for name in ("obs", "next_obs", "action"):
            v = getattr(self, name)
            if v is not None and not bool(torch.isfinite(v).all()):
                raise ValueError(f"Transitions: {name} contains NaN or inf")

    def __len__(self) -> int:
        return int(self.obs.shape[0])

    @property
    def device(self) -> torch.device:
        return self.obs.device

    def index(self, idx: torch.Tensor | slice) -> "Transitions":
        """Sub-batch selected by ``idx`` (indices or slice)."""
        return Transitions(
            self.obs[idx], self.next_obs[idx], None if self.action is None else self.action[idx],
            self.next_absorbing[idx], self.obs_absorbing[idx],
        )

    def to(self, device) -> "Transitions":
        return Transitions(
            self.obs.to(device), self.next_obs.to(device),
            None if self.action is None else self.action.to(device),
            self.next_absorbing.to(device), self.obs_absorbing.to(device),
        )

    def sample(self, n: int, generator: torch.Generator | None = None) -> "Transitions":
        """n transitions drawn uniformly with replacement."""
        idx = torch.randint(0, len(self), (n,), generator=generator, device="cpu").to(self.device)
        return self.index(idx)

    @staticmethod
    def cat(parts: list["Transitions"]) -> "Transitions":
        """Concatenate batches (actions kept only if every part has them)."""
        acts = [p.action for p in parts]
        return Transitions(
            torch.cat([p.obs for p in parts]), torch.cat([p.next_obs for p in parts]),
            None if any(a is None for a in acts) else torch.cat(acts),
            torch.cat([p.next_absorbing for p in parts]), torch.cat([p.obs_absorbing for p in parts]),
        )

    def with_absorbing(self) -> "Transitions":
        """Append one s_a -> s_a transition per terminating transition (DAC, Kostrikov et al.).

        The discriminator then also learns r(s_a), the reward of staying absorbed.
        """
        n = int(self.next_absorbing.sum())
        if n == 0:
            return self
        d = self.obs.shape[1]
        z = torch.zeros(n, d, device=self.device)
        ones = torch.ones(n, dtype=torch.bool, device=self.device)
        act = None if self.action is None else torch.zeros(n, self.action.shape[1], device=self.device)
        return Transitions.cat([self, Transitions(z, z, act, ones, ones)])

    @staticmethod
    def absorbing(obs_dim: int, act_dim: int | None = None, device=None) -> "Transitions":
        """A single s_a -> s_a transition (B = 1), to evaluate r(s_a)."""
        z = torch.zeros(1, obs_dim, device=device)
        a = None if act_dim is None else torch.zeros(1, act_dim, device=device)
        one = torch.ones(1, dtype=torch.bool, device=device)
        return Transitions(z, z, a, one, one)
