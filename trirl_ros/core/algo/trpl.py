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
  the bracket), in float64 (the rest of the layer and its backward run in the input dtype).
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
import math
import threading
from typing import NamedTuple

import torch

log = logging.getLogger(__name__)

_MAX_ITERS = 50
_REL_TOL = 1e-12  # a row is solved when |d_cov - bound| <= _REL_TOL * bound ...
_ACCEPT_STEP = 1e-4  # ... or after a Newton step of relative size <= this (error ~ its square)
_CHUNK_ROWS = 4096  # rows per block: keeps the float64 temporaries cache-sized


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
    if not (value > 0.0) or value == float("inf"):
        raise ValueError(f"{name} must be a finite positive number, got {value!r}")
    return value


def _check_shapes(mean, std, old_mean, old_std) -> None:
    for name, x in (("mean", mean), ("std", std), ("old_mean", old_mean), ("old_std", old_std)):
        if not isinstance(x, torch.Tensor):
            raise TypeError(f"{name} must be a torch.Tensor, got {type(x).__name__}")
        if x.dim() != 2:
            raise ValueError(f"{name} must have shape (B, A), got {tuple(x.shape)}")
        if not x.is_floating_point():
            raise ValueError(f"{name} must be a floating point tensor, got {x.dtype}")
    for name, x in (("std", std), ("old_mean", old_mean), ("old_std", old_std)):
        if x.shape != mean.shape:
            raise ValueError(f"{name} has shape {tuple(x.shape)}, expected {tuple(mean.shape)} like mean")


def _check_values(mean, std, old_mean, old_std) -> None:
    """NaN/inf and positivity checks with one reduction per tensor (cheap for large batches)."""
    for name, x in (("mean", mean), ("old_mean", old_mean)):
        if not bool(torch.isfinite(x.sum(0)).all()):  # NaN/inf survive a sum (or overflow: also bad)
            raise ValueError(f"{name} contains NaN or inf")
    for name, x in (("std", std), ("old_std", old_std)):
        lo, hi = torch.aminmax(x)
        if not bool(hi < float("inf")) or lo != lo:
            raise ValueError(f"{name} contains NaN or inf")
        if not bool(lo > 0):
            raise ValueError(f"{name} must be strictly positive")


class _Workspace(threading.local):
    """Per-thread scratch blocks of shape (_CHUNK_ROWS, A) per dtype, reused across calls.

    Fresh multi-megabyte temporaries are returned to the OS and page-faulted in again on every
    call, which costs more than the arithmetic here; a few cached blocks (about 0.4-0.8 MB each
    for A = 23) avoid that. :func:`clear_workspace` frees them.
    """

    def __init__(self):
        self.blocks: dict[tuple[str, torch.dtype], torch.Tensor] = {}

    def get(self, name: str, rows: int, cols: int, device, dtype=torch.float64) -> torch.Tensor:
        buf = self.blocks.get((name, dtype))
        if buf is None or buf.shape[1] != cols or buf.shape[0] < rows or buf.device != device:
            buf = torch.empty(rows, cols, dtype=dtype, device=device)
            self.blocks[(name, dtype)] = buf
        return buf[:rows]


_WS = _Workspace()


def clear_workspace() -> None:
    """Free the cached scratch blocks of this thread."""
    _WS.blocks.clear()


