"""``trirl sim2sim``: run an exported policy through the deploy stack on a simulated robot.

    trirl sim2sim --robot go2 --policy models/go2_stand.onnx [--spec FILE.yaml] [--seconds 10]
                  [--cmd-vel 0.5,0,0] [--backend mujoco] [--lin-vel estimate|truth]

Goes WAIT_STATE -> ZERO_TORQUE -> RAMP -> HOLD -> POLICY (transitions are logged) and ends with
``state <final safety state> fell <0|1> distance <metres travelled by the base>``. A policy that
observes ``base_lin_vel`` gets the deploy estimator's (IMU + leg kinematics), as on the robot;
``--lin-vel truth`` feeds it the simulator's instead (mujoco backend).
"""

from __future__ import annotations

import argparse
from pathlib import Path


def _cmd_vel(text: str) -> tuple[float, float, float]:
    try:
        values = tuple(float(v) for v in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"--cmd-vel expects vx,vy,wz numbers, got {text!r}") from None
    if len(values) != 3:
        raise argparse.ArgumentTypeError(f"--cmd-vel expects 3 values vx,vy,wz, got {text!r}")
    return values


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "sim2sim", help="run an ONNX policy through the deploy stack on a simulated robot",
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--robot", required=True, help="robot spec name or YAML")
    parser.add_argument("--policy", type=Path, required=True, help="exported .onnx policy")
    parser.add_argument("--spec", type=Path, help="policy spec YAML (default: beside the .onnx)")
    parser.add_argument("--seconds", type=float, default=10.0, help="simulated seconds (default 10)")
    parser.add_argument("--cmd-vel", type=_cmd_vel, default=None, help="velocity command vx,vy,wz")
    parser.add_argument("--backend", choices=("mujoco", "dds"), default="mujoco",
                        help="mujoco: in-process lock-step MuJoCo (default); dds: the sim robot over "
                             "Unitree DDS in real time")
    parser.add_argument("--lin-vel", choices=("estimate", "truth"), default="estimate",
                        help="base_lin_vel for policies that observe it: the deploy estimator (default, "
                             "what the robot sees) or the simulator's ground truth (mujoco backend)")
    parser.add_argument("--deploy-config", type=Path, default=None,
                        help="deploy settings YAML (default config/deploy/sim2sim.yaml)")
    parser.set_defaults(func=run)


def run(args) -> int:
    from trirl_ros.core.config import config_path
    from trirl_ros.core.deploy.config import load_deploy_config
    from trirl_ros.core.deploy.sim2sim import load_policy, run_sim2sim
    from trirl_ros.core.robots.spec import load_robot_spec

    if not args.seconds > 0:
        raise ValueError(f"--seconds must be > 0, got {args.seconds}")
    robot = load_robot_spec(args.robot)
    spec, runner = load_policy(robot, args.policy, args.spec)
    cfg = load_deploy_config(args.deploy_config or config_path("deploy", "sim2sim.yaml"))
    if args.backend == "dds":
        if args.lin_vel == "truth":
            raise ValueError("--lin-vel truth needs --backend mujoco (over DDS the node sees LowState only)")
        from trirl_ros.core.deploy.sim2sim_dds import run_sim2sim_dds

        result = run_sim2sim_dds(robot, spec, runner.run, cfg, args.seconds, args.cmd_vel)
    else:
        result = run_sim2sim(robot, spec, runner.run, cfg, args.seconds, args.cmd_vel, lin_vel=args.lin_vel)
    t0 = result.transitions[0].time if result.transitions else 0.0
    for t in result.transitions:  # times from the first robot state
        print(f"t={t.time - t0:7.3f} s  {t.source} -> {t.target}: {t.reason}")
    print(f"sim {result.sim_seconds:.2f} s, min base height {result.min_height:.3f} m, "
          f"max tilt {result.max_tilt_deg:.1f} deg")
    print(result.summary())
    return 0
