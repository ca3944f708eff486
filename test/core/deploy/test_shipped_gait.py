"""The shipped Go2 trot through the deploy stack (sim2sim, MuJoCo backend, config/deploy/sim2sim.yaml):
a healthy gait trips none of the safety checks (over-speed with its margin and persistence, joint
range + margin, tilt, stale state, NaN) and walks forward: at least 3 m in 10 s, no fall. It observes
base_lin_vel and gets it from the deploy estimator, as on the robot (7.4 m; 6.8 m on the truth)."""

from __future__ import annotations

from pathlib import Path

from trirl_ros.core.config import config_path
from trirl_ros.core.deploy.config import load_deploy_config
from trirl_ros.core.deploy.safety import SafetyState
from trirl_ros.core.deploy.sim2sim import load_policy, run_sim2sim
from trirl_ros.core.robots.spec import load_robot_spec

MODEL = Path(__file__).resolve().parents[3] / "models" / "go2_trot" / "policy.onnx"


def test_shipped_go2_trot_walks_through_the_deploy_stack_without_a_trip(robots_dir):
    robot = load_robot_spec("go2")
    spec, runner = load_policy(robot, MODEL)
    res = run_sim2sim(robot, spec, runner.run, load_deploy_config(config_path("deploy", "sim2sim.yaml")), 10.0,
                      lin_vel="estimate")
    reasons = [t.reason for t in res.transitions if t.target == SafetyState.DAMPING]
    assert res.final_state == SafetyState.POLICY and not reasons, reasons
    assert not res.fell and res.distance >= 3.0, res.summary()


COMMAND_MODEL = MODEL.parents[1] / "go2_trot_command" / "policy.onnx"


def test_shipped_command_gait_walks_20_s_at_each_commanded_speed_without_a_trip(robots_dir):
    """Issue #14's walking check: the command-following Go2 (models/go2_trot_command) from standing,
    20 s of policy at 0.3, 0.5 and 1.0 m/s through the deploy stack (lock-step sim2sim): no trip, no
    fall, and it walks forward at the command within 0.25 m/s (measured 0.32 / 0.53 / 1.01 m/s,
    bench/sim2sim_walk.py)."""
    from trirl_ros.core.deploy.sim2sim import walking_check

    robot = load_robot_spec("go2")
    spec, runner = load_policy(robot, COMMAND_MODEL)
    cfg = load_deploy_config(config_path("deploy", "sim2sim.yaml"))
    for vx, res in walking_check(robot, spec, runner.run, cfg, (0.3, 0.5, 1.0), 20.0):
        reasons = [t.reason for t in res.transitions if t.target == SafetyState.DAMPING]
        assert res.final_state == SafetyState.POLICY and not reasons, (vx, reasons)
        assert not res.fell and res.policy_seconds >= 19.9, (vx, res.summary())
        assert abs(res.policy_speed - vx) <= 0.25, (vx, res.policy_speed)
