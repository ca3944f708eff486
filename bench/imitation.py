"""Benchmark: the tracking ceiling and the reward learners on one task, same wall-clock budget each.

    .venv/bin/python bench/imitation.py --task go2_trot --algos tracking,trirl,gail,amp --seeds 0 \
        --minutes 20 [--parallel 2] [--set key=value ...] [--out bench/results/go2_trot]

Each (algorithm, seed) is one ``trirl train`` process of the task's config with ``algo.algorithm``
set, one MuJoCo thread and one torch thread (one core), stopped after ``--minutes`` of wall clock
(whole iterations: it stops at the first iteration ending past the budget, then evaluates and
exports). ``--parallel`` runs that many at once (one per core). Each run's evaluation is the
imitation score of E deterministic episodes (the task's ``eval.num_envs``) from evenly spaced clip
phases; a policy *walks* when all E stay up for the whole episode.

Prints per run: steps, wall, the final mean / min score and fraction up, the lowest mean over the
last 5 evaluations, whether each of those 5 walked, and how many evaluations after the first one
scoring >= 0.7 lost an episode (``fell after 0.7``: how well a policy holds what it learned). Writes ``OUT/<algo>_s<seed>/metrics.csv``
and ``OUT/curves.png`` (mean score, solid, and min, dotted, against env steps). Last line:
``imitation <algo>_s<seed> <final mean> ...``.

    .venv/bin/python bench/imitation.py --compare NAME=RUN_DIR [NAME=RUN_DIR ...] --out DIR

prints the same table for finished run folders (``trirl train`` runs) and writes ``DIR/curves.png``
and ``DIR/<NAME>.evals.csv`` (the evaluation rows of each run's metrics.csv). RUN_DIR may also be
such an ``.evals.csv`` (runs whose folders are gone, to draw them beside new ones).
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def worker(task: str, algo: str, seed: int, minutes: float, overrides: list[str], run_dir: Path) -> int:
    """One run in this process (see module doc); its final evaluation is metrics.csv's last row."""
    import logging

    logging.basicConfig(level=logging.WARNING)
    from trirl_ros.core.train.run import TrainingRun
    from trirl_ros.core.train.task import load_task_config

    cfg = load_task_config(task, [*overrides, f"algo.algorithm={algo}", f"seed={seed}", "num_threads=1",
                                  "torch_threads=1", "total_steps=1000000000", "export=false"])
    run = TrainingRun.create(cfg, run_dir, tensorboard=False)
    run.evaluate_initial()
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < minutes * 60:
        row = run.step_iteration()
        if "eval/score" in row:
            print(f"[{algo} s{seed}] step {run.env_steps:>8d} wall {time.perf_counter() - t0:6.0f} s "
                  f"score {row['eval/score']:.3f} min {row['eval/score_min']:.3f} up {row['eval/all_up']:.2f}",
                  flush=True)
    final = run.evaluate()
    run.logger.log({"step": run.env_steps, "iteration": run.iteration, "wall_s": run.wall_s, **final.metrics()})
    run.save_checkpoint()
    run.close()
    return 0


def summarize(run_dir: Path) -> dict:
    """The table's numbers of a run folder, or of a NAME.evals.csv an earlier --compare wrote."""
    from trirl_ros.core.train.metrics import read_csv

    every = read_csv(run_dir if run_dir.is_file() else run_dir / "metrics.csv")
    rows = [r for r in every if "eval/score" in r]
    last5 = rows[-5:]
    # how well it holds what it learned: evaluations after the first one >= 0.7 in which an episode fell
    first = next((i for i, r in enumerate(rows) if r["eval/score"] >= 0.7), len(rows))
    after = rows[first:]
    return {"steps": int(every[-1]["step"]), "wall": every[-1]["wall_s"], "mean": rows[-1]["eval/score"],
            "min": rows[-1]["eval/score_min"], "up": rows[-1]["eval/all_up"],
            "last5_min_mean": min(r["eval/score"] for r in last5),
            "last5_walked": sum(r["eval/all_up"] >= 1.0 for r in last5),
            "fell_after": sum(r["eval/all_up"] < 1.0 for r in after), "evals_after": len(after), "rows": rows}


