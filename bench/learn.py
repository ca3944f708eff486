"""Benchmark: TRIRL vs GAIL on the same task and the same wall-clock budget, side by side.

    .venv/bin/python bench/learn.py --task go2_trot --minutes 3 [--set key=value ...]

Both runs use the task's config (the CPU preset by default) and differ only in ``algo.algorithm``
(GAIL: the clipped PPO step and log D(s, s') reward on the same networks and discriminator
settings). For each it prints the imitation score against env steps and wall-clock at every
evaluation, then the env steps/s of the whole training loop (rollout + learner + evaluation)
against the raw env throughput (zero actions, same envs and threads; trirl_ros.core.envs.throughput).
Last line: ``learn trirl_score <v> gail_score <v> trirl_steps <n> gail_steps <n> loop_vs_env <ratio>``.
"""

from __future__ import annotations

import argparse
import logging
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def train_for(task: Path, algorithm: str, seconds: float, overrides: list[str], root: Path) -> dict:
    """One run of ``algorithm`` for ``seconds`` of wall clock (whole iterations); returns its curve."""
    from trirl_ros.core.train.run import TrainingRun
    from trirl_ros.core.train.task import load_task_config

    cfg = load_task_config(task, [*overrides, f"algo.algorithm={algorithm}", "export=false",
                                  "total_steps=1000000000"])
    run = TrainingRun.create(cfg, root / algorithm, tensorboard=False)
    curve = []
    t0 = time.perf_counter()
    row = run.evaluate_initial()
    curve.append((0, 0.0, row["eval/score"]))
    print(f"[{algorithm}] step {0:>8d}  wall {0.0:6.1f} s  score {row['eval/score']:.4f}", flush=True)
    while time.perf_counter() - t0 < seconds:
        row = run.step_iteration()
        if "eval/score" in row:
            wall = time.perf_counter() - t0
            curve.append((run.env_steps, wall, row["eval/score"]))
            print(f"[{algorithm}] step {run.env_steps:>8d}  wall {wall:6.1f} s  score {row['eval/score']:.4f}  "
                  f"disc acc {row.get('disc/accuracy', float('nan')):.2f}", flush=True)
    wall = time.perf_counter() - t0
    final = run.evaluate().score
    curve.append((run.env_steps, wall, final))
    out = {"curve": curve, "steps": run.env_steps, "wall": wall, "score": final,
           "loop_sps": run.env_steps / wall, "cfg": cfg}
    run.close()
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--task", default="go2_trot", help="config/tasks/<task>.yaml (or a YAML path)")
    parser.add_argument("--minutes", type=float, default=3.0, help="wall-clock budget per algorithm")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    from trirl_ros.core.config import config_path
    from trirl_ros.core.envs.throughput import measure

    task = Path(args.task) if args.task.endswith((".yaml", ".yml")) else config_path("tasks", f"{args.task}.yaml")
    res = {}
    with tempfile.TemporaryDirectory(prefix="trirl_learn_") as tmp:
        for algo in ("trirl", "gail"):
            res[algo] = train_for(task, algo, args.minutes * 60, args.overrides, Path(tmp))
    cfg = res["trirl"]["cfg"]
    raw = measure(cfg.robot, cfg.num_envs, cfg.num_threads, seconds=2.0, repeats=2)
    print()
    print(f"task {cfg.name}: {cfg.num_envs} envs, {cfg.num_threads} threads, horizon {cfg.algo.ppo.horizon}, "
          f"budget {args.minutes:g} min each")
    print(f"{'algorithm':<8s} {'env steps':>10s} {'wall s':>7s} {'score first':>11s} {'score last':>10s} "
          f"{'loop steps/s':>12s}")
    for algo, r in res.items():
        print(f"{algo:<8s} {r['steps']:>10d} {r['wall']:>7.1f} {r['curve'][0][2]:>11.4f} {r['score']:>10.4f} "
              f"{r['loop_sps']:>12.1f}")
    loop = res["trirl"]["loop_sps"]
    print(f"raw env throughput (zero actions): {raw.env_steps_per_s:.0f} env steps/s; TRIRL loop / raw env "
          f"= {loop / raw.env_steps_per_s:.3f}, GAIL loop / raw env = {res['gail']['loop_sps'] / raw.env_steps_per_s:.3f}")
    print(f"learn trirl_score {res['trirl']['score']:.4f} gail_score {res['gail']['score']:.4f} "
          f"trirl_steps {res['trirl']['steps']} gail_steps {res['gail']['steps']} "
          f"loop_vs_env {loop / raw.env_steps_per_s:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
