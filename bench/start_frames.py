"""Benchmark: does a policy stay up from every frame of its clip(s)?

    .venv/bin/python bench/start_frames.py MODEL_OR_RUN_DIR [--steps 500]

Starts one deterministic episode at each demonstration frame (all frames at once, no reset noise) and
runs the folder's policy (ONNX of a model folder, or a run's checkpoint) for ``--steps`` steps. The
evaluation's 8 evenly spaced phases can miss the few start states a policy falls from; this tries them
all. Last line: ``start_frames <folder> fell <n> of <frames>: [(frame, steps survived), ...]``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("folder", type=Path)
    ap.add_argument("--steps", type=int, default=500)
    args = ap.parse_args()

    from trirl_ros.core.export.model_dir import evaluate_onnx
    from trirl_ros.core.train.task import load_task_config

    res = evaluate_onnx(args.folder, load_task_config(args.folder / "config.yaml"), steps=args.steps, every_frame=True)
    n = len(res.alive_steps)
    fell = [(f, s) for f, s in enumerate(res.alive_steps) if s < args.steps]
    print(f"start_frames {args.folder} fell {len(fell)} of {n}: {fell}")


if __name__ == "__main__":
    main()
