"""`trirl robots check|stand`: validate robot specs against the MJCF; stand the robots under PD."""

from __future__ import annotations

import argparse
import math

import numpy as np


def register(subparsers) -> None:
    parser = subparsers.add_parser("robots", help="robot specs: check against the MJCF, stand under PD")
    sub = parser.add_subparsers(dest="robots_command", metavar="ACTION")
    sub.required = True
    check = sub.add_parser("check", help="validate robot specs against their MJCF (names, counts, limits, motor slots)")
    check.add_argument("--robot", action="append", metavar="NAME|YAML",
                       help="robot name (config/robots/NAME.yaml) or spec YAML path; repeatable; default: all")
    check.set_defaults(func=run_check)
    stand = sub.add_parser("stand", help="hold the default pose with the spec's PD gains in MuJoCo and report")
    stand.add_argument("--robot", action="append", metavar="NAME", help="robot name; repeatable; default: all")
    stand.add_argument("--seconds", type=float, default=2.0, help="simulated seconds (default 2)")
    stand.set_defaults(func=run_stand)


def _fmt_range(r) -> str:
    return "—" if any(map(math.isnan, r)) else f"[{r[0]:+.3f}, {r[1]:+.3f}]"


def run_check(args: argparse.Namespace) -> int:
    from trirl_ros.core.robots.check import check_robot
    from trirl_ros.core.robots.models import robots_dir
    from trirl_ros.core.robots.spec import load_robot_spec, robot_names

    folder = robots_dir()  # raises with guidance when missing
    print(f"robot models: {folder}")
    failed = []
    for name in args.robot or robot_names():
        spec = load_robot_spec(name)
        result = check_robot(spec)
        print(f"\n{spec.name}: {spec.num_joints} joints, {spec.msg_family} ({spec.num_motor_slots} motor slots), "
              f"{spec.policy_hz:g} Hz policy x {spec.substeps} substeps of {spec.physics_dt * 1e3:g} ms, mjcf {spec.mjcf}")
        print(f"  {'#':>2} {'joint':<28} {'actuator':<22} {'slot':>4} {'default':>7} {'kp':>5} {'kd':>4} "
              f"{'tau spec/mjcf':>14} {'range spec':>17} {'range mjcf':>17}  ok")
        for r in result.rows:
            tau = f"{r.torque_spec:g}/{'—' if math.isnan(r.torque_mjcf) else f'{r.torque_mjcf:g}'}"
            print(f"  {r.index:>2} {r.joint:<28} {r.actuator:<22} {r.motor_index:>4} {r.default_pos:>+7.3f} "
                  f"{r.kp:>5g} {r.kd:>4g} {tau:>14} {_fmt_range(r.range_spec):>17} {_fmt_range(r.range_mjcf):>17}  "
                  f"{'ok' if r.ok else 'MISMATCH'}")
        if spec.unused_joints:
            print(f"  unused MJCF joints (zero torque): {', '.join(spec.unused_joints)}")
        if result.ok:
            print(f"  {spec.name}: OK")
        else:
            failed.append(spec.name)
            for p in result.problems:
                print(f"  MISMATCH {p}")
    if failed:
        print(f"\nrobots check FAILED for {', '.join(failed)}")
        return 1
    print("\nrobots check passed")
    return 0


def run_stand(args: argparse.Namespace) -> int:
    import dataclasses

    from trirl_ros.core.envs.config import load_env_config
    from trirl_ros.core.envs.locomotion import LocomotionEnv
    from trirl_ros.core.robots.spec import load_robot_spec, robot_names

    ok = True
    print(f"{'robot':<10} {'start z':>8} {'end z':>8} {'max |dz|':>9} {'max tilt':>9} {'sim s':>6}  result")
    for name in args.robot or robot_names():
        robot = load_robot_spec(name)
        cfg = dataclasses.replace(load_env_config(name), joint_pos_noise=0.0, joint_vel_noise=0.0)
        with LocomotionEnv(robot, cfg, num_envs=1, seed=0) as env:
            env.reset()
            z0 = float(env.get_qpos()[0, 2])
            max_dz = max_tilt = 0.0
            fell = False
            steps = int(round(args.seconds * robot.policy_hz))
            for _ in range(steps):
                _, terminated, _, info = env.step(np.zeros((1, robot.num_joints), np.float32))
                w, x, y, z = info["final_state"].base_quat[0]
                max_tilt = max(max_tilt, math.degrees(math.acos(max(-1.0, min(1.0, 1 - 2 * (x * x + y * y))))))
                zf = float(env.get_qpos()[0, 2]) if not terminated[0] else float("nan")
                max_dz = max(max_dz, abs(zf - z0)) if not terminated[0] else max_dz
                if terminated[0]:
                    fell = True
                    break
        stood = not fell and max_dz < 0.05 and max_tilt < 10.0
        ok &= stood
        print(f"{name:<10} {z0:>8.3f} {zf:>8.3f} {max_dz:>9.3f} {max_tilt:>8.1f}° {args.seconds:>6.1f}  "
              f"{'STANDS' if stood else 'FELL' if fell else 'DRIFTS'}")
    return 0 if ok else 1
