"""Benchmark: does a run's learned reward rank a walking policy above the run's own agent?

    .venv/bin/python bench/reward_probe.py RUN_DIR [--dataset demos.npz ...] [--checkpoint latest|best]

Loads the run's reward learner from its checkpoint (a copy of the run folder is resumed in a
temporary directory; the run itself is not touched) and prints the reward PPO would see,
r(s, s') of the corrected reward, on: the run's expert transitions, each ``--dataset`` (e.g. a
tracker's rollouts recorded with ``trirl rollout models/g1_walk_tracking --record demos/g1_walk_robot.npz``),
and, from the checkpoint's metrics, the agent's mean reward and the absorbing (fall) reward of the
last update. It answers whether the reward ranks another policy's motion above the agent's own.
Measured: it need not, even where the reward teaches. The Go2 trot TRIRL run that met its bar
(5.45M steps) gives the trot tracker's rollouts -9.5 per step against its own agent's -5.1 and the
mocap's +3.9; the G1 run that never got up gives the G1 tracker's walking rollouts -6.3, its own
falling agent -6.4. A discriminator's logit estimates log(rho_E / rho_pi) for the current agent;
off the agent's states it extrapolates. Last line per set: ``reward_probe <name> <mean>``.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
from pathlib import Path

import numpy as np
import torch


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("run_dir", type=Path)
    ap.add_argument("--dataset", type=Path, action="append", default=[])
    ap.add_argument("--checkpoint", choices=("latest", "best"), default="latest")
    args = ap.parse_args()

    from trirl_ros.core.algo.transitions import Transitions
    from trirl_ros.core.demos.dataset import Dataset
    from trirl_ros.core.demos.processing import expert_transitions
    from trirl_ros.core.train.metrics import read_csv
    from trirl_ros.core.train.run import TrainingRun

    with tempfile.TemporaryDirectory() as tmp:
        copy = Path(tmp) / "run"
        (copy / "checkpoints").mkdir(parents=True)
        for name in ("config.yaml", "dataset.npz", "dataset.json"):
            shutil.copyfile(args.run_dir / name, copy / name)
        shutil.copyfile(args.run_dir / "checkpoints" / f"{args.checkpoint}.pt", copy / "checkpoints" / "latest.pt")
        run = TrainingRun.resume(copy, tensorboard=False)
        learner = run.agent.learner
        if learner is None:
            raise SystemExit(f"{args.run_dir}: {run.cfg.algo.algorithm} learns no reward")
        inner = getattr(learner, "inner", learner)  # the view wrapper's learner takes view features
        sets = [("expert (the run's reference)", run.expert)]
        for path in args.dataset:
            et = expert_transitions(Dataset.load(path, run.robot), run.robot, run.view.spec)
            sets.append((path.name, Transitions(torch.as_tensor(et.obs), torch.as_tensor(et.next_obs), None,
                                                torch.as_tensor(et.absorbing))))
        print(f"{args.run_dir} ({args.checkpoint}.pt at step {run.env_steps}): "
              f"{run.cfg.algo.algorithm}, discriminator terms {list(run.cfg.discriminator_terms())}")
        means = []
        for name, tr in sets:
            with torch.no_grad():
                r = inner.frozen_reward(tr).cpu().numpy()
            means.append((name.split()[0], float(r.mean())))
            q = np.percentile(r, [10, 50, 90])
            print(f"{name:40s} {len(r):6d} transitions  reward mean {r.mean():7.2f}  p10 {q[0]:7.2f}  "
                  f"p50 {q[1]:7.2f}  p90 {q[2]:7.2f}")
        run.close()
    rows = [r for r in read_csv(args.run_dir / "metrics.csv") if "reward/ppo_mean" in r]
    last = next(r for r in reversed(rows) if r["step"] <= run.env_steps)
    print(f"{'the agent (last update, metrics.csv)':40s} step {last['step']:.0f}: reward mean "
          f"{last['reward/ppo_mean']:7.2f}  absorbing {last['reward/absorbing']:7.2f}  "
          f"episode length {last['env/episode_length']:.0f}")
    for name, mean in means:
        print(f"reward_probe {name} {mean:.3f}")


if __name__ == "__main__":
    main()
