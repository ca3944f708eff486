"""``trirl export``: a policy to ONNX (normaliser inside, verified against torch) + its spec YAML.

    trirl export RUN_DIR -o models/NAME.onnx          a training run (RUN_DIR/config.yaml +
                                                      RUN_DIR/checkpoints/latest.pt)
    trirl export RUN_DIR --model-dir models/NAME --data-license TEXT
                                                      a shipped model folder: policy.onnx + .yaml,
                                                      config.yaml, reward.pt, MODEL_CARD.md with
                                                      scores measured on the ONNX file
    trirl export --untrained --robot go2 -o models/go2_stand.onnx [--kind pd-stand|untrained]
"""

from __future__ import annotations

import argparse
from pathlib import Path


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "export", help="export a policy to ONNX + policy spec YAML (verified vs torch)",
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("run_dir", nargs="?", type=Path, help="training run folder")
    parser.add_argument("-o", "--output", type=Path, help="ONNX file to write (.onnx)")
    parser.add_argument("--model-dir", type=Path, help="write a model folder (models/NAME) from RUN_DIR instead")
    parser.add_argument("--data-license", default="", help="license of the demonstrations (--model-dir card)")
    parser.add_argument("--note", default="", help="--model-dir: a paragraph for the card (limits, caveats)")
    parser.add_argument("--checkpoint", choices=("best", "latest"), default="best",
                        help="--model-dir: the best evaluation's policy (checkpoints/best.pt) or the last")
    parser.add_argument("--untrained", action="store_true",
                        help="export a policy built without training (needs --robot)")
    parser.add_argument("--robot", help="robot spec name or YAML (with --untrained)")
    parser.add_argument("--kind", default="pd-stand", choices=("pd-stand", "untrained"),
                        help="--untrained policy: pd-stand (zero action: stand at the default pose "
                             "under PD) or untrained (fresh initialisation)")
    parser.add_argument("--obs", type=Path, help="observation spec YAML ({terms: [...], history: H}) "
                                                 "for --untrained (default: the robot's default layout)")
    parser.add_argument("--seed", type=int, default=0, help="initialisation / verification seed")
    parser.add_argument("--tol", type=float, default=1e-5, help="max abs difference onnxruntime vs torch")
    parser.set_defaults(func=run)


def run(args) -> int:
    from trirl_ros.core.config import load_yaml
    from trirl_ros.core.envs.obs_spec import ObsSpec
    from trirl_ros.core.export.onnx_export import export_policy
    from trirl_ros.core.export.policy_modules import make_policy, mean_action_graph
    from trirl_ros.core.export.run_dir import default_obs_spec, load_run
    from trirl_ros.core.robots.spec import load_robot_spec

    if args.model_dir is not None:
        if args.run_dir is None or args.output is not None or args.untrained:
            raise ValueError("--model-dir takes a RUN_DIR and no -o / --untrained")
        from trirl_ros.core.export.model_dir import ship_model

        card = ship_model(args.run_dir, args.model_dir, args.data_license, note=args.note,
                          checkpoint=args.checkpoint, tol=args.tol)
        print(card.read_text())
        print(f"wrote {args.model_dir}: {', '.join(sorted(p.name for p in args.model_dir.iterdir()))}")
        return 0
    if args.output is None:
        raise ValueError("give -o FILE.onnx (or --model-dir DIR)")
    if args.untrained:
        if args.run_dir is not None or not args.robot:
            raise ValueError("--untrained takes --robot NAME and no RUN_DIR")
        robot = load_robot_spec(args.robot)
        obs = load_yaml(args.obs, ObsSpec) if args.obs else default_obs_spec(robot)
        policy = make_policy(args.kind, obs.dim(robot.num_joints), robot.num_joints, seed=args.seed)
        fingerprint = f"untrained kind={args.kind} seed={args.seed}"
    else:
        if args.run_dir is None:
            raise ValueError("give a RUN_DIR, or --untrained --robot NAME")
        loaded = load_run(args.run_dir)
        robot, obs, policy, fingerprint = loaded.robot, loaded.obs, loaded.policy, loaded.fingerprint
    graph = mean_action_graph(policy)
    result = export_policy(graph.normalizer, graph.actor, robot, obs, args.output,
                           fingerprint=fingerprint, seed=args.seed, tol=args.tol,
                           action_clip=None if args.untrained else loaded.action_clip)
    print(f"wrote {result.onnx_path} and {result.spec_path}")
    print(f"robot {robot.name} obs {result.spec.obs_dim} action {result.spec.num_joints} "
          f"opset {result.spec.opset} control_hz {result.spec.control_hz:g}")
    print(f"verified onnxruntime vs torch on {result.n_verify} observations: "
          f"max_abs_diff {result.max_abs_diff:.3g}")
    return 0
