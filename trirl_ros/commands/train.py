"""``trirl train``: imitation learning from demonstrations (TRIRL or a baseline) into a run folder.

    trirl train --config config/tasks/go2_trot.yaml [--set key=value ...] [--run-dir DIR]
    trirl train --resume RUN_DIR

Shows a progress bar (steps/s, imitation score, eta) and ends with a one-line summary; the last
line printed is ``run_dir <path> score <imitation score of the last evaluation>``.
"""

from __future__ import annotations

import argparse
import signal
import sys
import time
from pathlib import Path


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "train", help="train a policy from demonstrations (TRIRL / baselines) into a run folder",
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", type=Path, help="task YAML (config/tasks/<task>.yaml)")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                        help="override a config key (dotted path, YAML value), e.g. total_steps=20000, "
                             "preset=gpu, algo.ppo.lr_policy=1e-4; repeatable")
    parser.add_argument("--resume", type=Path, metavar="RUN_DIR",
                        help="continue a run from RUN_DIR/checkpoints/latest.pt with its config")
    parser.add_argument("--run-dir", type=Path, help="run folder to create (default runs/<task>_<time>)")
    parser.add_argument("--no-progress", action="store_true", help="print one line per evaluation instead "
                                                                   "of a progress bar")
    parser.set_defaults(func=run)


def _progress(run, disable: bool):
    """tqdm bar over env steps with steps/s, score and eta in the postfix; returns (callback, close)."""
    from tqdm import tqdm

    bar = tqdm(total=run.total_steps, initial=run.env_steps, unit="step", unit_scale=True, dynamic_ncols=True,
               disable=disable, file=sys.stderr, desc=run.cfg.name, smoothing=0.1)
    state = {"last": run.env_steps}

    def callback(row: dict) -> None:
        step = int(row.get("step", 0))
        bar.update(max(0, step - state["last"]))
        state["last"] = step
        post = {}
        if "perf/steps_per_s" in row:
            post["sps"] = f"{row['perf/steps_per_s']:.0f}"
        score = row.get("eval/score", (run.last_eval or {}).get("eval/score"))
        if score is not None:
            post["score"] = f"{score:.3f}"
        if "tr/eta" in row:
            post["eta"] = f"{row['tr/eta']:.3g}"
        if "disc/accuracy" in row:
            post["disc"] = f"{row['disc/accuracy']:.2f}"
        bar.set_postfix(post, refresh=False)
        if disable and "eval/score" in row:
            print(f"step {step} iteration {int(row.get('iteration', 0))} score {row['eval/score']:.4f} "
                  f"min {row.get('eval/score_min', float('nan')):.4f} all_up {row.get('eval/all_up', float('nan')):.2f} "
                  f"wall {row.get('wall_s', 0.0):.0f} s", flush=True)

    return callback, bar.close


def run(args) -> int:
    from trirl_ros.core.train import distributed
    from trirl_ros.core.train.run import CONFIG
    from trirl_ros.core.train.task import load_task_config, resolve_device

    if args.resume is not None:
        if args.config is not None or args.overrides:
            raise ValueError("--resume continues a run with its own config.yaml: drop --config / --set")
        cfg = load_task_config(args.resume / CONFIG) if (args.resume / CONFIG).is_file() else None
    else:
        if args.config is None:
            raise ValueError("give --config config/tasks/<task>.yaml (or --resume RUN_DIR)")
        cfg = load_task_config(args.config, args.overrides)
    # under torchrun: one rank per process, rank 0 prints and writes (core/train/distributed.py)
    ctx = distributed.from_environment(resolve_device(cfg.device)) if cfg is not None else distributed.SINGLE
    try:
        return _train(args, cfg, ctx)
    finally:
        distributed.shutdown(ctx)


def _train(args, cfg, ctx) -> int:
    from trirl_ros.core.train.run import TrainingRun

    if args.resume is not None:
        training = TrainingRun.resume(args.resume, dist=ctx)
    else:
        run_dir = args.run_dir or Path("runs") / f"{cfg.name}_{time.strftime('%Y%m%d-%H%M%S')}"
        training = TrainingRun.create(cfg, run_dir, dist=ctx)
    say = print if ctx.is_main else _silent  # the other ranks train quietly
    say(f"run_dir {training.run_dir}: {training.cfg.algo.algorithm} on {training.robot.name}, "
          f"{training.cfg.num_envs} envs, budget {training.total_steps} steps "
          f"({'resumed at step ' + str(training.env_steps) if args.resume else 'new run'})", flush=True)
    callback, close = _progress(training, args.no_progress or not sys.stderr.isatty() or not ctx.is_main)
    training.add_progress_callback(callback)

    def on_signal(signum, frame):  # finish the iteration, checkpoint, exit; a second Ctrl-C aborts
        if signum == signal.SIGINT and training.stop_requested:
            raise KeyboardInterrupt
        training.request_stop()
        say(f"\nstopping after this iteration (signal {signum}); Ctrl-C again aborts without a checkpoint",
              file=sys.stderr)

    old = {s: signal.signal(s, on_signal) for s in (signal.SIGTERM, signal.SIGINT)}
    try:
        summary = training.run()
    except KeyboardInterrupt:
        close()
        training.close()
        say(f"aborted at step {training.env_steps}; the last checkpoint is in {training.run_dir}", file=sys.stderr)
        return 130
    finally:
        for s, handler in old.items():
            signal.signal(s, handler)
    close()
    training.close()
    init, score = summary["initial_score"], summary["score"]
    state = "finished" if training.done else f"stopped (continue with: trirl train --resume {training.run_dir})"
    say(f"{state}: {summary['steps']} steps in {summary['iterations']} iterations, {summary['wall_s']:.0f} s; "
          f"imitation score {_f(init)} -> {_f(score)}"
          + (f"; policy {summary['onnx']}" if summary.get("onnx") else ""))
    say(f"run_dir {training.run_dir} score {_f(score)}")
    return 0


def _silent(*args, **kwargs) -> None:
    pass


def _f(v) -> str:
    return "nan" if v is None else f"{v:.4f}"
