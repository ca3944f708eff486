"""Round trip through real ROS 2 processes on an isolated domain:
dataset -> rosbag2 (MCAP and sqlite3, written with rosbags) -> ``bag_replayer`` process ->
``mocap_recorder`` process -> dataset, equal to the original within tolerance.

The MCAP case saves through the recorder's ``~/save`` service (called with real rclpy from the
test) and watches its status topic; the sqlite3 case saves by Ctrl-C (SIGINT) on shutdown.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from trirl_ros.core.demos.bagio import write_bag
from trirl_ros.core.demos.dataset import Dataset
from trirl_ros.core.demos.importers import ImportOptions, import_motion
from trirl_ros.core.demos.kinematics import RobotKinematics
from trirl_ros.core.demos.processing import resample


@pytest.fixture(scope="module")
def original(mocap_dir, robots_dir):
    """Two 1-s clips of the ASAP walks at 50 Hz (two clips -> a pause in the bag -> two clips back)."""
    kin = RobotKinematics.for_robot("g1_29dof")
    parts = []
    for name in ("asap_g1_walk_level1.pkl", "asap_g1_walk_level2.pkl"):
        ds = resample(import_motion(mocap_dir / "g1" / name, kin.spec, opts=ImportOptions(trust_pickle=True),
                                    kin=kin), 50.0, kin)
        parts.append(next(ds.clips()))
    trimmed = [Dataset(p.robot, p.joint_names, p.frequency, p.qpos[:50], p.qvel[:50], np.array([0, 50]),
                       p.provenance, p.clip_names) for p in parts]
    return Dataset.concatenate(trimmed)


def _start(args, env, log_path, cwd):
    log = open(log_path, "w")
    return subprocess.Popen([sys.executable, "-m", *args], env=env, cwd=cwd, stdout=log,
                            stderr=subprocess.STDOUT), log


def _wait_for_text(path, text, proc, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if text in path.read_text():
            return
        if proc.poll() is not None:
            raise AssertionError(f"process exited ({proc.returncode}):\n{path.read_text()}")
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {text!r}:\n{path.read_text()}")


def _stop(proc, log):
    if proc.poll() is None:
        proc.kill()
        proc.wait(timeout=10)
    log.close()


def _call_save_and_watch_status(timeout=30.0):
    """Call /mocap_recorder/save with rclpy; return (response, last status dict seen before)."""
    import rclpy
    from std_msgs.msg import String
    from std_srvs.srv import Trigger

    ctx = rclpy.Context()
    rclpy.init(context=ctx)
    node = rclpy.create_node("record_replay_test", context=ctx)
    try:
        executor = rclpy.executors.SingleThreadedExecutor(context=ctx)
        executor.add_node(node)
        statuses = []
        node.create_subscription(String, "/mocap_recorder/status", lambda m: statuses.append(json.loads(m.data)), 10)
        deadline = time.monotonic() + timeout
        while not any(s["held_samples"] > 0 for s in statuses) and time.monotonic() < deadline:
            executor.spin_once(timeout_sec=0.1)
        assert statuses, "no status from the recorder"
        before = [s for s in statuses if s["held_samples"] > 0][-1]
        client = node.create_client(Trigger, "/mocap_recorder/save")
        assert client.wait_for_service(timeout_sec=timeout), "save service not available"
        future = client.call_async(Trigger.Request())
        executor.spin_until_future_complete(future, timeout_sec=timeout)
        assert future.done(), "save service did not answer"
        return future.result(), before
    finally:
        node.destroy_node()
        rclpy.try_shutdown(context=ctx)


@pytest.mark.parametrize("storage", ["mcap", "sqlite3"])
def test_bag_replay_into_recorder_round_trip(storage, original, ros_env, repo_dir, tmp_path):
    bag = write_bag(original, tmp_path / "bag", storage=storage)
    out = tmp_path / "out"
    rec, rec_log = _start(
        ["trirl_ros.ros.recorder", "--ros-args", "-p", "autostart:=true", "-p", f"output_dir:={out}",
         "-p", "output_name:=rec.npz", "-p", "robot:=g1_29dof", "-p", "status_period:=0.2"],
        ros_env, tmp_path / "rec.log", repo_dir)
    rep, rep_log = None, None
    try:
        _wait_for_text(tmp_path / "rec.log", "recording g1_29dof", rec, timeout=90)
        rep, rep_log = _start(
            ["trirl_ros.ros.replayer", "--ros-args", "-p", f"bag:={bag}", "-p", "rate:=4.0",
             "-p", "wait_for_subscribers:=30.0"], ros_env, tmp_path / "rep.log", repo_dir)
        assert rep.wait(timeout=90) == 0, (tmp_path / "rep.log").read_text()
        assert "playback finished: 200 messages" in (tmp_path / "rep.log").read_text()
        time.sleep(0.5)  # let the last messages arrive
        if storage == "mcap":
            response, status = _call_save_and_watch_status()
            assert response.success, response.message
            assert response.message == str(out / "rec.npz")
            assert status["state"] == "recording" and status["joint_msgs"] > 0
        rec.send_signal(signal.SIGINT)
        assert rec.wait(timeout=30) == 0, (tmp_path / "rec.log").read_text()
    finally:
        _stop(rec, rec_log)
        if rep is not None:
            _stop(rep, rep_log)
    back = Dataset.load(out / "rec.npz")
    assert back.robot == "g1_29dof" and back.frequency == 50.0
    assert back.split_points.tolist() == [0, 50, 100], (tmp_path / "rec.log").read_text()
    # best-effort (sensor data) QoS may drop a message under load; interpolation then fills it
    np.testing.assert_allclose(back.qpos, original.qpos, atol=5e-3)
    assert np.median(np.abs(back.qpos - original.qpos)) < 1e-9
    assert back.provenance["importer"] == "mocap_recorder"
