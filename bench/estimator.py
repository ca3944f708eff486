"""Benchmark: the deploy base-velocity estimator against MuJoCo's true base velocity.

    .venv/bin/python bench/estimator.py [--policy models/go2_trot/policy.onnx] [--robot go2] [--seconds 10]
                                        [--cmd-vel VX,VY,WZ]   (a command-following policy's command)

Runs the policy through the deploy controller in lock-step sim2sim twice, side by side in one run:
1. fed the simulator's true base velocity, with the estimator running beside it (open loop): the RMS
   error of the estimate per axis and of its norm, over the POLICY phase;
2. fed the estimate (what the robot will see), closed loop: distance and fall.
It also prints how fast the feet slide where they touch the ground (median and 90th percentile of
the contact points' horizontal speed): a foot that slides is a wrong measurement for leg kinematics;
the mean error (a bias) beside the RMS; and how the filter's kinematic contact test agrees with the
simulator's contacts: of the feet it used as stance, the fraction that touched the ground
(precision), and of the feet that touched, the fraction it used (recall).
Last line: ``estimator rms <m/s> target 0.1 truth_distance <m> estimate_distance <m>``.
"""

from __future__ import annotations

import argparse

import mujoco
import numpy as np

from trirl_ros.core.config import config_path
from trirl_ros.core.deploy.backends.mujoco_direct import MujocoDirectBackend
from trirl_ros.core.deploy.config import load_deploy_config
from trirl_ros.core.deploy.controller import DeployController
from trirl_ros.core.deploy.safety import SafetyState
from trirl_ros.core.deploy.sim2sim import load_policy, run_sim2sim
from trirl_ros.core.robots.spec import load_robot_spec


def foot_slip(backend: MujocoDirectBackend, feet: set[int]) -> list[np.ndarray]:
    """Horizontal velocities (2,) in m/s, world frame, of the foot points that touch the ground now
    (the contact point, moving with the foot's body): 0 for a foot that sticks."""
    m, d = backend.physics.model, backend.physics.data
    jacp = np.zeros((3, m.nv))
    out = []
    for k in range(d.ncon):
        con = d.contact[k]
        for g in (int(con.geom1), int(con.geom2)):
            body = int(m.geom_bodyid[g])
            if body in feet:
                mujoco.mj_jac(m, d, jacp, None, con.pos, body)
                out.append((jacp @ d.qvel)[:2])
    return out


def touching(backend: MujocoDirectBackend, feet: list[int]) -> np.ndarray:
    """(F,) bool: foot k (a body id in ``feet``, in the robot spec's order) has a contact now."""
    m, d = backend.physics.model, backend.physics.data
    bodies = {int(m.geom_bodyid[g]) for k in range(d.ncon) for g in (int(d.contact[k].geom1), int(d.contact[k].geom2))}
    return np.array([b in bodies for b in feet])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--policy", default="models/go2_trot/policy.onnx")
    ap.add_argument("--robot", default="go2")
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--cmd-vel", type=lambda v: tuple(float(x) for x in v.split(",")), default=None,
                    help="velocity command vx,vy,wz for a command-following policy")
    args = ap.parse_args()
    if args.cmd_vel is not None and len(args.cmd_vel) != 3:
        raise SystemExit(f"--cmd-vel needs vx,vy,wz, got {args.cmd_vel}")
    robot = load_robot_spec(args.robot)
    spec, runner = load_policy(robot, args.policy)
    if not spec.uses("base_lin_vel"):
        raise SystemExit(f"{args.policy} does not observe base_lin_vel: nothing to estimate")
    cfg = load_deploy_config(config_path("deploy", "sim2sim.yaml"))

    backend = MujocoDirectBackend(robot)
    c = DeployController(robot, spec, runner.run, cfg)
    # the foot bodies the robot spec names; a foot body without geoms (the Go2's) is welded to its
    # parent, whose collision geoms touch the ground
    m = backend.physics.model
    named = [mujoco.mj_name2id(m, mujoco.mjtObj.mjOBJ_BODY, b) for b in robot.feet_bodies]
    foot_list = [b if m.body_geomnum[b] else int(m.body_parentid[b]) for b in named]
    feet = set(foot_list)
    errors, slips, used, touched = [], [], [], []
    for _ in range(int(round(args.seconds / c.period))):
        truth = backend.base_lin_vel()
        if args.cmd_vel is not None:
            c.set_velocity_command(args.cmd_vel, backend.now())
        backend.send(c.tick(backend.latest_state(), backend.now(), truth))
        backend.advance(c.period)
        if c.state == SafetyState.POLICY and c.lin_vel_estimate is not None:
            errors.append(c.lin_vel_estimate - truth)
            slips.extend(foot_slip(backend, feet))
            if c.estimator is not None:  # the contact test ran on the state of this tick
                used.append(c.estimator.stance.copy())
                touched.append(touching(backend, foot_list))
    if not errors:
        raise SystemExit(f"the policy never ran (final state {c.state})")
    e = np.asarray(errors)
    slip = np.asarray(slips)  # (contacts, 2) world frame
    speeds = np.linalg.norm(slip, axis=1)
    rms_xyz = np.sqrt((e ** 2).mean(0))
    rms = float(np.sqrt((e ** 2).sum(1).mean()))
    truth_dist = float(np.linalg.norm(backend.base_position()[:2]))
    closed = run_sim2sim(robot, spec, runner.run, cfg, args.seconds, cmd_vel=args.cmd_vel, lin_vel="estimate")
    print(f"{args.policy}: {len(e)} policy ticks, estimate vs truth rms x {rms_xyz[0]:.3f} y {rms_xyz[1]:.3f} "
          f"z {rms_xyz[2]:.3f} m/s; feet slip at their contacts {np.median(speeds):.2f} m/s median, "
          f"{np.percentile(speeds, 90):.2f} m/s 90th percentile, mean slip velocity x {slip[:, 0].mean():+.3f} "
          f"y {slip[:, 1].mean():+.3f} m/s (world)")
    if used:
        u, t = np.asarray(used), np.asarray(touched)
        print(f"mean error (bias) x {e[:, 0].mean():+.3f} y {e[:, 1].mean():+.3f} z {e[:, 2].mean():+.3f} m/s; "
              f"stance test vs contacts: precision {(u & t).sum() / max(u.sum(), 1):.2f}, recall "
              f"{(u & t).sum() / max(t.sum(), 1):.2f}, feet used per tick {u.sum(1).mean():.2f}, "
              f"touching {t.sum(1).mean():.2f}")
    print(f"fed the truth: {c.state} distance {truth_dist:.2f} m; fed the estimate: {closed.summary()}")
    print(f"estimator rms {rms:.3f} target 0.1 truth_distance {truth_dist:.2f} estimate_distance {closed.distance:.2f}")


if __name__ == "__main__":
    main()
