"""Sim2sim on the in-process MuJoCo backend: exported PD-stand policy, full safety sequence."""

from __future__ import annotations

import pytest

from trirl_ros.core.config import config_path
from trirl_ros.core.deploy.config import load_deploy_config
from trirl_ros.core.deploy.safety import SafetyState as S
from trirl_ros.core.deploy.sim2sim import load_policy, run_sim2sim
from trirl_ros.core.export.onnx_export import export_policy
from trirl_ros.core.export.policy_modules import make_policy, mean_action_graph
from trirl_ros.core.export.run_dir import default_obs_spec
from trirl_ros.core.robots.spec import load_robot_spec


def _export_stand(robot, path):
    obs = default_obs_spec(robot)
    graph = mean_action_graph(make_policy("pd-stand", obs.dim(robot.num_joints), robot.num_joints,
                                          hidden=(32,)))
    return export_policy(graph.normalizer, graph.actor, robot, obs, path, n_verify=100).onnx_path


@pytest.mark.parametrize("name", ["go2", "g1_29dof"])
def test_pd_stand_policy_keeps_the_robot_standing_10s(tmp_path, robots_dir, name):
    robot = load_robot_spec(name)
    onnx_path = _export_stand(robot, tmp_path / f"{name}.onnx")
    spec, runner = load_policy(robot, onnx_path)
    cfg = load_deploy_config(config_path("deploy", "sim2sim.yaml"))
    result = run_sim2sim(robot, spec, runner.run, cfg, seconds=10.0)
    assert [t.target for t in result.transitions] == [S.ZERO_TORQUE, S.RAMP, S.HOLD, S.POLICY]
    assert result.transitions[-1].time == pytest.approx(0.04 + 2.0 + 1.0, abs=1e-6)
    assert result.final_state == S.POLICY
    assert result.sim_seconds == pytest.approx(10.0, abs=1e-6)
    assert not result.fell, result
    assert result.distance < 0.2
    assert result.policy_seconds == pytest.approx(10.0 - 3.04 - 0.02, abs=1e-6)  # first to last POLICY tick
    assert result.policy_distance <= result.distance + 0.05 and result.policy_speed < 0.05
    assert result.summary().startswith("state POLICY fell 0 distance ")


def test_dead_link_in_sim_ends_in_damping(tmp_path, robots_dir):
    from trirl_ros.core.deploy.backends.mujoco_direct import MujocoDirectBackend

    robot = load_robot_spec("go2")
    spec, runner = load_policy(robot, _export_stand(robot, tmp_path / "go2.onnx"))
    cfg = load_deploy_config(config_path("deploy", "sim2sim.yaml"))
    backend = MujocoDirectBackend(robot)
    result = run_sim2sim(robot, spec, runner.run, cfg, seconds=3.5, backend=backend)
    assert result.final_state == S.POLICY
    backend.publish_states = False  # the robot stops talking
    result = run_sim2sim(robot, spec, runner.run, cfg, seconds=0.2, backend=backend)
    # a fresh controller: it sees one (old) state, then nothing new -> stale -> damping
    assert result.final_state == S.DAMPING and "stale" in result.transitions[-1].reason
