"""``trirl rollout``: replay a training run's policy deterministically, optionally as a video.

    trirl rollout RUN_DIR                         summary: imitation score, distance, fell
    trirl rollout RUN_DIR --video out.mp4         + offscreen video, policy (left) | reference (right)
    trirl rollout RUN_DIR --dataset other.npz --seconds 10
    trirl rollout RUN_DIR --episodes 8 [--dataset other.npz]   mean / min / up over 8 episodes from
                                                  evenly spaced phases (the training evaluation)
    trirl rollout RUN_DIR --record demos.npz [--episodes 16] [--seconds 20]
                                                  the policy's rollouts as demonstrations (a dataset)

The policy and config come from RUN_DIR/config.yaml + RUN_DIR/checkpoints/latest.pt (the layout
``trirl export`` reads); the reference motion from RUN_DIR/dataset.npz unless --dataset is given.
Video needs an offscreen OpenGL backend (EGL or OSMesa, see ``make render-deps``).
``--record`` rolls the policy out from ``--episodes`` evenly spaced reference phases and saves the
episodes that stayed up as a dataset .npz: states the robot can reach, for a task's dataset.source
(see trirl_ros/core/train/policy_demos.py).
"""

from __future__ import annotations

import argparse
from pathlib import Path


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "rollout", help="replay a run's policy (summary; --video renders it beside the reference)",
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("run_dir", type=Path, help="training run folder")
    parser.add_argument("--video", type=Path, help="write a side-by-side mp4 here")
    parser.add_argument("--dataset", type=Path,
                        help="reference demonstrations (dataset .npz or motion file; default: the run's)")
    parser.add_argument("--seconds", type=float, help="episode length in seconds (default: the run's eval steps)")
    parser.add_argument("--record", type=Path, help="save the policy's rollouts as a dataset .npz here")
    parser.add_argument("--episodes", type=int, default=None,
                        help="evaluate over this many episodes from evenly spaced phases (with --record: "
                             "episodes to record, default 16)")
    parser.add_argument("--width", type=int, default=320, help="video panel width in pixels (multiple of 16)")
    parser.add_argument("--height", type=int, default=240, help="video panel height in pixels (multiple of 16)")
    parser.set_defaults(func=run)


def run(args) -> int:
    from trirl_ros.core.viz.rollout import replay

    if args.record is not None:
        return _record(args)
    if args.episodes is not None:
        if args.video is not None:
            raise ValueError("--video renders one episode; drop --episodes")
        return _evaluate(args)

    if args.video is not None:
        if args.video.suffix.lower() != ".mp4":
            raise ValueError(f"--video must name an .mp4 file, got {args.video}")
        if args.width % 16 or args.height % 16 or args.width <= 0 or args.height <= 0:
            raise ValueError(f"--width/--height must be positive multiples of 16, got {args.width}x{args.height}")
        from trirl_ros.core.viz.gl import use_offscreen_gl

        use_offscreen_gl()  # fail before simulating when no renderer works
    res = replay(args.run_dir, dataset=args.dataset, seconds=args.seconds)
    fell = f"yes, at {res.fell_at_s:.2f} s" if res.fell else "no"
    print(f"robot {res.robot}  steps {res.steps} ({res.steps / res.policy_hz:.1f} s at {res.policy_hz:g} Hz)")
    print(f"imitation score {res.score:.3f}  joint_pos_rmse {res.joint_pos_rmse:.3f} rad  "
          f"joint_vel_rmse {res.joint_vel_rmse:.3f} rad/s")
    print(f"distance {res.distance_m:.2f} m (reference {res.ref_distance_m:.2f} m)  fell {fell}")
    if args.video is not None:
        from trirl_ros.core.robots.models import load_model
        from trirl_ros.core.robots.spec import load_robot_spec
        from trirl_ros.core.viz.video import write_video

        robot = load_robot_spec(res.robot)
        frames = write_video(args.video, load_model(robot, scene=True), robot.base_body, res.qpos, res.ref_qpos,
                             res.policy_hz, width=args.width, height=args.height)
        print(f"video {args.video} frames {frames} (policy left, reference right)")
    return 0


def _record(args) -> int:
    from trirl_ros.core.robots.spec import load_robot_spec
    from trirl_ros.core.train.policy_demos import record_policy_demos

    if args.record.suffix != ".npz":
        raise ValueError(f"--record must name a .npz file, got {args.record}")
    episodes = 16 if args.episodes is None else args.episodes
    ds, fell = record_policy_demos(args.run_dir, episodes, 20.0 if args.seconds is None else args.seconds)
    path = ds.save(args.record, load_robot_spec(ds.robot))
    print(f"recorded {ds.num_clips} episodes ({fell} fell, not kept), {ds.num_frames} frames at "
          f"{ds.frequency:g} Hz -> {path}")
    return 0


def _evaluate(args) -> int:
    from trirl_ros.core.export.model_dir import evaluate_onnx
    from trirl_ros.core.export.run_dir import CONFIG
    from trirl_ros.core.robots.models import default_qpos, load_model
    from trirl_ros.core.robots.spec import load_robot_spec
    from trirl_ros.core.train.evaluation import eval_commands, reference_scores
    from trirl_ros.core.train.reference import ReferenceMotion
    from trirl_ros.core.train.task import load_task_config
    from trirl_ros.core.viz.rollout import reference_dataset

    if args.episodes < 1:
        raise ValueError(f"--episodes must be >= 1, got {args.episodes}")
    task = load_task_config(args.run_dir / CONFIG)
    robot = load_robot_spec(task.robot)
    steps = task.eval.steps if args.seconds is None else max(1, int(round(args.seconds * robot.policy_hz)))
    ds = reference_dataset(args.run_dir, task, robot, args.dataset)
    res = evaluate_onnx(args.run_dir, task, args.episodes, steps, dataset=ds)
    commands = eval_commands(task.env, args.episodes)
    if commands is not None:  # a command-following policy: scored against its commands
        print(f"robot {robot.name}  {args.episodes} episodes of {steps} steps from standing, commanded vx "
              f"{commands[0, 0]:g} ... {commands[-1, 0]:g} m/s")
        print(f"command score mean {res.score:.3f}  min {res.score_min:.3f}  episodes up {res.all_up:.2f}  "
              f"velocity_rmse {res.velocity_rmse:.3f} m/s")
        return 0
    print(f"robot {robot.name}  {args.episodes} episodes of {steps} steps from evenly spaced phases")
    print(f"imitation score mean {res.score:.3f}  min {res.score_min:.3f}  episodes up {res.all_up:.2f}  "
          f"joint_pos_rmse {res.joint_pos_rmse:.3f} rad")
    model = load_model(robot)
    standing, steady = reference_scores(ReferenceMotion(ds, robot, model, default_qpos(model, robot)))
    print(f"for scale, against the same reference: standing still {standing:.3f}, the clips' mean velocity "
          f"held exactly {steady:.3f}")
    return 0
