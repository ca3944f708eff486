"""Benchmark: TRPL projection forward + backward at the paper's batch (41k samples, 23-dim action).

Run from the repository root:  .venv/bin/python bench/trpl.py [--samples 41000] [--repeats 21]

Side by side, on the same random batch (float32 network outputs, state-dependent std, paper
bounds mean 2.51e-4 / cov 1.82e-4):
  * ``newton``    - :func:`trirl_ros.core.algo.trpl.project_gaussian` (the library path)
  * ``bisection`` - the same covariance dual solved by plain vectorised bisection (60 halvings),
                    forward only (one run), as a reference for what the Newton solver saves
  * ``inside``    - a batch that is already inside the trust region (no solve needed)
Wall time (median, min and max over the repeats; the machine is shared, so look at the spread
and the load average printed), this thread's CPU time, and the single-core CPU time with one
torch thread. Target: forward <= 20 ms.
Last line: ``forward_ms <median> backward_ms <median>`` of the ``newton`` row.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

import torch

from trirl_ros.core.algo import trpl


def _batch(samples: int, dim: int, seed: int, step: float):
    g = torch.Generator().manual_seed(seed)
    old_mean = torch.randn(samples, dim, generator=g)
    old_std = 0.2 + 0.5 * torch.rand(samples, dim, generator=g)
    mean = old_mean + step * 0.5 * torch.randn(samples, dim, generator=g)
    std = old_std * torch.exp(step * torch.randn(samples, dim, generator=g))
    weights = torch.randn(samples, dim, generator=g), torch.randn(samples, dim, generator=g)
    return mean, std, old_mean, old_std, weights


def _bisection_forward(mean, std, old_mean, old_std, mean_bound, cov_bound, iters=60):
    """Reference covariance solve: bisection on t = 1/(1+eta) in float64 for all rows."""
    dr = (old_std.double() / std.double()).square() - 1.0
    lo = torch.zeros(dr.shape[0], dtype=torch.float64)
    hi = torch.ones_like(lo)
    for _ in range(iters):
        mid = 0.5 * (lo + hi)
        x = dr * mid.unsqueeze(1)
        c = (torch.log1p(x) - x / (1.0 + x)).sum(1)
        over = c > 2.0 * cov_bound
        hi = torch.where(over, mid, hi)
        lo = torch.where(over, lo, mid)
    return hi


def _time(fn, repeats: int):
    wall, cpu = [], []
    for _ in range(repeats):
        c0, t0 = time.thread_time(), time.perf_counter()
        fn()
        wall.append((time.perf_counter() - t0) * 1e3)
        cpu.append((time.thread_time() - c0) * 1e3)
    return wall, cpu


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=41000)
    parser.add_argument("--dim", type=int, default=23)
    parser.add_argument("--repeats", type=int, default=21)
    parser.add_argument("--mean-bound", type=float, default=2.51e-4)
    parser.add_argument("--cov-bound", type=float, default=1.82e-4)
    args = parser.parse_args()
    mb, cb = args.mean_bound, args.cov_bound

    mean, std, old_mean, old_std, (w1, w2) = _batch(args.samples, args.dim, 0, 0.1)
    mean.requires_grad_(True)
    std.requires_grad_(True)
    state = {}

    def fwd():
        state["r"] = trpl.project_gaussian(mean, std, old_mean, old_std, mb, cb)

    def bwd():
        r = state["r"]
        ((r.mean * w1).sum() + (r.std * w2).sum()).backward()
        mean.grad = std.grad = None

    for _ in range(3):  # warm-up (workspace allocation, first-touch page faults)
        fwd()
        bwd()
    fwd_wall, fwd_cpu, bwd_wall, bwd_cpu = [], [], [], []
    for _ in range(args.repeats):
        w, c = _time(fwd, 1)
        fwd_wall += w
        fwd_cpu += c
        w, c = _time(bwd, 1)
        bwd_wall += w
        bwd_cpu += c
    active = float((state["r"].eta_cov > 0).float().mean())

    det = [x.detach() for x in (mean, std, old_mean, old_std)]
    bis_wall, bis_cpu = _time(lambda: _bisection_forward(*det, mb, cb), 1)
    t_bis = _bisection_forward(*det, mb, cb)
    eta_ref = 1.0 / t_bis - 1.0
    eta_err = float(((state["r"].eta_cov.double() - eta_ref).abs() / eta_ref.clamp(min=1e-12)).max())

    ins = _batch(args.samples, args.dim, 1, 1e-4)[:4]
    ins_wall, ins_cpu = _time(lambda: trpl.project_gaussian(*ins, mb, cb), args.repeats)

    # single-core cost: this thread's CPU time with one torch thread (less sensitive to other
    # processes than wall time on a shared machine)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    one_fwd, one_bwd = [], []
    for _ in range(args.repeats):
        one_fwd += _time(fwd, 1)[1]
        one_bwd += _time(bwd, 1)[1]
    torch.set_num_threads(threads)

    def row(name, wall, cpu):
        return (f"{name:<22}{statistics.median(wall):>9.2f}{min(wall):>9.2f}{max(wall):>9.2f}"
                f"{statistics.median(cpu):>10.2f}")

    print(f"TRPL projection, {args.samples} samples x {args.dim} dims, float32 inputs, "
          f"torch threads {torch.get_num_threads()}, bounds mean {mb:g} cov {cb:g}")
    print(f"active rows: {active:.3f}; max relative |eta_cov(newton, float32 out) - eta_cov(bisection)| = {eta_err:.2e}")
    print(f"{'case':<22}{'med ms':>9}{'min ms':>9}{'max ms':>9}{'cpu ms':>10}")
    print(row("newton forward", fwd_wall, fwd_cpu))
    print(row("newton backward", bwd_wall, bwd_cpu))
    print(row("bisection forward (1)", bis_wall, bis_cpu))
    print(row("inside forward", ins_wall, ins_cpu))
    print(f"single core (1 torch thread, CPU time): forward {statistics.median(one_fwd):.2f} ms "
          f"(min {min(one_fwd):.2f}), backward {statistics.median(one_bwd):.2f} ms (min {min(one_bwd):.2f})")
    with open("/proc/loadavg") as fh:
        print(f"load average while measuring: {fh.read().split()[0]} on {os.cpu_count()} CPUs")
    f_med, b_med = statistics.median(fwd_wall), statistics.median(bwd_wall)
    print(f"ratio bisection/newton forward: {statistics.median(bis_wall) / f_med:.1f}x; "
          f"forward target 20 ms: {'met' if f_med <= 20.0 else 'NOT met'} "
          f"(wall spread {min(fwd_wall):.1f}-{max(fwd_wall):.1f} ms on a shared machine)")
    print(f"forward_ms {f_med:.2f} backward_ms {b_med:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