def _cov_terms(dr: torch.Tensor, t: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Row sums of ``f(q) = 1/q + log q - 1`` at ``q = 1 + x``, ``x = t dr``, and of ``(x / q)^2``.

    ``f`` is evaluated as ``log1p(x) - x / (1 + x)``, accurate for small ``x`` in float64.
    dr: (n, A), t: (n,). Returns (c = sum_j f (n,), sum_j (x_j / q_j)^2 (n,)); the second is
    ``t dc/dt``.
    """
    n, a = dr.shape
    x = torch.mul(dr, t.unsqueeze(1), out=_WS.get("x", n, a, dr.device))
    y = torch.add(x, 1.0, out=_WS.get("y", n, a, dr.device))
    torch.div(x, y, out=y)
    torch.log1p(x, out=x).sub_(y)
    return x.sum(1), y.square_().sum(1)


def _initial_t(dr: torch.Tensor, two_bound: float) -> torch.Tensor:
    """Starting point for the root of ``c(t) = two_bound``, from the Taylor series of ``c``.

    ``f(1 + x) = x^2/2 - 2 x^3/3 + 3 x^4/4 - ...`` gives ``c(t) = (S2/2) t^2 (1 - P t + Q t^2 + ...)``
    with ``S_k = sum_j dr_j^k``, ``P = 4 S3 / (3 S2)``, ``Q = 3 S4 / (2 S2)``. Reverting
    ``t sqrt(1 - P t + Q t^2) = tau``, ``tau = sqrt(2 b / S2)`` (the quadratic-model root), gives
    ``t = tau + P tau^2 / 2 + (5 P^2 / 8 - Q / 2) tau^3 + O(tau^4)``. Falls back to ``tau`` when
    the correction is not small; clamped to (0, 1]. dr: (n, A). Returns (n,).
    """
    n, a = dr.shape
    p = torch.mul(dr, dr, out=_WS.get("x", n, a, dr.device))
    s2 = p.sum(1)
    s3 = torch.mul(p, dr, out=_WS.get("y", n, a, dr.device)).sum(1)
    s4 = p.square_().sum(1)
    tau = (two_bound / s2).mul_(2.0).sqrt_()
    pp = s3.div_(s2).mul_(4.0 / 3.0)
    corr = (pp * pp).mul_(0.625).sub_(s4.div_(s2), alpha=0.75).mul_(tau).add_(pp, alpha=0.5).mul_(tau)
    corr = torch.where(corr.abs() < 0.5, corr, 0.0)  # NaN (dr = 0 rows) also falls back here
    return tau.mul_(corr.add_(1.0)).clamp_(max=1.0).nan_to_num_(nan=1.0)


def _solve_t(dr: torch.Tensor, two_bound: float) -> torch.Tensor:
    """``t = 1 / (1 + eta_cov)`` for each row: the root in (0, 1) of ``c(t) = two_bound`` with
    ``c(t) = sum_j f(1 + t dr_j)`` (= 2 d_cov), or 1 where ``c(1) <= two_bound`` (inside).

    dr: (n, A) float64, ``(old_std / std)^2 - 1``. Returns t: (n,) float64.

    ``c`` increases on [0, 1] from 0 and ``sqrt(c)`` is almost linear in ``t`` (``c ~ t^2 |dr|^2
    / 2`` for small steps), so Newton's method is applied to ``sqrt(c) - sqrt(two_bound)``,
    starting from :func:`_initial_t` and safeguarded by bisection inside a bracket [lo, hi]
    kept per row. All rows are iterated together (no per-sample loop); solved rows are frozen.
    """
    t = _initial_t(dr, two_bound)
    lo = torch.zeros_like(t)
    hi = torch.ones_like(t)
    done = torch.zeros_like(t, dtype=torch.bool)
    sqrt_b = math.sqrt(two_bound)
    for _ in range(_MAX_ITERS):
        c, y2 = _cov_terms(dr, t)
        h = c - two_bound
        inside = (t >= 1.0) & (h <= 0)  # not violating at all: identity, t = 1
        done |= inside | (h.abs() <= _REL_TOL * two_bound)
        if bool(done.all()):
            break
        # Newton on g(t) = sqrt(c) - sqrt(b):  g' = c' / (2 sqrt c),  c' = sum y^2 / t
        sc = c.sqrt()
        step = (sc - sqrt_b) * 2.0 * sc * t / y2
        pos = h > 0
        hi = torch.where(pos, t, hi)
        lo = torch.where(pos, lo, t)
        newton = (t - step).clamp_(max=1.0)
        ok = (newton >= lo) & (newton <= hi)
        new_t = torch.where(ok, newton, 0.5 * (lo + hi))
        t = torch.where(done, t, new_t)
        # after a small Newton step the error is about its square (relative ~1e-9): stop here
        done |= ok & (step.abs() <= _ACCEPT_STEP * t)
        if bool(done.all()):
            break
    else:
        log.warning("TRPL covariance solve did not converge in %d iterations (max |2 KL - 2 bound| = %.3g)",
                    _MAX_ITERS, float(h.abs().max()))
    return t


def _keep_inactive(active: torch.Tensor, out: torch.Tensor, original: torch.Tensor) -> None:
    """Restore the rows of ``original`` (n, A) into ``out`` (n, A) where ``active`` (n,) is False.

    Inactive samples are returned bit-for-bit unchanged; skips the masked copy when all rows are
    active (the common case for a policy update) and copies everything when none is.
    """
    n_active = int(active.sum())
    if n_active == active.shape[0]:
        return
    if n_active == 0:
        out.copy_(original)
        return
    torch.where(active.unsqueeze(1), out, original, out=out)


def _row_chunks(n: int, rows: int):
    for start in range(0, n, rows):
        yield slice(start, min(n, start + rows))


class _Projection(torch.autograd.Function):
    """Both projections in one pass over row blocks; gradients computed by hand (see module doc).

    Inputs mean, std, old_mean, old_std: (B, A); bounds: floats. Outputs mean~ (B, A), std~ (B, A)
    in the input dtype, eta_mean (B,) and t = 1/(1 + eta_cov) (B,) in float64 (no gradient).
    """

    @staticmethod
    def forward(ctx, mean, std, old_mean, old_std, mean_bound, cov_bound):  # noqa: D401
        # Precision: the dual solve (cancellation-prone f(q) ~ x^2/2) always runs in float64;
        # the rest runs in the input dtype, whose rounding of the outputs dominates anyway.
        n, a = mean.shape
        dev, cd = mean.device, mean.dtype
        mean_out = torch.empty_like(mean)
        std_out = torch.empty_like(std)
        k_all = torch.empty(n, dtype=torch.float64, device=dev)  # 1 / (1 + eta_mean)
        t_all = torch.empty(n, dtype=torch.float64, device=dev)  # 1 / (1 + eta_cov)
        for sl in _row_chunks(n, _CHUNK_ROWS):
            m, s, om, os_ = mean[sl], std[sl], old_mean[sl], old_std[sl]
            rows = m.shape[0]
            ws = lambda name, dtype=cd: _WS.get(name, rows, a, dev, dtype)  # noqa: E731
            # mean: mu~ = mu_old + (mu - mu_old) k,  k = min(1, sqrt(bound / d_mean))
            diff = torch.sub(m, om, out=ws("d1"))
            d = torch.div(diff, os_, out=ws("d2")).square_().sum(1, dtype=torch.float64).mul_(0.5)
            k = (d / mean_bound).clamp_(min=1.0).rsqrt_()
            k_all[sl] = k
            out = mean_out[sl]
            torch.addcmul(om, diff, k.to(cd).unsqueeze(1), out=out)
            _keep_inactive(k < 1.0, out, m)
            # covariance: Lambda~ / Lambda_old = q = 1 + t (r - 1),  std~ = old_std / sqrt(q)
            dr = torch.div(os_, s, out=ws("d1")).square_().sub_(1.0)
            dr64 = dr if cd == torch.float64 else ws("dr", torch.float64).copy_(dr)
            t = _solve_t(dr64, 2.0 * cov_bound)
            t_all[sl] = t
            out = std_out[sl]
            torch.mul(dr, t.to(cd).unsqueeze(1), out=ws("d2")).add_(1.0).rsqrt_()
            torch.mul(ws("d2"), os_, out=out)
            _keep_inactive(t < 1.0, out, s)
        ctx.save_for_backward(mean, std, old_mean, old_std, k_all, t_all)
        eta_mean = k_all.reciprocal().sub_(1.0)  # k = 1 / (1 + eta_mean)
        ctx.mark_non_differentiable(eta_mean, t_all)
        return mean_out, std_out, eta_mean, t_all

    @staticmethod
    def backward(ctx, g_mean, g_std, _g_eta, _g_t):
        # gradients need no extra precision: computed in the input dtype
        mean, std, old_mean, old_std, k_all, t_all = ctx.saved_tensors
        need = ctx.needs_input_grad
        n, a = mean.shape
        dev, cd = mean.device, mean.dtype
        tiny = torch.finfo(cd).tiny
        do_mean = g_mean is not None and (need[0] or need[2] or need[3])
        do_cov = g_std is not None and (need[1] or need[3])
        # every row of a gradient is written below unless its output got no gradient at all
        written = (do_mean, do_cov, do_mean, do_mean or do_cov)
        grads = [(torch.empty_like(x) if written[i] else torch.zeros_like(x)) if need[i] else None
                 for i, x in enumerate((mean, std, old_mean, old_std))]
        for sl in _row_chunks(n, _CHUNK_ROWS):
            os_ = old_std[sl]
            rows = os_.shape[0]
            ws = lambda name: _WS.get(name, rows, a, dev, cd)  # noqa: E731
            g_old = None
            if do_mean:
                # mu~ = mu_old + diff k; active rows: k = sqrt(b / d), dk/dd = -k / (2 d),
                # d = 1/2 sum (diff / old_std)^2, so dL/ddiff = G k + c diff / old_std^2 with
                # c = -k (G . diff) / (2 d), and dL/dold_std = -c diff^2 / old_std^3 (0 if inactive).
                k = k_all[sl].to(cd)
                gm = g_mean[sl]
                diff = torch.sub(mean[sl], old_mean[sl], out=ws("d1"))
                d = torch.div(diff, os_, out=ws("d2")).square_().sum(1).mul_(0.5)
                gd = torch.mul(gm, diff, out=ws("d2")).sum(1)
                coef = torch.where(k < 1.0, -0.5 * k * gd / d.clamp(min=tiny), 0.0).unsqueeze(1)
                c_diff_var = torch.mul(diff, coef, out=ws("d2")).div_(os_).div_(os_)
                g_diff = torch.addcmul(c_diff_var, gm, k.unsqueeze(1), out=ws("x"))
                if need[0]:
                    grads[0][sl] = g_diff
                if need[2]:
                    torch.sub(gm, g_diff, out=grads[2][sl])
                if need[3]:
                    g_old = torch.mul(c_diff_var, diff, out=ws("go")).div_(os_).neg_()
            if do_cov:
                # std~ = old_std q^-1/2, q = 1 + t (r - 1), r = (old_std / std)^2. On active rows
                # t solves sum_j f(q_j) = 2 b, so sum_j f'(q_j) dq_j = 0 gives
                # dt = -t sum_j w_j dr_j / sum_j w_j (r_j - 1) with w = (r - 1) / q^2, hence
                # dL/dr = t (a - w (a . (r - 1)) / (w . (r - 1))), a = dL/dq = -1/2 G old_std q^-3/2.
                t = t_all[sl].to(cd)
                tc = t.unsqueeze(1)
                active = (t_all[sl] < 1.0).unsqueeze(1)
                s = std[sl]
                gs = g_std[sl]
                dr = torch.div(os_, s, out=ws("d1")).square_().sub_(1.0)
                q = torch.mul(dr, tc, out=ws("y")).add_(1.0)
                rq = torch.rsqrt(q, out=ws("x"))
                ga = torch.div(rq, q, out=ws("q")).mul_(os_).mul_(gs).mul_(-0.5)
                w = q.reciprocal_().square_().mul_(dr)
                num = torch.mul(ga, dr, out=ws("d2")).sum(1, keepdim=True)
                den = torch.mul(w, dr, out=ws("d2")).sum(1, keepdim=True).clamp_(min=tiny)
                g_r = torch.addcmul(ga, w, num / den, value=-1.0, out=w).mul_(tc)
                g_r.mul_(dr.add_(1.0))  # times r: dr/dstd = -2 r / std, dr/dold_std = 2 r / old_std
                if need[1]:
                    gstd = torch.div(g_r, s, out=ws("d2")).mul_(-2.0)
                    torch.where(active, gstd, gs, out=grads[1][sl])
                if need[3]:
                    # direct term: dstd~/dold_std = q^-1/2
                    g_cov = rq.mul_(gs).addcdiv_(g_r, os_, value=2.0)
                    g_cov.masked_fill_(~active, 0.0)
                    g_old = g_cov if g_old is None else g_old.add_(g_cov)
            if need[3] and g_old is not None:
                grads[3][sl] = g_old
        return (*grads, None, None)


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

    mean, std, old_mean, old_std: (B, A) tensors of one dtype (std > 0). Differentiable with
    respect to all four (``old_*`` are normally constants: pass them detached, which also skips
    their gradient work). Processed in blocks of rows; the 1-D dual is solved in float64, the
    rest in the input dtype, which is also the output dtype.
    Afterwards ``mean_kl(mean~, old_mean, old_std) <= mean_bound`` and ``cov_kl(std~, old_std)
    <= cov_bound`` for every sample (to ~1e-9 relative in float64; float32 outputs carry their
    own rounding, ~1e-5 relative in the KL at small bounds). Samples already inside a bound are
    returned unchanged (bit-identical) with multiplier 0.

    Returns :class:`ProjectionResult` (mean (B, A), std (B, A), eta_mean (B,), eta_cov (B,)).
    The multipliers carry no gradient. Raises ValueError on bad shapes, NaN/inf, non-positive
    std or bounds (``validate=False`` skips the value scans).
    """
    mean_bound = _check_bound("mean_bound", mean_bound)
    cov_bound = _check_bound("cov_bound", cov_bound)
    _check_shapes(mean, std, old_mean, old_std)
    if validate:
        _check_values(mean, std, old_mean, old_std)
    dtype = torch.promote_types(torch.promote_types(mean.dtype, std.dtype),
                                torch.promote_types(old_mean.dtype, old_std.dtype))
    args = [x.to(dtype) for x in (mean, std, old_mean, old_std)]
    mean_p, std_p, eta_mean, t = _Projection.apply(*args, mean_bound, cov_bound)
    eta_cov = t.reciprocal().sub_(1.0)
    return ProjectionResult(mean_p, std_p, eta_mean.to(dtype), eta_cov.to(dtype))


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
