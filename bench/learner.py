"""Learner time per iteration: TRIRL (full buffer, k = 100) vs GAIL at equal batch.

Both agents use their config/algo YAML (robot-scale networks) on the same synthetic rollout of
N envs x horizon steps with Go2-sized observations (42) and actions (12); no simulator is
involved, only ``agent.update``. TRIRL's buffer is pre-filled to capacity so every iteration
pays for evaluating all k discriminators (one vmapped call), R_fit fitting and the TRPL
projection. Prints per-algorithm medians, the ratio with each algorithm's own YAML (TRIRL trains its
discriminator for 30 epochs, GAIL for 5) and, as the last line ``ratio <value>``, the ratio at
equal batch and equal discriminator epochs (TRIRL's own overhead).

    python bench/learner.py [--envs 256] [--iters 3] [--threads 2]
"""

from __future__ import annotations

import argparse
import statistics
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
    obs = torch.randn(n, OBS, generator=g)
    for t in range(agent.storage.T):
        a = agent.act(obs)
        nxt = obs + 0.1 * torch.randn(n, OBS, generator=g)
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


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--envs", type=int, default=256, help="parallel envs (batch = envs x horizon)")
    p.add_argument("--iters", type=int, default=3, help="timed iterations per algorithm")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--set", dest="overrides", action="append", default=[], help="override for both")
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    cfg = load_algo_config("trirl")
    epochs = cfg.disc.epochs
    res = {}
    # (a) each algorithm with its own YAML (GAIL: 5 discriminator epochs, TRIRL: 30, as in C.5);
    # (b) equal batch AND equal discriminator epochs: what TRIRL itself adds (buffer of k
    #     discriminators, R_fit regression, TRPL projection)
    specs = [("gail", "own config", []), ("trirl", "own config", []),
             ("gail", f"disc.epochs={epochs}", [f"disc.epochs={epochs}"])]
    times = time_interleaved([(n, [*args.overrides, *ov]) for n, _, ov in specs], args.envs, args.iters)
    for (name, label, _), t in zip(specs, times):
        res[(name, label)] = statistics.median(t)
        print(f"{name:6s} ({label:14s}) learner s/iter: median {statistics.median(t):.3f} "
              f"(runs {', '.join(f'{x:.3f}' for x in t)})", flush=True)
    print(f"batch {args.envs} envs x {cfg.ppo.horizon} steps, k = {cfg.trirl.buffer_size}, "
          f"threads {args.threads}")
    own = res[("trirl", "own config")] / res[("gail", "own config")]
    equal = res[("trirl", "own config")] / res[("gail", f"disc.epochs={epochs}")]
    print(f"ratio with own configs (30 vs 5 discriminator epochs): {own:.3f}")
    print(f"ratio {equal:.3f}")


if __name__ == "__main__":
    main()
