"""Benchmark: what a walking policy asks of the motors, with the spec's PD gains and with others.

    .venv/bin/python bench/motor_load.py [--policy models/go2_trot/policy.onnx] [--robot go2] [--seconds 10]
                                         [--gains 40,1.0 20,0.5]

Runs the policy through the deploy stack in lock-step sim2sim (config/deploy/sim2sim.yaml, the deploy
estimator for base_lin_vel) once per kp,kd pair (every joint; the policy spec's gains replaced), and
prints per joint group the peak and RMS motor torque over the POLICY phase against the torque limit,
the fraction of physics steps spent at the limit, and whether the robot walked. Side by side in one
run. Last line: ``motor_load <kp>,<kd> peak_frac <max peak / limit> sat <fraction at limit> fell <0|1>
distance <m>`` per pair.
"""

from __future__ import annotations

import argparse
import dataclasses

import numpy as np

from trirl_ros.core.config import config_path
from trirl_ros.core.deploy.backends.mujoco_direct import MujocoDirectBackend
from trirl_ros.core.deploy.config import load_deploy_config
from trirl_ros.core.deploy.controller import DeployController
from trirl_ros.core.deploy.safety import SafetyState, tilt_deg
from trirl_ros.core.deploy.sim2sim import load_policy
from trirl_ros.core.robots.spec import load_robot_spec


def run(robot, spec, policy, kp: float, kd: float, seconds: float) -> dict:
    n = spec.num_joints
    spec = dataclasses.replace(spec, kp=(kp,) * n, kd=(kd,) * n)
    cfg = load_deploy_config(config_path("deploy", "sim2sim.yaml"))
    backend = MujocoDirectBackend(robot)
    c = DeployController(robot, spec, policy, cfg)
    ph = backend.physics
    limit = np.minimum(-ph.tau_lo, ph.tau_hi)  # (J,) in robot order
    taus = []
    start = backend.base_position()
    fell = False
    for _ in range(int(round(seconds / c.period))):
        backend.send(c.tick(backend.latest_state(), backend.now()))
        for _ in range(robot.substeps):
            backend.advance(ph.dt)
            if c.state == SafetyState.POLICY:
                taus.append(ph.torque.copy())
        z = float(backend.base_position()[2])
        fell |= z < robot.fall_min_height or tilt_deg(backend.base_quat()) > robot.fall_max_tilt_deg
    tau = np.abs(np.asarray(taus))  # (steps, J)
    return {"peak": tau.max(0), "rms": np.sqrt((tau ** 2).mean(0)), "limit": limit,
            "sat": float((tau >= limit - 1e-6).mean()), "fell": fell, "state": str(c.state),
            "distance": float(np.linalg.norm(backend.base_position()[:2] - start[:2]))}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--policy", default="models/go2_trot/policy.onnx")
    ap.add_argument("--robot", default="go2")
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--gains", nargs="+", default=["40,1.0", "20,0.5"], help="kp,kd pairs")
    args = ap.parse_args()
    robot = load_robot_spec(args.robot)
    spec, runner = load_policy(robot, args.policy)
    groups = {}
    for k, name in enumerate(robot.joint_names):  # hip / thigh / calf (Go2), or the joint name
        groups.setdefault(name.split("_")[1] if robot.name == "go2" else name, []).append(k)
    lines = []
    for pair in args.gains:
        kp, kd = (float(v) for v in pair.split(","))
        r = run(robot, spec, runner.run, kp, kd, args.seconds)
        print(f"kp {kp:g} kd {kd:g}: {r['state']}, fell {int(r['fell'])}, distance {r['distance']:.2f} m, "
              f"{100 * r['sat']:.1f}% of joint-steps at the torque limit")
        for g, idx in groups.items():
            print(f"  {g:8s} peak {r['peak'][idx].max():5.1f} Nm  rms {r['rms'][idx].mean():5.1f} Nm  "
                  f"limit {r['limit'][idx].max():5.1f} Nm")
        lines.append(f"{kp:g},{kd:g} peak_frac {float((r['peak'] / r['limit']).max()):.2f} sat {r['sat']:.3f} "
                     f"fell {int(r['fell'])} distance {r['distance']:.2f}")
    print("motor_load " + " | ".join(lines))


if __name__ == "__main__":
    main()
