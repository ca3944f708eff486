"""Differentiable KL trust-region projection for diagonal Gaussian policies (TRPL).

Written from Otto et al. (2021), "Differentiable trust region layers for deep reinforcement
learning", as summarised in the TRIRL paper (arXiv 2605.11020, Section 4.3 and Appendix C.3,
Eq. 6). Notation: ``B`` samples (states), ``A`` action dimensions; the network predicts
``N(mean, diag(std**2))`` and the old (behaviour) policy is ``N(old_mean, diag(old_std**2))``.

The reverse KL ``KL(pi || pi_old)`` splits into a mean part and a covariance part (App. C.3)::

    d_mean(mu, mu_old)   = 1/2 (mu_old - mu)^T Sigma_old^-1 (mu_old - mu)
    d_cov(Sigma, Sigma_old) = 1/2 (log|Sigma_old|/|Sigma| + tr(Sigma_old^-1 Sigma) - A)

and each part is projected separately (Eq. 6): the projection is the point closest to the
network output (in the same divergence) that satisfies ``d_mean <= mean_bound`` and
``d_cov <= cov_bound``.

* Mean (closed form): ``mu~ = (mu + eta_mean mu_old) / (1 + eta_mean)`` with
  ``eta_mean = max(0, sqrt(d_mean(mu, mu_old) / mean_bound) - 1)``; this is App. C.3's
  ``eta_mu`` with its Mahalanobis term written as ``d_mean`` (i.e. including the factor 1/2, so
  that the bound applies to the KL term exactly as stated in Eq. 6).
* Covariance: the precision is interpolated, ``Lambda~ = (Lambda + eta_cov Lambda_old) /
  (1 + eta_cov)`` (App. C.3), where ``eta_cov >= 0`` minimises the convex 1-D dual. Its
  derivative is ``d_cov(Sigma~(eta), Sigma_old) - cov_bound``, so for a violating sample the
  optimum is the root of ``d_cov(Sigma~(eta), Sigma_old) = cov_bound``. With per-dimension
  precision ratios ``r = Lambda / Lambda_old = (old_std / std)**2`` and ``t = 1 / (1 + eta)``,
  ``Lambda~ / Lambda_old = q = 1 + t (r - 1)`` and ``d_cov = 1/2 sum_j (1/q_j + log q_j - 1)``,
  increasing in ``t`` on ``[0, 1]`` from 0 to the unprojected value. The root is found for all
  samples at once by a bracketed Newton iteration in ``t`` (bisection when a Newton step leaves
  the bracket), in float64.
* Gradients: a custom :class:`torch.autograd.Function` differentiates through the active
  constraint with the implicit function theorem (``sum_j f'(q_j) dq_j = 0``); samples inside
  the trust region pass the gradient through unchanged (the projection is the identity there).

The single multiplier TRIRL needs (Section 4.3, the formula ``eta = max_batch {eta_mu(s),
eta_Sigma}``, used in Algorithm 1 line 7 and Algorithm 2 as ``eps_tr = eps / (1 + eta)``) is
the maximum over the batch of BOTH per-sample multipliers, not their sum: see :func:`policy_eta`
(max-eta variant) and :func:`per_state_eta` (retrospective-eta variant, per state).
"""

from __future__ import annotations

import logging
from typing import NamedTuple

import torch

log = logging.getLogger(__name__)

_NEWTON_MAX_ITERS = 50
_REL_TOL = 1e-10  # stop when |d_cov - bound| <= _REL_TOL * bound for every active sample


class ProjectionResult(NamedTuple):
    """Output of :func:`project_gaussian`.

    mean: (B, A) projected mean, same dtype as the input.
    std: (B, A) projected standard deviation.
    eta_mean: (B,) mean multiplier (0 where the mean was inside its bound), no gradient.
    eta_cov: (B,) covariance multiplier (0 where inside), no gradient.
    """

    mean: torch.Tensor
    std: torch.Tensor
    eta_mean: torch.Tensor
    eta_cov: torch.Tensor


