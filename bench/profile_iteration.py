"""Where one training iteration's wall clock goes, on the main thread, and the loop against the raw env.

    .venv/bin/python bench/profile_iteration.py --task go2_trot [--algo trirl] [--iters 40] [--set key=value ...]

Runs ``--iters`` iterations of the task's training loop (its preset: envs, MuJoCo threads, torch
threads) under cProfile and prints, per iteration, the seconds and share of each phase on the main
thread: MuJoCo physics, the env step with its Python (observations, resets), the policy's actions and
storage, the discriminator's training, the buffered networks and the R_fit regression (TRIRL's
worker thread runs most of them beside the main thread, where they cost nothing on the critical
path), the policy step; then one evaluation, timed on its own and spread over ``eval.every_iters``
iterations. The loop's env steps/s (training iterations + that evaluation share; cProfile's
overhead included, a few percent) is compared with the raw env's (zero actions, same envs and
threads; trirl_ros.core.envs.throughput). Last line: ``profile loop_steps_per_s <v> raw_env_steps_per_s <v> loop_vs_env <ratio>``.
"""

from __future__ import annotations

import argparse
import cProfile
import dataclasses
import logging
import pstats
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

# (label, file suffix, function name): cumulative time of that function on the main thread
PHASES = [
    ("physics (mujoco.rollout)", "~", "<built-in method mujoco._rollout.rollout>"),
    ("env step (physics + its Python)", "envs/locomotion.py", "step"),
    ("policy actions", "algo/agent.py", "act"),
    ("rollout storage", "algo/agent.py", "process_step"),
    ("discriminator training", "algo/discriminator.py", "train_classifier"),
    ("buffered discriminators, main thread", "algo/reward_buffer.py", "logits"),
    ("R_fit regression, main thread", "algo/trirl_reward.py", "_fit_rfit"),
    ("policy step (PPO / TRPL)", "algo/ppo.py", "update"),
]


def cumulative(stats: pstats.Stats, suffix: str, name: str) -> float:
    """Summed cumulative seconds of the functions matching (file suffix, name)."""
    total = 0.0
    for (file, _line, func), (_cc, _nc, _tt, ct, _callers) in stats.stats.items():
        if func == name and (file.endswith(suffix) or (suffix == "~" and file == "~")):
            total += ct
    return total


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--task", default="go2_trot", help="config/tasks/<task>.yaml (or a YAML path)")
    p.add_argument("--algo", default="trirl")
    p.add_argument("--iters", type=int, default=40, help="profiled iterations (after 3 warm-up ones)")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE")
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    from trirl_ros.core.config import config_path
    from trirl_ros.core.envs.throughput import measure
    from trirl_ros.core.train.run import TrainingRun
    from trirl_ros.core.train.task import load_task_config

    task = Path(args.task) if args.task.endswith((".yaml", ".yml")) else config_path("tasks", f"{args.task}.yaml")
    cfg = load_task_config(task, [*args.overrides, f"algo.algorithm={args.algo}", "export=false",
                                  "total_steps=1000000000"])
    every = cfg.eval.every_iters  # one evaluation is timed on its own below, none inside the loop
    cfg = dataclasses.replace(cfg, eval=dataclasses.replace(cfg.eval, every_iters=1_000_000))
    with tempfile.TemporaryDirectory(prefix="trirl_profile_") as tmp:
        run = TrainingRun.create(cfg, Path(tmp) / "run", tensorboard=False)
        for _ in range(3):
            run.step_iteration()
        prof = cProfile.Profile()
        steps0, t0 = run.env_steps, time.perf_counter()
        prof.enable()
        for _ in range(args.iters):
            run.step_iteration()
        prof.disable()
        train_wall = time.perf_counter() - t0
        t1 = time.perf_counter()
        run.evaluate()
        eval_per_iter = (time.perf_counter() - t1) / every
        wall = train_wall + eval_per_iter * args.iters
        loop_sps = (run.env_steps - steps0) / wall
        run.close()
    stats = pstats.Stats(prof)
    raw = measure(cfg.robot, cfg.num_envs, cfg.num_threads, seconds=2.0, repeats=2)
    print(f"task {cfg.name}, {args.algo}: {cfg.num_envs} envs x {cfg.algo.ppo.horizon} steps, MuJoCo threads "
          f"{cfg.num_threads}, torch threads {cfg.torch_threads}, {args.iters} iterations, evaluation every "
          f"{every}")
    print(f"{'phase (main thread)':<36s} {'s/iter':>7s} {'share':>6s}")
    for label, suffix, name in PHASES:
        sec = cumulative(stats, suffix, name) / args.iters
        print(f"{label:<36s} {sec:>7.3f} {100 * sec * args.iters / wall:>5.1f}%")
    print(f"{'evaluation (one, / every_iters)':<36s} {eval_per_iter:>7.3f} {100 * eval_per_iter * args.iters / wall:>5.1f}%")
    print(f"{'whole iteration':<36s} {wall / args.iters:>7.3f} 100.0%")
    print(f"profile loop_steps_per_s {loop_sps:.0f} raw_env_steps_per_s {raw.env_steps_per_s:.0f} "
          f"loop_vs_env {loop_sps / raw.env_steps_per_s:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
