"""Real ROS 2 smoke test: the joint_state_talker node (its own process) and a listener node in a
second process exchange sensor_msgs/JointState on an isolated domain (ros_env fixture)."""

import json
import os
import shutil
import subprocess
import sys
import textwrap

import numpy as np

from trirl_ros.core.robots.spec import load_robot_spec

LISTENER = textwrap.dedent("""
    import json, sys, time
    import rclpy
    from sensor_msgs.msg import JointState
    rclpy.init()
    node = rclpy.create_node("smoke_listener")
    got = []
    node.create_subscription(JointState, "smoke_joint_states", got.append, 10)
    deadline = time.monotonic() + float(sys.argv[1])
    while not got and time.monotonic() < deadline:
        rclpy.spin_once(node, timeout_sec=0.1)
    if got:
        m = got[0]
        print(json.dumps({"name": list(m.name), "position": list(m.position), "frame": m.header.frame_id}))
    node.destroy_node()
    rclpy.try_shutdown()
    sys.exit(0 if got else 3)
""")


def _talker_cmd():
    exe = shutil.which("joint_state_talker", path=os.path.dirname(sys.executable))
    prefix = [exe] if exe else [sys.executable, "-m", "trirl_ros.ros.joint_state_talker"]
    return prefix + ["--ros-args", "-p", "robot:=g1_23dof", "-p", "topic:=smoke_joint_states", "-p", "rate_hz:=20.0"]


def _stop(proc: subprocess.Popen) -> None:
    """Terminate a node process (kill it after 10 s)."""
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def _listen(env, repo_dir, seconds):
    return subprocess.run([sys.executable, "-c", LISTENER, str(seconds)], env=env, cwd=repo_dir,
                          capture_output=True, text=True, timeout=seconds + 30)


def test_joint_state_between_two_processes(ros_env, repo_dir, tmp_path):
    assert ros_env["ROS_AUTOMATIC_DISCOVERY_RANGE"] == "LOCALHOST"
    assert 1 <= int(ros_env["ROS_DOMAIN_ID"]) <= 101
    log = open(tmp_path / "talker.log", "w")
    talker = subprocess.Popen(_talker_cmd(), env=ros_env, cwd=repo_dir, stdout=log, stderr=subprocess.STDOUT)
    try:
        listener = _listen(ros_env, repo_dir, 30)
        assert listener.returncode == 0, (f"no JointState received within 30 s\nlistener: {listener.stderr}\n"
                                          f"talker: {(tmp_path / 'talker.log').read_text()}")
        msg = json.loads(listener.stdout.strip().splitlines()[-1])
    finally:
        _stop(talker)
        log.close()
    spec = load_robot_spec("g1_23dof")
    assert msg["name"] == list(spec.joint_names) and msg["frame"] == "pelvis"
    np.testing.assert_allclose(msg["position"], spec.default_pos)
    assert talker.returncode is not None


def test_other_domain_does_not_hear_it(ros_env, other_ros_domain, repo_dir, tmp_path):
    """Isolation: a listener on another (claimed) domain id receives nothing while a listener on the
    talker's domain, started afterwards, does (so the silence is isolation, not a dead talker)."""
    other = dict(ros_env, ROS_DOMAIN_ID=str(other_ros_domain))
    assert other_ros_domain != int(ros_env["ROS_DOMAIN_ID"])
    log = open(tmp_path / "talker.log", "w")
    talker = subprocess.Popen(_talker_cmd(), env=ros_env, cwd=repo_dir, stdout=log, stderr=subprocess.STDOUT)
    try:
        elsewhere = _listen(other, repo_dir, 4)
        same = _listen(ros_env, repo_dir, 30)
    finally:
        _stop(talker)
        log.close()
    assert elsewhere.returncode == 3, elsewhere.stdout + elsewhere.stderr
    assert same.returncode == 0, f"talker not heard on its own domain\n{(tmp_path / 'talker.log').read_text()}"