def _check_bound(name: str, value: float) -> float:
    value = float(value)
    if not (value > 0.0) or value != value or value == float("inf"):
        raise ValueError(f"{name} must be a finite positive number, got {value!r}")
    return value


def _check_inputs(mean, std, old_mean, old_std) -> None:
    for name, x in (("mean", mean), ("std", std), ("old_mean", old_mean), ("old_std", old_std)):
        if not isinstance(x, torch.Tensor):
            raise TypeError(f"{name} must be a torch.Tensor, got {type(x).__name__}")
        if x.dim() != 2:
            raise ValueError(f"{name} must have shape (B, A), got {tuple(x.shape)}")
        if not x.is_floating_point():
            raise ValueError(f"{name} must be a floating point tensor, got {x.dtype}")
    shape = mean.shape
    for name, x in (("std", std), ("old_mean", old_mean), ("old_std", old_std)):
        if x.shape != shape:
            raise ValueError(f"{name} has shape {tuple(x.shape)}, expected {tuple(shape)} like mean")
    for name, x in (("mean", mean), ("std", std), ("old_mean", old_mean), ("old_std", old_std)):
        if not bool(torch.isfinite(x).all()):
            raise ValueError(f"{name} contains NaN or inf")
    for name, x in (("std", std), ("old_std", old_std)):
        if not bool((x > 0).all()):
            raise ValueError(f"{name} must be strictly positive")


