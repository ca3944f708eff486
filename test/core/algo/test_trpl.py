"""TRPL KL projection: bounds, identity inside, multipliers vs. brute force, gradients, hand cases."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from trirl_ros.core.algo.trpl import (
    cov_kl,
    mean_kl,
    per_state_eta,
    policy_eta,
    project_gaussian,
    trust_region_loss,
)

F64 = torch.float64


def _random_batch(seed, b=256, a=7, mean_scale=0.3, log_std_scale=0.4):
    g = torch.Generator().manual_seed(seed)
    old_mean = torch.randn(b, a, generator=g, dtype=F64)
    old_std = torch.exp(0.5 * torch.randn(b, a, generator=g, dtype=F64))
    # per-sample step sizes spanning tiny to large changes, so some rows are inside the region
    size = torch.exp(torch.empty(b, 1, dtype=F64).uniform_(-6.0, 0.5, generator=g))
    mean = old_mean + mean_scale * size * old_std * torch.randn(b, a, generator=g, dtype=F64)
    std = old_std * torch.exp(log_std_scale * size * torch.randn(b, a, generator=g, dtype=F64))
    return mean, std, old_mean, old_std


@pytest.mark.parametrize("seed,mean_bound,cov_bound", [(0, 2.5e-4, 1.8e-4), (1, 5e-3, 4e-3), (2, 0.05, 0.1)])
def test_projected_kl_within_bounds_and_on_boundary_when_active(seed, mean_bound, cov_bound):
    mean, std, old_mean, old_std = _random_batch(seed)
    res = project_gaussian(mean, std, old_mean, old_std, mean_bound, cov_bound)
    km = mean_kl(res.mean, old_mean, old_std)
    kc = cov_kl(res.std, old_std)
    assert bool((km <= mean_bound * (1 + 1e-6)).all()), float(km.max() / mean_bound)
    assert bool((kc <= cov_bound * (1 + 1e-6)).all()), float(kc.max() / cov_bound)
    # the batch must exercise both cases, and active samples sit exactly on the boundary
    act_m = mean_kl(mean, old_mean, old_std) > mean_bound
    act_c = cov_kl(std, old_std) > cov_bound
    assert 0 < int(act_m.sum()) < len(act_m) and 0 < int(act_c.sum()) < len(act_c)
    torch.testing.assert_close(km[act_m], torch.full_like(km[act_m], mean_bound), rtol=1e-6, atol=0)
    torch.testing.assert_close(kc[act_c], torch.full_like(kc[act_c], cov_bound), rtol=1e-6, atol=0)
    assert bool((res.eta_mean[act_m] > 0).all()) and bool((res.eta_mean[~act_m] == 0).all())
    assert bool((res.eta_cov[act_c] > 0).all()) and bool((res.eta_cov[~act_c] == 0).all())


def test_unchanged_when_already_inside():
    mean, std, old_mean, old_std = _random_batch(3, mean_scale=1e-4, log_std_scale=1e-4)
    res = project_gaussian(mean, std, old_mean, old_std, 1e-3, 1e-3)
    assert torch.equal(res.mean, mean)
    assert torch.equal(res.std, std)
    assert not bool(res.eta_mean.any()) and not bool(res.eta_cov.any())
    assert policy_eta(res) == 0.0


def _bisect(fn, lo, hi, iters=200):
    """Root of a decreasing function on [lo, hi] by plain bisection (numpy scalars)."""
    for _ in range(iters):
        mid = 0.5 * (lo + hi)
        if fn(mid) > 0:
            lo = mid
        else:
            hi = mid
    return 0.5 * (lo + hi)


def test_multipliers_equal_brute_force_1d_solve():
    mean, std, old_mean, old_std = _random_batch(4, b=40, a=5)
    mb, cb = 1e-3, 2e-3
    res = project_gaussian(mean, std, old_mean, old_std, mb, cb)
    m, s, om, os_ = (x.numpy() for x in (mean, std, old_mean, old_std))
    for i in range(m.shape[0]):
        # covariance: KL(N(., Sigma~(eta)) || N(., Sigma_old)) with Lambda~ = (Lambda + eta Lambda_old)/(1+eta)
        lam, lam_old = 1.0 / s[i] ** 2, 1.0 / os_[i] ** 2

        def cov_violation(eta):
            var = (1.0 + eta) / (lam + eta * lam_old)
            return 0.5 * np.sum(np.log(os_[i] ** 2 / var) + var / os_[i] ** 2 - 1.0) - cb

        if cov_violation(0.0) > 0:
            want_c = _bisect(cov_violation, 0.0, 1e8)
        else:
            want_c = 0.0

        def mean_violation(eta):
            mu = (m[i] + eta * om[i]) / (1.0 + eta)
            return 0.5 * np.sum(((mu - om[i]) / os_[i]) ** 2) - mb

        want_m = _bisect(mean_violation, 0.0, 1e8) if mean_violation(0.0) > 0 else 0.0
        assert res.eta_cov[i].item() == pytest.approx(want_c, rel=1e-7, abs=1e-9), i
        assert res.eta_mean[i].item() == pytest.approx(want_m, rel=1e-7, abs=1e-9), i
    assert ((res.eta_cov > 0).sum() > 5) and ((res.eta_cov == 0).sum() > 5)


def test_hand_computed_mean_projection():
    # d_mean = 1/2 (3^2 + 4^2) / 2^2 = 3.125; bound 0.125 -> eta = sqrt(3.125/0.125) - 1 = 4,
    # mu~ = (mu + 4 * 0) / 5 = (0.6, 0.8)
    mean = torch.tensor([[3.0, 4.0]], dtype=F64)
    old = torch.zeros_like(mean)
    std = old_std = torch.full_like(mean, 2.0)
    res = project_gaussian(mean, std, old, old_std, 0.125, 1.0)
    torch.testing.assert_close(res.mean, torch.tensor([[0.6, 0.8]], dtype=F64), rtol=0, atol=1e-15)
    assert res.eta_mean.item() == pytest.approx(4.0, abs=1e-12)
    assert torch.equal(res.std, std)


def test_hand_computed_cov_projection():
    # 1-D: precision ratio r = Lambda/Lambda_old = 5 (std = 1/sqrt 5, old std = 1). With eta = 3 the
    # interpolated precision ratio is (5 + 3)/(1 + 3) = 2, whose KL to the old is 1/2 (1/2 + ln 2 - 1).
    bound = 0.5 * (0.5 + math.log(2.0) - 1.0)
    std = torch.tensor([[1.0 / math.sqrt(5.0)]], dtype=F64)
    old_std = torch.ones_like(std)
    zeros = torch.zeros_like(std)
    res = project_gaussian(zeros, std, zeros, old_std, 1.0, bound)
    assert res.eta_cov.item() == pytest.approx(3.0, rel=1e-9)
    assert res.std.item() == pytest.approx(1.0 / math.sqrt(2.0), rel=1e-9)
    assert policy_eta(res) == pytest.approx(3.0, rel=1e-9)


def _grad_inputs(seed, b=6, a=3):
    mean, std, old_mean, old_std = _random_batch(seed, b=b, a=a, mean_scale=0.2, log_std_scale=0.5)
    # rows 0-2 far outside both bounds, rows 3-5 well inside: both branches are checked
    mean[3:] = old_mean[3:] + 1e-3 * old_std[3:]
    std[3:] = old_std[3:] * 1.001
    mean[:3] = old_mean[:3] + 0.5 * old_std[:3]
    std[:3] = old_std[:3] * torch.tensor([1.6, 0.7, 1.3], dtype=F64)
    return [x.clone().requires_grad_(True) for x in (mean, std, old_mean, old_std)]


def test_gradients_match_finite_differences_active_and_inactive():
    inputs = _grad_inputs(5)
    mb, cb = 1e-2, 1e-2
    res = project_gaussian(*[x.detach() for x in inputs], mb, cb)
    assert bool((res.eta_mean[:3] > 0).all() and (res.eta_cov[:3] > 0).all())
    assert not bool(res.eta_mean[3:].any() or res.eta_cov[3:].any())

    def fn(m, s, om, os_):
        r = project_gaussian(m, s, om, os_, mb, cb)
        return r.mean, r.std

    assert torch.autograd.gradcheck(fn, inputs, eps=1e-6, atol=1e-7, rtol=1e-5)


def test_gradient_inside_is_identity_and_float32_roundtrip():
    m, s, om, os_ = _grad_inputs(6)
    r = project_gaussian(m[3:], s[3:], om[3:].detach(), os_[3:].detach(), 1e-2, 1e-2)
    (r.mean.sum() + 2.0 * r.std.sum()).backward()
    torch.testing.assert_close(m.grad[3:], torch.ones_like(m[3:]))
    torch.testing.assert_close(s.grad[3:], torch.full_like(s[3:], 2.0))
    r32 = project_gaussian(*(x.detach().float() for x in (m, s, om, os_)), 1e-2, 1e-2)
    assert r32.mean.dtype == torch.float32 and r32.std.dtype == torch.float32
    assert r32.eta_cov.shape == (6,) and r32.eta_mean.shape == (6,)


def test_policy_eta_is_batch_max_of_both_multipliers():
    mean, std, old_mean, old_std = _random_batch(7)
    res = project_gaussian(mean, std, old_mean, old_std, 1e-3, 1e-3)
    want = max(res.eta_mean.max().item(), res.eta_cov.max().item())
    assert policy_eta(res) == pytest.approx(want)
    torch.testing.assert_close(per_state_eta(res), torch.maximum(res.eta_mean, res.eta_cov))


def test_trust_region_loss_hand_value_and_gradient_only_to_network():
    mean = torch.tensor([[3.0, 4.0]], dtype=F64, requires_grad=True)
    std = torch.ones(1, 2, dtype=F64, requires_grad=True)
    proj_mean = torch.tensor([[0.6, 0.8]], dtype=F64, requires_grad=True)
    proj_std = torch.ones(1, 2, dtype=F64, requires_grad=True)
    loss = trust_region_loss(proj_mean, proj_std, mean, std)
    assert loss.item() == pytest.approx(0.5 * (2.4**2 + 3.2**2))  # = 8
    loss.backward()
    assert proj_mean.grad is None and proj_std.grad is None
    torch.testing.assert_close(mean.grad, torch.tensor([[2.4, 3.2]], dtype=F64))
    same = trust_region_loss(mean.detach(), std.detach(), mean, std)
    assert same.item() == 0.0


@pytest.mark.parametrize(
    "change,match",
    [
        (lambda t: t[0].__setitem__((0, 0), float("nan")), "mean contains NaN"),
        (lambda t: t[1].__setitem__((1, 2), -0.1), "std must be strictly positive"),
        (lambda t: t[3].__setitem__((0, 1), float("inf")), "old_std contains NaN or inf"),
    ],
)
def test_bad_inputs_raise_naming_the_problem(change, match):
    tensors = list(_random_batch(8, b=4, a=3))
    change(tensors)
    with pytest.raises(ValueError, match=match):
        project_gaussian(*tensors, 1e-3, 1e-3)


def test_bad_shape_and_bound_raise():
    mean, std, old_mean, old_std = _random_batch(9, b=4, a=3)
    with pytest.raises(ValueError, match="std has shape"):
        project_gaussian(mean, std[:, :2], old_mean, old_std, 1e-3, 1e-3)
    with pytest.raises(ValueError, match="cov_bound must be a finite positive"):
        project_gaussian(mean, std, old_mean, old_std, 1e-3, 0.0)


def test_row_blocks_give_the_same_result_and_inputs_are_not_modified(monkeypatch):
    import trirl_ros.core.algo.trpl as trpl

    inputs = _random_batch(10, b=23, a=4)
    copies = [x.clone() for x in inputs]
    whole = project_gaussian(*inputs, 1e-3, 1e-3)
    monkeypatch.setattr(trpl, "_CHUNK_ROWS", 5)  # 23 rows -> blocks of 5 and a remainder of 3
    blocked = project_gaussian(*inputs, 1e-3, 1e-3)
    for a, b in zip(whole, blocked):
        torch.testing.assert_close(a, b, rtol=1e-12, atol=0)
    for x, c in zip(inputs, copies):
        assert torch.equal(x, c)
    # gradients through the blocked path equal the single-block ones
    m, s = (inputs[0].clone().requires_grad_(), inputs[1].clone().requires_grad_())
    w = torch.randn(23, 4, dtype=F64, generator=torch.Generator().manual_seed(0))
    r = project_gaussian(m, s, inputs[2], inputs[3], 1e-3, 1e-3)
    g_blocked = torch.autograd.grad((r.mean * w).sum() + (r.std * w).sum(), (m, s))
    monkeypatch.setattr(trpl, "_CHUNK_ROWS", 4096)
    r = project_gaussian(m, s, inputs[2], inputs[3], 1e-3, 1e-3)
    g_whole = torch.autograd.grad((r.mean * w).sum() + (r.std * w).sum(), (m, s))
    for a, b in zip(g_blocked, g_whole):
        torch.testing.assert_close(a, b, rtol=1e-12, atol=1e-15)


def test_gradcheck_with_detached_old_policy_and_single_outputs():
    m, s, om, os_ = _grad_inputs(11)
    om, os_ = om.detach(), os_.detach()
    assert torch.autograd.gradcheck(lambda a, b: project_gaussian(a, b, om, os_, 1e-2, 1e-2).std, (m, s))
    assert torch.autograd.gradcheck(lambda a, b: project_gaussian(a, b, om, os_, 1e-2, 1e-2).mean, (m, s))


def test_float32_gradients_agree_with_float64():
    m, s, om, os_ = (x.detach() for x in _grad_inputs(12))
    w = torch.randn(6, 3, dtype=F64, generator=torch.Generator().manual_seed(1))
    grads = []
    for dtype in (F64, torch.float32):
        mm, ss = m.to(dtype).requires_grad_(), s.to(dtype).requires_grad_()
        r = project_gaussian(mm, ss, om.to(dtype), os_.to(dtype), 1e-2, 1e-2)
        grads.append(torch.autograd.grad((r.mean * w.to(dtype)).sum() + (r.std * w.to(dtype)).sum(), (mm, ss)))
    for g64, g32 in zip(*grads):
        torch.testing.assert_close(g32.double(), g64, rtol=1e-4, atol=1e-5)
