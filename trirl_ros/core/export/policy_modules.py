"""What export needs from a policy, and the policies export can build without a training run.

The export-facing protocol (:class:`ExportablePolicy`) is two torch modules:

* ``normalizer`` -- observation (N, D) -> normalised observation (N, D) (``normalize`` method or
  ``forward``); ``nn.Identity`` when the policy does not normalise;
* ``actor`` -- normalised observation (N, D) -> mean action (N, A).

:class:`MeanActionGraph` chains them into the deterministic policy that goes into the ONNX graph
(normaliser inside). :func:`make_policy` builds the algorithm's own ``GaussianPolicy`` for a robot
without training: ``untrained`` (fresh initialisation) or ``pd-stand`` (output layer zeroed, i.e. the
action is 0 and the robot stands at its default pose under PD).
"""

from __future__ import annotations

import logging
from typing import Protocol, runtime_checkable

import torch
from torch import nn

log = logging.getLogger(__name__)

POLICY_KINDS = ("pd-stand", "untrained")
DEFAULT_HIDDEN = (512, 256, 128)  # TRIRL paper App. C.5, robot tasks


@runtime_checkable
class ExportablePolicy(Protocol):
    """Anything with a ``normalizer`` and an ``actor`` module (e.g. ``GaussianPolicy``)."""

    normalizer: nn.Module
    actor: nn.Module


class MeanActionGraph(nn.Module):
    """obs (N, D) float32 -> deterministic mean action (N, A): ``actor(normalizer(obs))``."""

    def __init__(self, normalizer: nn.Module, actor: nn.Module) -> None:
        super().__init__()
        self.normalizer = normalizer
        self.actor = actor

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        norm = self.normalizer.normalize if hasattr(self.normalizer, "normalize") else self.normalizer
        return self.actor(norm(obs))


def mean_action_graph(policy: ExportablePolicy) -> MeanActionGraph:
    """The exportable deterministic graph of ``policy`` (its normaliser is bypassed when the policy
    says ``normalize_obs = False``), in eval mode."""
    if not isinstance(policy, ExportablePolicy):
        raise TypeError(f"{type(policy).__name__} has no normalizer/actor modules to export")
    normalizer = policy.normalizer if getattr(policy, "normalize_obs", True) else nn.Identity()
    return MeanActionGraph(normalizer, policy.actor).eval()


def make_policy(kind: str, obs_dim: int, act_dim: int, hidden: tuple[int, ...] = DEFAULT_HIDDEN,
                seed: int = 0) -> nn.Module:
    """A policy built by the training code path without training (see module doc).

    Args:
        kind: ``pd-stand`` (zero action) or ``untrained`` (fresh init, small output layer).
        obs_dim: D; act_dim: A; hidden: actor layer sizes; seed: torch seed for the init.
    Returns:
        the algorithm's ``GaussianPolicy`` (has ``normalizer`` and ``actor``).
    """
    if kind not in POLICY_KINDS:
        raise ValueError(f"unknown policy kind {kind!r}; choose one of {list(POLICY_KINDS)}")
    from trirl_ros.core.algo.networks import GaussianPolicy

    with torch.random.fork_rng():
        torch.manual_seed(seed)
        policy = GaussianPolicy(obs_dim, act_dim, tuple(hidden))
    if kind == "pd-stand":
        last = [m for m in policy.actor.modules() if isinstance(m, nn.Linear)][-1]
        with torch.no_grad():
            last.weight.zero_()
            last.bias.zero_()
    log.info("built %s policy (obs %d -> action %d, hidden %s)", kind, obs_dim, act_dim, list(hidden))
    return policy.eval()
