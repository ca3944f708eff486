"""Learner time per iteration and peak memory: TRIRL (full buffer, k = 100 and k = 20) vs GAIL.

Both agents use their config/algo YAML (robot-scale networks) on the same synthetic rollout of
N envs x horizon steps with Go2-sized observations (42) and actions (12); no simulator is
involved, only ``agent.update``. TRIRL's buffer is pre-filled to capacity so every iteration
pays for evaluating all k discriminators, R_fit fitting and the TRPL projection. Prints
per-algorithm medians, the ratio with each algorithm's own YAML (TRIRL trains its discriminator
for 30 epochs, GAIL for 5), ``ratio k=<k> <value>`` at equal batch and equal discriminator epochs
(TRIRL's own overhead) for every k, the peak RSS of a TRIRL (k = 100) process beside a GAIL one
(``rss_ratio``) and, as the last line, ``ratio <value>`` for k = 100.

``--threads`` is torch's intra-op thread count, 1 by default as in training (TaskConfig.torch_threads:
MuJoCo's threads own the other core during rollouts). TRIRL's learner uses the second core with a
worker thread (trirl_ros/core/algo/trirl_reward.py); GAIL has nothing to put there.

    python bench/learner.py [--envs 256] [--iters 3] [--threads 1] [--ks 100,20] [--no-rss | --rss-only]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time

import torch

from trirl_ros.core.algo.agent import make_agent
from trirl_ros.core.algo.hparams import load_algo_config
from trirl_ros.core.algo.transitions import Transitions
from trirl_ros.core.config import with_overrides
from trirl_ros.core.seeding import seed_everything

OBS, ACT = 42, 12


def fill(agent, g: torch.Generator) -> None:
    """One synthetic rollout into the agent's storage (random walk observations)."""
    n = agent.num_envs
    obs = torch.randn(n, agent.obs_dim, generator=g)
    for t in range(agent.storage.T):
        a = agent.act(obs)
        nxt = obs + 0.1 * torch.randn(n, agent.obs_dim, generator=g)
        term = torch.rand(n, generator=g) < 0.002
        trunc = torch.zeros(n, dtype=torch.bool)
        agent.process_step(obs, a, nxt, torch.zeros(n), term, trunc, nxt)
        obs = nxt


def build(name: str, envs: int, overrides: list[str]):
    """Agent for ``name`` (TRIRL's buffer pre-filled to capacity) and its data generator."""
    seed_everything(0)
    cfg = with_overrides(load_algo_config(name), overrides)
    agent = make_agent(cfg, OBS, ACT, envs, seed=0)
    if name == "trirl":
        buf = agent.learner.buffer
        while len(buf) < buf.capacity:
            buf.push(agent.learner.disc, 0.1, agent.learner.rfit)
    return agent, torch.Generator().manual_seed(0)


def time_interleaved(specs, envs: int, iters: int) -> list[list[float]]:
    """Learner seconds per iteration for each (name, overrides) spec, measured in turns
    (one iteration of each agent per round) so load changes on a shared machine hit all alike."""
    g = torch.Generator().manual_seed(1)
    expert = Transitions(torch.randn(20000, OBS, generator=g), torch.randn(20000, OBS, generator=g))
    agents = [build(name, envs, ov) for name, ov in specs]
    times = [[] for _ in specs]
    for r in range(iters + 1):
        for k, (agent, gen) in enumerate(agents):
            fill(agent, gen)
            t0 = time.perf_counter()
            agent.update(expert)
            if r > 0:  # round 0 is a warm-up (allocations, lazy init)
                times[k].append(time.perf_counter() - t0)
    return times


def peak_rss_mb(name: str, envs: int, overrides: list[str], threads: int) -> float:
    """Peak resident memory (MB) of a fresh process that builds ``name`` and runs two updates."""
    cmd = [sys.executable, __file__, "--rss", name, "--envs", str(envs), "--threads", str(threads)]
    for ov in overrides:
        cmd += ["--set", ov]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    return float(out.strip().splitlines()[-1].split()[-1])


