"""``trirl plot RUN_DIR [RUN_DIR ...]``: PNG learning curves of training runs (RUN_DIR/metrics.csv).

    trirl plot runs/go2_trot_20250101-120000 [-o curves.png]

Writes RUN_DIR/curves.png (or -o, with a single run) and prints one summary line per run:
imitation score first -> last evaluation, steps, wall-clock, the exported policy and the PNG.

Panels: imitation score, rewards (returns), discriminator accuracy, trust-region eta, KL,
losses, each against env steps.
"""

from __future__ import annotations

import argparse
from pathlib import Path

# panel title -> metric keys (those present in the run are drawn)
PANELS = {
    "imitation score": ("eval/score", "eval/score_min", "eval/all_up"),
    "reward (per step)": ("reward/ppo_mean", "reward/corrected_agent", "reward/corrected_expert"),
    "discriminator accuracy": ("disc/accuracy", "disc/accuracy_expert", "disc/accuracy_agent"),
    "trust-region eta": ("tr/eta", "tr/eta_mean_max", "tr/eta_cov_max"),
    "KL": ("policy/kl", "tr/mean_kl", "tr/cov_kl", "tr/kl", "losses/approx_kl"),
    "losses": ("losses/policy", "losses/value", "disc/loss", "reward/rfit_mse"),
    "tracking error": ("eval/joint_pos_rmse", "eval/joint_vel_rmse"),
    "tracking reward terms": ("reward/track_lin_vel", "reward/track_ang_vel", "reward/track_joint_pos",
                              "reward/track_joint_vel", "reward/track_orientation", "reward/track_height"),
    "episode length": ("env/episode_length",),
}


def register(subparsers) -> None:
    parser = subparsers.add_parser("plot", help="PNG learning curves of a training run",
                                   description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("run_dirs", type=Path, nargs="+", metavar="RUN_DIR",
                        help="training run folder(s) (with metrics.csv)")
    parser.add_argument("-o", "--output", type=Path, help="PNG to write (default RUN_DIR/curves.png; one run only)")
    parser.set_defaults(func=run)


def plot_run(run_dir: Path, out: Path) -> list[str]:
    """Draw the panels of ``run_dir``'s metrics.csv into ``out``; returns the panels drawn."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from trirl_ros.core.train.metrics import read_csv

    path = run_dir / "metrics.csv"
    if not path.is_file():
        raise FileNotFoundError(f"{run_dir}: no metrics.csv (not a training run folder?)")
    rows = read_csv(path)
    if not rows:
        raise ValueError(f"{path} has no rows yet")
    panels = [(t, [k for k in keys if any(k in r for r in rows)]) for t, keys in PANELS.items()]
    panels = [(t, keys) for t, keys in panels if keys]
    cols = 2
    nrows = (len(panels) + cols - 1) // cols
    fig, axes = plt.subplots(nrows, cols, figsize=(11, 3.0 * nrows), squeeze=False)
    for ax, (title, keys) in zip(axes.flat, panels):
        for k in keys:
            pts = [(r["step"], r[k]) for r in rows if k in r]
            ax.plot([p[0] for p in pts], [p[1] for p in pts], marker="." if len(pts) < 30 else None, label=k)
        ax.set_title(title)
        ax.set_xlabel("env steps")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    for ax in list(axes.flat)[len(panels):]:
        ax.axis("off")
    fig.suptitle(f"{run_dir.name}")
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.stem}.tmp.png")
    fig.savefig(tmp, dpi=90)
    plt.close(fig)
    tmp.replace(out)
    return [t for t, _ in panels]


def summary_line(run_dir: Path, png: Path) -> str:
    """One line: score first -> last evaluation, steps, wall-clock, policy and plot paths."""
    from trirl_ros.core.train.metrics import read_csv

    rows = read_csv(run_dir / "metrics.csv")
    scores = [r["eval/score"] for r in rows if "eval/score" in r]
    first = f"{scores[0]:.4f}" if scores else "n/a"
    last = f"{scores[-1]:.4f}" if scores else "n/a"
    onnx = run_dir / "policy.onnx"
    return (f"{run_dir}: imitation score {first} -> {last} over {int(rows[-1]['step'])} steps, "
            f"{rows[-1].get('wall_s', float('nan')):.0f} s; policy {onnx if onnx.is_file() else '(not exported)'}; "
            f"curves {png}")


def run(args) -> int:
    if args.output is not None and len(args.run_dirs) > 1:
        raise ValueError("-o works with a single RUN_DIR")
    for run_dir in args.run_dirs:
        out = args.output or run_dir / "curves.png"
        panels = plot_run(run_dir, out)
        print(f"wrote {out} ({len(panels)} panels: {', '.join(panels)})")
    for run_dir in args.run_dirs:
        print(summary_line(run_dir, args.output or run_dir / "curves.png"))
    return 0
