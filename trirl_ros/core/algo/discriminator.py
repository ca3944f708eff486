"""Discriminator D(s, s') / D(s, a) / D(s) whose logit estimates log(rho_E / rho_pi).

Paper Sec. 4.1 (logits of a BCE classifier are the log density ratio) and App. C.4 (absorbing
states: an indicator feature, and fitting on expert and agent absorbing samples). The same
feature layout is used by R_fit and by the ML-IRL / PIRO reward networks.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from trirl_ros.core.algo.networks import adam, build_mlp
from trirl_ros.core.algo.normalizer import RunningNormalizer
from trirl_ros.core.algo.transitions import Transitions

INPUT_KINDS = ("s_next", "s_a", "s")


def feature_dim(kind: str, state_dim: int, act_dim: int) -> int:
    """Size of the feature vector for input ``kind`` (each state: ``state_dim`` features + a 1-D absorbing flag)."""
    if kind == "s_next":
        return 2 * state_dim + 2
    if kind == "s_a":
        return state_dim + 1 + act_dim
    if kind == "s":
        return state_dim + 1
    raise ValueError(f"unknown discriminator input {kind!r}; expected one of {INPUT_KINDS}")


class RBFFeatures(nn.Module):
    """Gaussian radial basis features of chosen raw observation entries (paper App. B,
    "Feature-based variants": a fixed non-linear map of known base features, with a reward
    linear in it).

    x (..., D) -> (..., per_dim ** d), d = len(dims): exp(-sum_k ((x[dims_k] - c_k) / w_k)^2 / 2)
    for centres c on a regular grid of ``per_dim`` points per entry from ``low`` to ``high``,
    w_k = the grid spacing of entry k.
    """

    def __init__(self, dims: tuple[int, ...], low: tuple[float, ...], high: tuple[float, ...],
                 per_dim: int) -> None:
        super().__init__()
        self.dims = tuple(int(d) for d in dims)
        if len(self.dims) == 0 or len(low) != len(self.dims) or len(high) != len(self.dims):
            raise ValueError(f"RBF features over entries {list(dims)} need one low and one high per entry, "
                             f"got low {list(low)}, high {list(high)}")
        axes = [torch.linspace(float(l), float(h), int(per_dim)) for l, h in zip(low, high)]
        grid = torch.stack(torch.meshgrid(*axes, indexing="ij"), dim=-1)
        self.register_buffer("centers", grid.reshape(-1, len(self.dims)))
        self.register_buffer("widths", torch.stack([ax[1] - ax[0] for ax in axes]))
        self.out_dim = int(self.centers.shape[0])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        z = x[..., list(self.dims)].unsqueeze(-2)  # (..., 1, d)
        return torch.exp(-0.5 * ((z - self.centers) / self.widths).square().sum(-1))

    def box_transitions(self, batch: Transitions, n: int, generator: torch.Generator | None = None) -> Transitions:
        """n non-absorbing transitions of ``batch`` (drawn with replacement) moved to base features
        drawn uniformly over the grid's box: obs[dims] redrawn, next_obs[dims] shifted by the same
        offset, the other entries kept. States no demonstration or rollout has to visit."""
        live = batch.index(torch.nonzero(~batch.obs_absorbing).squeeze(-1))
        if len(live) == 0:
            raise ValueError("box_transitions needs at least one non-absorbing transition")
        base = live.sample(n, generator)
        lo, hi = self.centers.min(0).values, self.centers.max(0).values
        u = lo + (hi - lo) * torch.rand(n, len(self.dims), generator=generator).to(lo.device)
        d = list(self.dims)
        obs, nxt = base.obs.clone(), base.next_obs.clone()
        nxt[:, d] += u - obs[:, d]
        obs[:, d] = u
        return Transitions(obs, nxt, base.action)

    def dirichlet_energy(self, net: nn.Module, batch: Transitions) -> torch.Tensor:
        """Mean over ``batch`` of ||d net / d x[dims]||^2, x in units of the grid spacing, over obs and
        next_obs: how much ``net`` changes from one grid cell to the next (scalar)."""
        obs = batch.obs.detach().requires_grad_(True)
        nxt = batch.next_obs.detach().requires_grad_(True)
        out = net(obs, nxt, batch.action, batch.obs_absorbing, batch.next_absorbing)
        grads = torch.autograd.grad(out.sum(), [obs, nxt], create_graph=True, allow_unused=True)
        d = list(self.dims)
        return sum((g[:, d] * self.widths).square().sum(-1) for g in grads if g is not None).mean()


def state_features(dc, obs_dim: int) -> RBFFeatures | None:
    """The state feature map selected by a :class:`DiscriminatorConfig` (None = the normalised observation)."""
    if dc.features == "raw":
        return None
    if max(dc.feature_obs) >= obs_dim:
        raise ValueError(f"disc.feature_obs {list(dc.feature_obs)} indexes past the {obs_dim}-D observation")
    return RBFFeatures(dc.feature_obs, dc.rbf_low, dc.rbf_high, dc.rbf_per_dim)


class TransitionNet(nn.Module):
    """Scalar function of a transition: features -> tanh MLP -> (B,).

    Features of state x with absorbing flag f: [norm(x) * (1 - f), f]; the absorbing state is the
    zero vector with flag 1. ``s_next``: [s-part, s'-part]; ``s_a``: [s-part, a * (1 - f_s)];
    ``s``: [s-part]. The observation normaliser is a buffer of this module, so a stored copy
    keeps the statistics it was trained with.

    ``state_map`` (e.g. :class:`RBFFeatures`) replaces norm(x) by state_map(x).

    obs_dim D, act_dim A (needed for ``s_a`` only). out_gain 0 gives an all-zero function at init.
    """

    def __init__(self, kind: str, obs_dim: int, act_dim: int, hidden: tuple[int, ...],
                 normalize_obs: bool = True, out_gain: float = 1.0,
                 state_map: RBFFeatures | None = None) -> None:
        super().__init__()
        self.kind = kind
        self.obs_dim, self.act_dim = int(obs_dim), int(act_dim)
        self.normalize_obs = bool(normalize_obs)
        self.normalizer = RunningNormalizer(obs_dim)
        self.state_map = state_map
        state_dim = obs_dim if state_map is None else state_map.out_dim
        self.net = build_mlp(feature_dim(kind, state_dim, act_dim), tuple(hidden), 1, out_gain=out_gain)

    @classmethod
    def from_config(cls, kind: str, obs_dim: int, act_dim: int, hidden: tuple[int, ...], dc,
                    out_gain: float = 1.0) -> "TransitionNet":
        """A network with the normalisation and state features of :class:`DiscriminatorConfig` ``dc``."""
        return cls(kind, obs_dim, act_dim, hidden, dc.normalize_obs, out_gain, state_features(dc, obs_dim))

    def update_normalizer(self, batch: Transitions) -> None:
        """Merge the non-absorbing states of ``batch`` into the normaliser statistics
        (nothing to do when the observation is not normalised or a ``state_map`` replaces it)."""
        if not self.normalize_obs or self.state_map is not None:
            return
        parts = [batch.obs[~batch.obs_absorbing]]
        if self.kind == "s_next":
            parts.append(batch.next_obs[~batch.next_absorbing])
        self.normalizer.update(torch.cat(parts))

    def _state(self, x: torch.Tensor, absorbing: torch.Tensor) -> torch.Tensor:
        f = absorbing.to(x.dtype).unsqueeze(-1)
        if self.state_map is not None:
            x = self.state_map(x)
        elif self.normalize_obs:
            x = self.normalizer.normalize(x)
        return torch.cat([x * (1.0 - f), f], dim=-1)

    def features(self, obs, next_obs, action, obs_absorbing, next_absorbing) -> torch.Tensor:
        """Raw tensors (B, D), (B, D), (B, A) or None, (B,), (B,) -> features (B, F)."""
        s = self._state(obs, obs_absorbing)
        if self.kind == "s":
            return s
        if self.kind == "s_next":
            return torch.cat([s, self._state(next_obs, next_absorbing)], dim=-1)
        if action is None:
            raise ValueError("discriminator input 's_a' needs actions, but the batch has none")
        keep = 1.0 - obs_absorbing.to(action.dtype).unsqueeze(-1)
        return torch.cat([s, action * keep], dim=-1)

    def head(self, features: torch.Tensor) -> torch.Tensor:
        """features (B, F) -> (B,)."""
        return self.net(features).squeeze(-1)

    def forward(self, obs, next_obs, action, obs_absorbing, next_absorbing) -> torch.Tensor:
        """Raw tensors as in :meth:`features` -> value (B,)."""
        return self.head(self.features(obs, next_obs, action, obs_absorbing, next_absorbing))

    def on(self, batch: Transitions) -> torch.Tensor:
        """Evaluate on a :class:`Transitions` batch -> (B,)."""
        return self(batch.obs, batch.next_obs, batch.action, batch.obs_absorbing, batch.next_absorbing)


class Discriminator(TransitionNet):
    """Binary classifier expert (label 1) vs agent (label 0); ``on(batch)`` gives logits (B,)."""


def gradient_penalty(net: TransitionNet, batch: Transitions) -> torch.Tensor:
    """Mean over the batch of ||d net / d features||^2 at ``batch`` (the expert samples)."""
    feats = net.features(batch.obs, batch.next_obs, batch.action, batch.obs_absorbing,
                         batch.next_absorbing).detach().requires_grad_(True)
    out = net.head(feats)
    (grad,) = torch.autograd.grad(out.sum(), feats, create_graph=True)
    return grad.square().sum(-1).mean()


def bce_loss(logit_expert: torch.Tensor, logit_agent: torch.Tensor) -> torch.Tensor:
    """Binary cross entropy with expert label 1 and agent label 0; logits (Be,), (Ba,) -> scalar."""
    return F.softplus(-logit_expert).mean() + F.softplus(logit_agent).mean()


@torch.no_grad()
def accuracy_metrics(logit_expert: torch.Tensor, logit_agent: torch.Tensor, prefix: str = "disc/") -> dict[str, float]:
    """Classification accuracy (threshold logit 0) and mean logits, namespaced under ``prefix``."""
    acc_e = float((logit_expert > 0).float().mean())
    acc_a = float((logit_agent < 0).float().mean())
    return {
        f"{prefix}accuracy": 0.5 * (acc_e + acc_a),
        f"{prefix}accuracy_expert": acc_e,
        f"{prefix}accuracy_agent": acc_a,
        f"{prefix}logit_expert": float(logit_expert.mean()),
        f"{prefix}logit_agent": float(logit_agent.mean()),
    }


def paired_minibatches(expert: Transitions, agent: Transitions, epochs: int, minibatch: int,
                       generator: torch.Generator | None = None):
    """Yield (expert minibatch, agent minibatch) pairs of equal size B = min(minibatch, len(agent)).

    One epoch = one pass over a fresh permutation of the agent batch (an incomplete last
    minibatch is dropped); each agent minibatch is paired with B expert samples drawn with
    replacement. Shared by every reward learner's inner loop.
    """
    n = len(agent)
    mb = max(1, min(minibatch, n))
    for _ in range(epochs):
        perm = torch.randperm(n, generator=generator).to(agent.device)
        for start in range(0, n - mb + 1, mb):
            a = agent.index(perm[start:start + mb])
            yield expert.sample(mb, generator), a


def metric_samples(expert: Transitions, agent: Transitions, generator: torch.Generator | None = None,
                   cap: int = 4096) -> tuple[Transitions, Transitions]:
    """(expert, agent) subsets of at most ``cap`` samples for the metrics after an update: expert
    drawn with replacement, the first agent samples."""
    return expert.sample(min(len(expert), cap), generator), agent.index(slice(0, min(len(agent), cap)))


def disc_optimizer(net: nn.Module, dc) -> torch.optim.Optimizer:
    """Adam with ``dc.lr`` and ``dc.weight_decay`` (:class:`DiscriminatorConfig`)."""
    return adam(net.parameters(), lr=dc.lr, weight_decay=dc.weight_decay)


class AgentReplay:
    """The last ``capacity`` agent transitions (circular) for the discriminator's agent side.

    :meth:`mix` returns D's agent set for one update: half the current batch and as many replayed
    transitions (the current batch alone while the replay is empty), then stores the current batch.
    The set keeps the current batch's size, so D takes as many steps as without a replay.
    """

    def __init__(self, capacity: int) -> None:
        self.capacity = int(capacity)
        self._store: Transitions | None = None
        self._size = self._next = 0

    def __len__(self) -> int:
        return self._size

    def add(self, batch: Transitions) -> None:
        """Store ``batch`` (B transitions), overwriting the oldest beyond the capacity."""
        if self.capacity == 0:
            return
        if len(batch) > self.capacity:
            batch = batch.index(slice(len(batch) - self.capacity, None))
        if self._store is None:
            a = batch.action
            self._store = Transitions(
                torch.zeros(self.capacity, batch.obs.shape[1], device=batch.device),
                torch.zeros(self.capacity, batch.obs.shape[1], device=batch.device),
                None if a is None else torch.zeros(self.capacity, a.shape[1], device=batch.device))
        idx = (self._next + torch.arange(len(batch), device=batch.device)) % self.capacity
        st = self._store
        for name in ("obs", "next_obs", "action", "next_absorbing", "obs_absorbing"):
            dst = getattr(st, name)
            if dst is not None:
                dst[idx] = getattr(batch, name)
        self._next = int((self._next + len(batch)) % self.capacity)
        self._size = min(self.capacity, self._size + len(batch))

    def mix(self, agent: Transitions, generator: torch.Generator | None = None) -> Transitions:
        """D's agent set (B,) for this update (see class doc); stores ``agent``."""
        if self.capacity == 0:
            return agent
        out = agent
        if self._size:
            half = len(agent) // 2
            fresh = torch.randperm(len(agent), generator=generator)[:len(agent) - half].to(agent.device)
            old = torch.randint(0, self._size, (half,), generator=generator).to(agent.device)
            out = Transitions.cat([agent.index(fresh), self._store.index(old)])
        self.add(agent)
        return out


def train_classifier(net: TransitionNet, optimizer: torch.optim.Optimizer, expert: Transitions,
                     agent: Transitions, epochs: int, minibatch: int, grad_penalty_coef: float,
                     loss_fn=bce_loss, generator: torch.Generator | None = None,
                     prefix: str = "disc/", smooth_penalty_coef: float = 0.0,
                     logit_reg_coef: float = 0.0) -> dict[str, float]:
    """Train ``net`` to separate expert from agent transitions; returns metrics of the last pass.

    Minibatches come from :func:`paired_minibatches`.
    ``loss_fn(logit_expert, logit_agent)`` defaults to BCE; the gradient penalty is on expert inputs.
    ``smooth_penalty_coef``: weight of the Dirichlet energy of ``net`` over the RBF grid's box (as
    many box states as agent samples per minibatch), which needs RBF state features.
    ``logit_reg_coef``: weight of the sum of squared output-layer weights.
    """
    if smooth_penalty_coef > 0 and not isinstance(net.state_map, RBFFeatures):
        raise ValueError("disc.smooth_penalty needs RBF state features (disc.features: rbf): "
                         "their grid is the box it smooths over")
    last = {}
    for e, a in paired_minibatches(expert, agent, epochs, minibatch, generator):
        le, la = net.on(e), net.on(a)
        loss = loss_fn(le, la)
        gp = gradient_penalty(net, e) if grad_penalty_coef > 0 else torch.zeros(())
        total = loss + grad_penalty_coef * gp
        last = {f"{prefix}loss": float(loss.detach()), f"{prefix}grad_penalty": float(gp.detach())}
        if logit_reg_coef > 0:
            reg = net.net[-1].weight.square().sum()
            total = total + logit_reg_coef * reg
            last[f"{prefix}logit_reg"] = float(reg.detach())
        if smooth_penalty_coef > 0:
            smooth = net.state_map.dirichlet_energy(net, net.state_map.box_transitions(a, len(a), generator))
            total = total + smooth_penalty_coef * smooth
            last[f"{prefix}smoothness"] = float(smooth.detach())
        optimizer.zero_grad(set_to_none=True)
        total.backward()
        optimizer.step()
    with torch.no_grad():
        e, a = metric_samples(expert, agent, generator)
        last.update(accuracy_metrics(net.on(e), net.on(a), prefix))
    return last