def _cov_kl_terms(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-dimension ``f(q) = 1/q + log q - 1`` at ``q = 1 + x`` and ``y = x / q``.

    Written as ``log1p(x) - x / (1 + x)`` to keep relative accuracy for small ``x``.
    x: (B, A) float64. Returns (f (B, A), y (B, A)); ``f'(q) = y / q``.
    """
    q = x + 1.0
    y = x / q
    return torch.log1p(x) - y, y


def _solve_t(dr: torch.Tensor, two_bound: float, active: torch.Tensor) -> torch.Tensor:
    """Root ``t`` in (0, 1] of ``sum_j f(1 + t dr_j) = two_bound`` for every active row.

    dr: (B, A) float64, ``r - 1`` with ``r = (old_std / std)**2``.
    active: (B,) bool, rows whose unprojected covariance KL exceeds the bound.
    Returns t: (B,) float64 (1 for inactive rows).
    """
    n = dr.shape[0]
    t = torch.ones(n, dtype=dr.dtype, device=dr.device)
    if not bool(active.any()):
        return t
    idx = None
    if int(active.sum()) < n:
        idx = active.nonzero().squeeze(1)
        dr = dr.index_select(0, idx)
    sq = (dr * dr).sum(1)
    # Start from the small-step quadratic model 1/2 sum f ~ 1/4 t^2 sum dr^2, inside the bracket.
    lo = torch.zeros_like(sq)
    hi = torch.ones_like(sq)
    tt = torch.sqrt(2.0 * two_bound / sq).clamp(max=1.0)
    for it in range(_NEWTON_MAX_ITERS):
        x = dr * tt.unsqueeze(1)
        f, y = _cov_kl_terms(x)
        h = f.sum(1) - two_bound  # increasing in t
        # dh/dt = sum_j f'(q_j) dr_j = sum_j y_j^2 / t   (y = t dr / q)
        step = h * tt / (y * y).sum(1)
        # done: residual tiny, or the Newton step is at rounding level
        done = (h.abs() <= _REL_TOL * two_bound) | (step.abs() <= 1e-13 * tt)
        if bool(done.all()):
            break
        pos = h > 0
        hi = torch.where(pos, tt, hi)
        lo = torch.where(pos, lo, tt)
        newton = tt - step
        ok = (newton >= lo) & (newton <= hi)
        tt = torch.where(done | ~ok, torch.where(done, tt, 0.5 * (lo + hi)), newton)
    else:
        log.warning(
            "TRPL covariance solve did not converge in %d iterations (max |KL - bound| = %.3g)",
            _NEWTON_MAX_ITERS, float(h.abs().max()) / 2.0,
        )
    if idx is None:
        return tt
    return t.index_copy(0, idx, tt)


class _CovProjection(torch.autograd.Function):
    """Projected std and ``eta_cov`` from (std, old_std); implicit gradient on active rows.

    Inputs std, old_std: (B, A) float64; bound: float. Outputs std~ (B, A), eta (B,).
    """

    @staticmethod
    def forward(ctx, std, old_std, bound):  # noqa: D401 - autograd signature
        r = (old_std / std).square()
        dr = r - 1.0
        f0, _ = _cov_kl_terms(dr)
        kl0 = 0.5 * f0.sum(1)
        active = kl0 > bound
        t = _solve_t(dr, 2.0 * bound, active)
        q = torch.addcmul(torch.ones_like(dr), dr, t.unsqueeze(1))  # Lambda~ / Lambda_old
        std_proj = torch.where(active.unsqueeze(1), old_std * q.rsqrt(), std)
        eta = 1.0 / t - 1.0
        ctx.save_for_backward(std, old_std, std_proj, r, q, t, active)
        ctx.mark_non_differentiable(eta)
        return std_proj, eta

    @staticmethod
    def backward(ctx, grad_std_proj, _grad_eta):
        std, old_std, std_proj, r, q, t, active = ctx.saved_tensors
        if grad_std_proj is None:
            return None, None, None
        dr = r - 1.0
        tcol = t.unsqueeze(1)
        # a_j = dL/dq_j = -1/2 G_j std~_j / q_j
        a = -0.5 * grad_std_proj * std_proj / q
        # active rows: dt = -t sum_k w_k dr_k / D, w_k = (r_k - 1)/q_k^2, D = sum_k w_k (r_k - 1)
        w = dr / q.square()
        denom = (w * dr).sum(1, keepdim=True)
        s = (a * dr).sum(1, keepdim=True)
        ratio = torch.where(denom > 0, s / denom.clamp(min=torch.finfo(denom.dtype).tiny), 0.0)
        grad_r = tcol * (a - ratio * w)
        grad_r = torch.where(active.unsqueeze(1), grad_r, a)
        grad_std = grad_old = None
        if ctx.needs_input_grad[0]:
            grad_std = grad_r * (-2.0) * r / std
            grad_std = torch.where(active.unsqueeze(1), grad_std, grad_std_proj)
        if ctx.needs_input_grad[1]:
            direct = grad_std_proj * std_proj / old_std
            grad_old = torch.where(active.unsqueeze(1), direct + grad_r * 2.0 * r / old_std, 0.0)
        return grad_std, grad_old, None


def mean_kl(mean: torch.Tensor, old_mean: torch.Tensor, old_std: torch.Tensor) -> torch.Tensor:
    """Mean part of KL(pi || pi_old): ``1/2 sum_j ((mean - old_mean) / old_std)^2``.

    mean, old_mean, old_std: (B, A). Returns (B,).
    """
    return 0.5 * ((mean - old_mean) / old_std).square().sum(-1)


def cov_kl(std: torch.Tensor, old_std: torch.Tensor) -> torch.Tensor:
    """Covariance part of KL(pi || pi_old) for diagonal Gaussians.

    ``1/2 sum_j (log(old_std^2 / std^2) + std^2 / old_std^2 - 1)``. std, old_std: (B, A).
    Returns (B,).
    """
    v = (std / old_std).square()
    return 0.5 * (v - 1.0 - torch.log(v)).sum(-1)


def project_gaussian(
    mean: torch.Tensor,
    std: torch.Tensor,
    old_mean: torch.Tensor,
    old_std: torch.Tensor,
    mean_bound: float,
    cov_bound: float,
    validate: bool = True,
) -> ProjectionResult:
    """Project ``N(mean, std^2)`` into the KL trust region around ``N(old_mean, old_std^2)``.

    mean, std, old_mean, old_std: (B, A) tensors (std > 0). Differentiable with respect to all
    four (``old_*`` are normally constants: pass them detached). Computed in float64, returned
    in the dtype of ``mean``. After projection ``mean_kl(mean~, old_mean, old_std) <=
    mean_bound`` and ``cov_kl(std~, old_std) <= cov_bound`` per sample (to ~1e-10 relative).

    Returns :class:`ProjectionResult` (mean (B, A), std (B, A), eta_mean (B,), eta_cov (B,)).
    The multipliers carry no gradient. Raises ValueError on bad shapes, NaN/inf, non-positive
    std or bounds (``validate=False`` skips the tensor scans, e.g. inside a tuned loop).
    """
    mean_bound = _check_bound("mean_bound", mean_bound)
    cov_bound = _check_bound("cov_bound", cov_bound)
    if validate:
        _check_inputs(mean, std, old_mean, old_std)
    out_dtype = mean.dtype
    f64 = torch.float64
    m, om, os_ = mean.to(f64), old_mean.to(f64), old_std.to(f64)

    # --- mean: closed form (App. C.3) ---
    diff = m - om
    d_mean = 0.5 * (diff / os_).square().sum(1)
    # scale = 1 / (1 + eta_mean) = min(1, sqrt(bound / d_mean)); clamping the ratio keeps the
    # gradient finite (and zero) for samples that are inside the bound.
    ratio = (d_mean / mean_bound).clamp(min=1.0)
    scale = ratio.rsqrt()
    mean_proj = om + diff * scale.unsqueeze(1)
    eta_mean = (ratio.sqrt() - 1.0).detach()

    # --- covariance: 1-D dual per sample, implicit gradient ---
    std_proj, eta_cov = _CovProjection.apply(std.to(f64), os_, cov_bound)

    return ProjectionResult(
        mean_proj.to(out_dtype), std_proj.to(out_dtype), eta_mean.to(out_dtype), eta_cov.to(out_dtype)
    )


def per_state_eta(result: ProjectionResult) -> torch.Tensor:
    """Per-state multiplier ``max(eta_mean(s), eta_cov(s))`` (B,) for the retrospective-eta variant."""
    return torch.maximum(result.eta_mean, result.eta_cov)


def policy_eta(result: ProjectionResult) -> float:
    """TRIRL's scalar multiplier (max-eta variant): ``max_batch {eta_mu(s), eta_Sigma(s)}``.

    Section 4.3 of the TRIRL paper: "we compute the maximum over the state-dependent multipliers
    for mean and covariance, eta = max_batch{eta_mu(s), eta_Sigma}", then Algorithm 1 line 7 /
    Algorithm 2: ``eps_tr = eps / (1 + eta)``. Floored at 0 (an all-inside batch gives 0).
    """
    if result.eta_mean.numel() == 0:
        return 0.0
    return max(0.0, float(per_state_eta(result).max()))


def trust_region_loss(
    proj_mean: torch.Tensor, proj_std: torch.Tensor, mean: torch.Tensor, std: torch.Tensor
) -> torch.Tensor:
    """Trust-region regression loss (Otto et al. 2021, Sec. 4.4): pull the network to its projection.

    ``mean over B of [d_mean(mean, proj_mean) + d_cov(std, proj_std)]``, i.e. the KL from the
    unprojected network output ``N(mean, std^2)`` to its projection treated as a fixed target
    (``proj_*`` are detached). proj_mean, proj_std, mean, std: (B, A). Returns a scalar; zero
    where the network already satisfies the trust region. The coefficient is applied by the
    caller (paper Table 7: 0.4-0.6).
    """
    pm, ps = proj_mean.detach(), proj_std.detach()
    return (mean_kl(mean, pm, ps) + cov_kl(std, ps)).mean()
