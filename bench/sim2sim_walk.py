"""Benchmark: a walking policy through the deploy stack for 20 s at several velocity commands.

    .venv/bin/python bench/sim2sim_walk.py [--policy models/go2_trot_command/policy.onnx] [--robot go2]
                                           [--speeds 0.3 0.5 1.0] [--seconds 20] [--lin-vel estimate|truth]

Per forward command vx: lock-step sim2sim (config/deploy/sim2sim.yaml: 2 s ramp, 1 s hold, then the
policy for ``--seconds``; base_lin_vel from the deploy estimator unless ``--lin-vel truth``), and
prints the final safety state, every safety transition with its reason (a trip names the check
that fired), whether the robot fell, the metres walked in POLICY along the robot's own heading, the
mean forward speed there against the command, and how far the heading turned (the command's yaw
rate is 0). Last line: ``sim2sim_walk <vx>: <state> fell <0|1> speed <m/s>`` per command; the check
passes when every command ends in POLICY with ``fell 0``.
"""

from __future__ import annotations

import argparse

from trirl_ros.core.config import config_path
from trirl_ros.core.deploy.config import load_deploy_config
from trirl_ros.core.deploy.sim2sim import load_policy, walking_check
from trirl_ros.core.robots.spec import load_robot_spec


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--policy", default="models/go2_trot_command/policy.onnx")
    ap.add_argument("--robot", default="go2")
    ap.add_argument("--speeds", type=float, nargs="+", default=[0.3, 0.5, 1.0])
    ap.add_argument("--seconds", type=float, default=20.0, help="seconds of policy after ramp and hold")
    ap.add_argument("--lin-vel", choices=("estimate", "truth"), default="estimate")
    args = ap.parse_args()
    robot = load_robot_spec(args.robot)
    spec, runner = load_policy(robot, args.policy)
    cfg = load_deploy_config(config_path("deploy", "sim2sim.yaml"))
    lines = []
    for vx, res in walking_check(robot, spec, runner.run, cfg, args.speeds, args.seconds, args.lin_vel):
        print(f"cmd {vx:.2f} m/s: {res.summary()}, {res.policy_forward:.2f} m forward in {res.policy_seconds:.1f} s "
              f"of POLICY = {res.policy_speed:.2f} m/s (straight line {res.policy_distance:.2f} m), heading turned "
              f"{res.policy_turn_deg:.0f} deg, min height {res.min_height:.3f} m, max tilt {res.max_tilt_deg:.1f} deg")
        for t in res.transitions:
            print(f"  {t.time:6.2f} s {t.source} -> {t.target}: {t.reason}")
        lines.append(f"{vx:g}: {res.final_state} fell {int(res.fell)} speed {res.policy_speed:.2f}")
    print("sim2sim_walk " + " | ".join(lines))


if __name__ == "__main__":
    main()
