"""TRIRL's circular buffer of discriminators and the reward correction (paper Sec. 4.2, Alg. 2).

Entry j of the buffer holds (D_j, eta_j, R_fit_j[, pi_j]):

* ``D_j``: the discriminator learnt at iteration j (logit ~ log rho_E / rho_pi^(j)),
* ``eta_j``: the trust-region multiplier of the policy update that followed it,
* ``R_fit_j``: the fitted reward at iteration j, i.e. a regression of the corrected reward
  r^(j) that folds every discriminator *before* D_j,
* ``pi_j`` (retrospective-eta only): the rollout policy of iteration j.

With entries j = i-k .. i-1 (oldest to newest) and the newest discriminator D_i::

    corrected    = beta * R_fit_{i-k}                           (0 while nothing was evicted)
    for j oldest -> newest:  step = eps / (1 + max(eta_j, 0))
                             corrected = (1 - step) corrected + step * beta * D_j
    intermediate = (1 - eps) corrected + eps * beta * D_i

``corrected`` is r^(i) (every D_j with its corrected step, Alg. 1 line 8), ``intermediate`` is
r~^(i+1) (Alg. 1 line 5), the reward the trust-region policy step maximises. R_fit of the
oldest entry stands in for all evicted discriminators, so the fold matches the full history.
R_fit is a :class:`TransitionNet` regressing ``corrected / beta`` (logit units); its output
layer starts at zero so R_fit^(0) = r^(0) = 0 (Alg. 1 line 1).

All k discriminators are evaluated by :class:`StackedModules` (stacked weights, one forward each).
"""

from __future__ import annotations

import copy

import torch
from torch import nn

from trirl_ros.core.algo.discriminator import TransitionNet
from trirl_ros.core.algo.stacked import StackedModules
from trirl_ros.core.algo.transitions import Transitions


def correct_rewards(base: torch.Tensor, logits: torch.Tensor, etas: torch.Tensor, epsilon: float,
                    beta: float, latest: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor | None]:
    """The correction fold of Alg. 2 lines 19-24 on precomputed values.

    base: (B,) the starting reward (beta * R_fit); logits: (n, B) buffered logits oldest first;
    etas: (n,) scalars or (n, B) per-state multipliers (floored at 0); latest: (B,) newest logit.
    Returns (corrected (B,), intermediate (B,) or None when ``latest`` is None).
    """
    corrected = base
    n = logits.shape[0]
    if n:
        etas = etas.to(logits.dtype).clamp(min=0.0)
        if etas.dim() == 1:
            etas = etas.unsqueeze(1)
        steps = epsilon / (1.0 + etas)  # (n, 1) or (n, B)
        for j in range(n):  # n vector ops on (B,) tensors: the networks were evaluated in one call
            corrected = (1.0 - steps[j]) * corrected + steps[j] * beta * logits[j]
    intermediate = None if latest is None else (1.0 - epsilon) * corrected + epsilon * beta * latest
    return corrected, intermediate


class RewardBuffer:
    """k most recent (D_j, eta_j, R_fit_j[, pi_j]) and the corrected / intermediate rewards.

    disc_template, rfit_template: modules of the stored architectures (copied, not kept);
    policy_template: stored policies for the retrospective-eta variant (None otherwise).
    """

    def __init__(self, disc_template: TransitionNet, rfit_template: TransitionNet, capacity: int,
                 epsilon: float, beta: float, policy_template: nn.Module | None = None) -> None:
        if not (0.0 < epsilon <= 1.0):
            raise ValueError(f"epsilon must lie in (0, 1], got {epsilon}")
        if not beta > 0:
            raise ValueError(f"beta must be positive, got {beta}")
        self.capacity = int(capacity)
        self.epsilon = float(epsilon)
        self.beta = float(beta)
        self.discs = StackedModules(disc_template, capacity)
        self.rfits = StackedModules(rfit_template, capacity)
        self.policies = None if policy_template is None else StackedModules(policy_template, capacity)
        self._rfit_eval = copy.deepcopy(rfit_template)
        self._etas = torch.zeros(capacity, dtype=torch.float64)

    def __len__(self) -> int:
        return len(self.discs)

    def etas(self) -> torch.Tensor:
        """Stored scalar multipliers (n,), oldest first."""
        return self._etas[self.discs.order()].clone()

    def push(self, disc: TransitionNet, eta: float, rfit: TransitionNet, policy: nn.Module | None = None) -> None:
        """Append entry (D, eta, R_fit[, pi]); evicts the oldest when full."""
        if self.policies is not None and policy is None:
            raise ValueError("this buffer stores policies (retrospective eta): pass policy=")
        slot = self.discs.push(disc)
        self.rfits.push(rfit)
        if self.policies is not None:
            self.policies.push(policy)
        self._etas[slot] = max(0.0, float(eta))

    @torch.no_grad()
    def logits(self, batch: Transitions) -> torch.Tensor:
        """All buffered discriminators on ``batch``: (n, B), oldest first."""
        if len(self) == 0:
            return torch.zeros(0, len(batch), device=batch.device)
        return self.discs.evaluate(batch.obs, batch.next_obs, batch.action, batch.obs_absorbing,
                                   batch.next_absorbing)

    @torch.no_grad()
    def base(self, batch: Transitions) -> torch.Tensor:
        """beta * R_fit of the oldest entry on ``batch`` (B,); zeros for an empty buffer."""
        if len(self) == 0:
            return torch.zeros(len(batch), device=batch.device)
        self.rfits.load_into(self._rfit_eval, age=0)
        return self.beta * self._rfit_eval.on(batch)

    @torch.no_grad()
    def evaluate(self, batch: Transitions) -> tuple[torch.Tensor, torch.Tensor]:
        """What the fold needs from the stored networks: (buffered logits (n, B), beta * R_fit (B,)).
        Reads only stored copies, so it may run in another thread while the live D and R_fit train."""
        return self.logits(batch), self.base(batch)

    def fold(self, logits: torch.Tensor, base: torch.Tensor, latest: torch.Tensor | None = None,
             etas: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor | None]:
        """(corrected (B,), intermediate (B,) or None) from :meth:`evaluate`'s values; latest: the
        newest discriminator's logits (B,); etas as in :meth:`rewards`."""
        e = self.etas().to(base.device) if etas is None else etas
        return correct_rewards(base, logits, e, self.epsilon, self.beta, latest)

    @torch.no_grad()
    def rewards(self, batch: Transitions, latest: TransitionNet | None = None,
                etas: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor | None]:
        """(corrected (B,), intermediate (B,) or None) in beta units.

        latest: the newest discriminator D_i (not yet in the buffer); etas: per-state (n, B)
        multipliers for the retrospective variant, else the stored scalars are used.
        """
        logits, base = self.evaluate(batch)
        return self.fold(logits, base, None if latest is None else latest.on(batch), etas)

    def state_dict(self) -> dict:
        return {
            "discs": self.discs.state_dict(), "rfits": self.rfits.state_dict(),
            "policies": None if self.policies is None else self.policies.state_dict(),
            "etas": self._etas.clone(),
        }

    def load_state_dict(self, state: dict) -> None:
        self.discs.load_state_dict(state["discs"])
        self.rfits.load_state_dict(state["rfits"])
        if self.policies is not None:
            if state.get("policies") is None:
                raise ValueError("checkpoint has no buffered policies but this buffer needs them")
            self.policies.load_state_dict(state["policies"])
        self._etas.copy_(state["etas"])