def rss_child(name: str, envs: int, overrides: list[str]) -> None:
    """The ``--rss`` process: two updates, then its own peak RSS: VmHWM of /proc/self/status (the
    high-water mark of this process's memory; ru_maxrss would carry the parent's over exec)."""
    g = torch.Generator().manual_seed(1)
    expert = Transitions(torch.randn(20000, OBS, generator=g), torch.randn(20000, OBS, generator=g))
    agent, gen = build(name, envs, overrides)
    for _ in range(2):
        fill(agent, gen)
        agent.update(expert)
    with open("/proc/self/status") as f:
        kb = next(int(line.split()[1]) for line in f if line.startswith("VmHWM:"))
    print(f"peak_rss_mb {kb / 1024:.1f}")


def print_rss(args, k: int, epochs: int) -> None:
    trirl_mb = peak_rss_mb("trirl", args.envs, [*args.overrides, f"trirl.buffer_size={k}"], args.threads)
    gail_mb = peak_rss_mb("gail", args.envs, [*args.overrides, f"disc.epochs={epochs}"], args.threads)
    print(f"peak RSS trirl k={k} {trirl_mb:.0f} MB, gail {gail_mb:.0f} MB, rss_ratio {trirl_mb / gail_mb:.2f}")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--envs", type=int, default=256, help="parallel envs (batch = envs x horizon)")
    p.add_argument("--iters", type=int, default=3, help="timed iterations per algorithm")
    p.add_argument("--threads", type=int, default=1, help="torch intra-op threads (training uses 1)")
    p.add_argument("--ks", default="100,20", help="TRIRL buffer sizes to time (the first one is `ratio`)")
    p.add_argument("--no-rss", action="store_true", help="skip the peak-memory comparison")
    p.add_argument("--rss-only", action="store_true", help="only the peak-memory comparison")
    p.add_argument("--rss", help=argparse.SUPPRESS)  # internal: the child process of peak_rss_mb
    p.add_argument("--set", dest="overrides", action="append", default=[], help="override for both")
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    if args.rss:
        rss_child(args.rss, args.envs, args.overrides)
        return
    cfg = load_algo_config("trirl")
    epochs = cfg.disc.epochs
    ks = [int(k) for k in args.ks.split(",")]
    if args.rss_only:
        print_rss(args, ks[0], epochs)
        return
    # (a) each algorithm with its own YAML (GAIL: 5 discriminator epochs, TRIRL: 30, as in C.5);
    # (b) equal batch AND equal discriminator epochs: what TRIRL itself adds (buffer of k
    #     discriminators, R_fit regression, TRPL projection)
    specs = [("gail", "own config", []), ("gail", f"disc.epochs={epochs}", [f"disc.epochs={epochs}"])]
    specs += [("trirl", f"k={k}", [f"trirl.buffer_size={k}"]) for k in ks]
    times = time_interleaved([(n, [*args.overrides, *ov]) for n, _, ov in specs], args.envs, args.iters)
    res = {}
    for (name, label, _), t in zip(specs, times):
        res[(name, label)] = statistics.median(t)
        print(f"{name:6s} ({label:14s}) learner s/iter: median {statistics.median(t):.3f} "
              f"(runs {', '.join(f'{x:.3f}' for x in t)})", flush=True)
    print(f"batch {args.envs} envs x {cfg.ppo.horizon} steps, threads {args.threads}")
    gail = res[("gail", f"disc.epochs={epochs}")]
    print(f"ratio with own configs (k={ks[0]}, 30 vs 5 discriminator epochs): "
          f"{res[('trirl', f'k={ks[0]}')] / res[('gail', 'own config')]:.3f}")
    for k in ks:
        print(f"ratio k={k} {res[('trirl', f'k={k}')] / gail:.3f}")
    if not args.no_rss:
        print_rss(args, ks[0], epochs)
    print(f"ratio {res[('trirl', f'k={ks[0]}')] / gail:.3f}")


if __name__ == "__main__":
    main()
