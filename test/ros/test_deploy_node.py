"""policy_deploy_node over real rclpy: configure/activate with the in-process MuJoCo backend, safety
state and diagnostics published, operator stop over the service, spec mismatch refused."""

from __future__ import annotations

import pytest
import yaml

from trirl_ros.core.export.onnx_export import export_policy
from trirl_ros.core.export.policy_modules import make_policy, mean_action_graph
from trirl_ros.core.export.run_dir import default_obs_spec
from trirl_ros.core.robots.spec import load_robot_spec

from .conftest import CI_STALE_PERIODS, wait_until


@pytest.fixture(scope="module")
def go2_policy(tmp_path_factory):
    robot = load_robot_spec("go2")
    obs = default_obs_spec(robot)
    graph = mean_action_graph(make_policy("pd-stand", obs.dim(12), 12, hidden=(16,)))
    path = tmp_path_factory.mktemp("models") / "go2_stand.onnx"
    return export_policy(graph.normalizer, graph.actor, robot, obs, path, n_verify=50).onnx_path


def _node(ros, tmp_path, **params):
    from rclpy.parameter import Parameter

    from trirl_ros.ros.deploy_node import PolicyDeployNode

    context, executor, nodes = ros
    cfg = tmp_path / "deploy.yaml"
    cfg.write_text(yaml.safe_dump({"safety": {"zero_torque_s": 0.04, "ramp_s": 0.4, "hold_s": 0.2,
                                              "auto_start": True,
                                              "stale_periods": CI_STALE_PERIODS}}))
    values = {"backend": "mujoco", "deploy_config": str(cfg), **params}
    node = PolicyDeployNode(context=context, parameter_overrides=[
        Parameter(k, value=v) for k, v in values.items()])
    nodes.append(node)
    executor.add_node(node)
    return node


def test_configure_activate_run_and_stop(ros, tmp_path, go2_policy, robots_dir):
    from diagnostic_msgs.msg import DiagnosticArray
    from rclpy.lifecycle import TransitionCallbackReturn
    from rclpy.qos import DurabilityPolicy, QoSProfile
    from std_msgs.msg import String
    from std_srvs.srv import Trigger

    context, executor, nodes = ros
    node = _node(ros, tmp_path, robot="go2", policy=str(go2_policy))
    import rclpy

    probe = rclpy.create_node("deploy_probe", context=context)
    nodes.append(probe)
    states, diags = [], []
    latched = QoSProfile(depth=1, durability=DurabilityPolicy.TRANSIENT_LOCAL)
    probe.create_subscription(String, "/policy_deploy_node/safety_state", lambda m: states.append(m.data), latched)
    probe.create_subscription(DiagnosticArray, "/diagnostics", lambda m: diags.append(m), 10)
    stop = probe.create_client(Trigger, "/policy_deploy_node/stop")
    executor.add_node(probe)

    assert node.trigger_configure() == TransitionCallbackReturn.SUCCESS, node.last_error
    assert node.trigger_activate() == TransitionCallbackReturn.SUCCESS
    assert wait_until(lambda: "POLICY" in states, 15.0), states
    seen = [s for i, s in enumerate(states) if i == 0 or states[i - 1] != s]
    assert seen[-4:] == ["ZERO_TORQUE", "RAMP", "HOLD", "POLICY"], seen
    assert wait_until(lambda: len(diags) > 0, 5.0)
    assert diags[-1].status[0].hardware_id == "go2"
    assert node.backend.base_position()[2] > 0.2  # still standing

    assert stop.wait_for_service(timeout_sec=5.0)
    future = stop.call_async(Trigger.Request())
    assert wait_until(future.done, 5.0) and future.result().success
    assert wait_until(lambda: states[-1] == "DAMPING", 2.0), states
    assert "operator stop" in node.controller.fsm.transitions[-1].reason
    assert node.trigger_deactivate() == TransitionCallbackReturn.SUCCESS
    assert node.trigger_cleanup() == TransitionCallbackReturn.SUCCESS


def test_spec_for_another_robot_fails_configure(ros, tmp_path, go2_policy, robots_dir):
    from rclpy.lifecycle import TransitionCallbackReturn

    node = _node(ros, tmp_path, robot="g1_29dof", policy=str(go2_policy))
    assert node.trigger_configure() == TransitionCallbackReturn.FAILURE
    assert "policy spec does not match the robot" in node.last_error
    assert "trained for robot 'go2', this robot is 'g1_29dof'" in node.last_error
    assert node.backend is None


def test_missing_policy_file_fails_configure(ros, tmp_path, robots_dir):
    from rclpy.lifecycle import TransitionCallbackReturn

    node = _node(ros, tmp_path, robot="go2", policy=str(tmp_path / "nope.onnx"))
    assert node.trigger_configure() == TransitionCallbackReturn.FAILURE
    assert "policy spec not found" in node.last_error