def plot(results: dict[str, dict], out: Path, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 4.5))
    for i, (name, r) in enumerate(results.items()):
        steps = [row["step"] / 1e6 for row in r["rows"]]
        color = f"C{i}"
        ax.plot(steps, [row["eval/score"] for row in r["rows"]], color=color, label=f"{name} mean")
        ax.plot(steps, [row["eval/score_min"] for row in r["rows"]], color=color, ls=":", label=f"{name} min")
    ax.set_xlabel("env steps (millions)")
    ax.set_ylabel("imitation score")
    ax.set_ylim(0, 1)
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, ncol=2)
    fig.tight_layout()
    fig.savefig(out, dpi=90)
    plt.close(fig)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--task", default="go2_trot", help="config/tasks/<task>.yaml (or a YAML path)")
    parser.add_argument("--algos", default="tracking,trirl", help="comma-separated algorithms")
    parser.add_argument("--seeds", default="0", help="comma-separated seeds")
    parser.add_argument("--minutes", type=float, default=20.0, help="wall-clock budget per run")
    parser.add_argument("--parallel", type=int, default=2, help="runs at once (one core each)")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE")
    parser.add_argument("--out", type=Path, help="results folder (default bench/results/<task>_<time>)")
    parser.add_argument("--compare", nargs="+", metavar="NAME=RUN_DIR", help="tabulate finished runs (or their .evals.csv) instead")
    parser.add_argument("--worker", nargs=3, metavar=("ALGO", "SEED", "RUN_DIR"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    from trirl_ros.core.config import config_path

    task = args.task if args.task.endswith((".yaml", ".yml")) else str(config_path("tasks", f"{args.task}.yaml"))
    if args.worker:
        algo, seed, run_dir = args.worker
        return worker(task, algo, int(seed), args.minutes, args.overrides, Path(run_dir))
    out = args.out or REPO / "bench" / "results" / f"{Path(task).stem}_{time.strftime('%Y%m%d-%H%M%S')}"
    out.mkdir(parents=True, exist_ok=True)
    if args.compare:
        runs = dict(item.split("=", 1) for item in args.compare)
        results = {name: summarize(Path(d)) for name, d in runs.items()}
        for name, r in results.items():
            keys = ["step", "wall_s", "eval/score", "eval/score_min", "eval/all_up"]
            lines = [",".join(keys)] + [",".join(f"{row.get(k, float('nan')):.6g}" for k in keys) for row in r["rows"]]
            (out / f"{name}.evals.csv").write_text("\n".join(lines) + "\n")
        report(results, out, "finished runs")
        return 0
    jobs = [(a, int(s)) for a in args.algos.split(",") for s in args.seeds.split(",")]
    pending, running = list(jobs), []
    while pending or running:
        while pending and len(running) < args.parallel:
            algo, seed = pending.pop(0)
            run_dir = out / f"{algo}_s{seed}"
            shutil.rmtree(run_dir, ignore_errors=True)
            cmd = [sys.executable, __file__, "--task", task, "--minutes", str(args.minutes),
                   "--worker", algo, str(seed), str(run_dir)]
            for o in args.overrides:
                cmd += ["--set", o]
            running.append(subprocess.Popen(cmd))
        time.sleep(2.0)
        still = []
        for p in running:
            if p.poll() is None:
                still.append(p)
            elif p.returncode != 0:
                raise SystemExit(f"run {p.args[-2:]} failed with exit code {p.returncode}")
        running = still
    results = {f"{a}_s{s}": summarize(out / f"{a}_s{s}") for a, s in jobs}
    report(results, out, f"task {Path(task).stem}, {args.minutes:g} min per run, overrides {args.overrides or 'none'}")
    return 0


def report(results: dict[str, dict], out: Path, title: str) -> None:
    """Print the table and write OUT/curves.png."""
    plot(results, out / "curves.png", title)
    print()
    print(title)
    print(f"{'run':<16s} {'steps':>9s} {'wall s':>7s} {'mean':>6s} {'min':>6s} {'up':>5s} "
          f"{'last5 lowest mean':>17s} {'last5 walked':>12s} {'fell after 0.7':>14s}")
    for name, r in results.items():
        print(f"{name:<16s} {r['steps']:>9d} {r['wall']:>7.0f} {r['mean']:>6.3f} {r['min']:>6.3f} {r['up']:>5.2f} "
              f"{r['last5_min_mean']:>17.3f} {r['last5_walked']:>10d}/5 {r['fell_after']:>8d}/{r['evals_after']:<5d}")
    print(f"curves {out / 'curves.png'}")
    print("imitation " + " ".join(f"{n} {r['mean']:.3f}" for n, r in results.items()))


if __name__ == "__main__":
    sys.exit(main())
