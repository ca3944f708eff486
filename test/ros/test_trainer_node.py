"""trainer_node as a real separate process (isolated ROS domain) driven by this test's own rclpy node:
progress + diagnostics while training, ~/save_checkpoint writes a checkpoint, ~/stop and SIGINT end
the process cleanly with a final checkpoint, a spent budget finishes the run (ONNX export), and a
bad config fails at start-up naming the key."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import torch
import yaml

TINY = {  # seconds per iteration on 2 cores; budget set per test
    "name": "go2_tiny_node",
    "robot": "go2",
    "algo_base": "trirl",
    "num_envs": 4,
    "num_threads": 1,
    "disc_terms": ["base_lin_vel", "base_ang_vel", "joint_pos", "joint_vel"],
    "eval": {"every_iters": 2, "steps": 20, "num_envs": 1},
    "checkpoint_every_iters": 100000,  # only requested / final checkpoints in these tests
    "algo": {
        "policy": {"hidden": [16], "critic_hidden": [16]},
        "ppo": {"horizon": 8, "epochs": 1, "num_minibatches": 2},
        "disc": {"hidden": [16], "epochs": 1, "minibatch": 16},
        "trirl": {"buffer_size": 3, "rfit_hidden": [16], "rfit_epochs": 1, "rfit_minibatch": 16},
    },
}
LONG = 10_000_000  # never reached: these runs end by ~/stop or SIGINT


def _task(tmp_path: Path, mocap_dir: Path, **changes) -> Path:
    data = {**yaml.safe_load(yaml.safe_dump(TINY)), **changes}
    data["dataset"] = {"source": str(mocap_dir / "go2" / "amp_go2_trot0.txt"), "format": "amp"}
    path = tmp_path / "task.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def _start(env: dict, log: Path, **params) -> subprocess.Popen:
    exe = Path(sys.executable).parent / "trainer_node"
    assert exe.is_file(), f"console script {exe} missing (run `make setup` / pip install -e .)"
    cmd = [str(exe), "--ros-args", "-p", "diagnostics_period:=0.5"]
    for k, v in params.items():
        cmd += ["-p", f"{k}:={v}"]
    return subprocess.Popen(cmd, env=env, stdout=log.open("w"), stderr=subprocess.STDOUT)


def _stop_process(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.kill()
        proc.wait(10)


def _wait(predicate, timeout: float, what: str, log: Path | None = None):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    tail = "" if log is None else "\n--- node log ---\n" + log.read_text()[-3000:]
    raise AssertionError(f"timed out after {timeout:g} s waiting for {what}{tail}")


class Probe:
    """The test's rclpy node (own context, spun on a thread): records progress and diagnostics."""

    def __init__(self) -> None:
        import rclpy
        from diagnostic_msgs.msg import DiagnosticArray
        from rclpy.executors import SingleThreadedExecutor
        from rclpy.qos import DurabilityPolicy, QoSProfile, ReliabilityPolicy
        from std_msgs.msg import String

        self.context = rclpy.Context()
        rclpy.init(context=self.context)
        self.node = rclpy.create_node("trainer_node_probe", context=self.context)
        self.progress: list[dict] = []
        self.diagnostics: list = []
        qos = QoSProfile(depth=50, reliability=ReliabilityPolicy.RELIABLE,
                         durability=DurabilityPolicy.TRANSIENT_LOCAL)
        self.node.create_subscription(String, "/trainer_node/progress",
                                      lambda m: self.progress.append(json.loads(m.data)), qos)
        self.node.create_subscription(DiagnosticArray, "/diagnostics", self._on_diag, 10)
        self.executor = SingleThreadedExecutor(context=self.context)
        self.executor.add_node(self.node)
        self.thread = threading.Thread(target=self.executor.spin, daemon=True)
        self.thread.start()

    def _on_diag(self, msg) -> None:
        self.diagnostics.extend(s for s in msg.status if s.name.startswith("trainer_node"))

    def latest(self, state: str | None = None, min_iteration: int = 0):
        """The newest progress message in ``state`` with iteration >= min_iteration, or None."""
        for p in reversed(self.progress):
            if (state is None or p["state"] == state) and p["iteration"] >= min_iteration:
                return p
        return None

    def call(self, service: str, timeout: float):
        """Call a std_srvs/Trigger service; returns (response, seconds)."""
        from std_srvs.srv import Trigger

        client = self.node.create_client(Trigger, service)
        assert client.wait_for_service(timeout_sec=timeout), f"service {service} not available"
        t0 = time.monotonic()
        future = client.call_async(Trigger.Request())
        _wait(future.done, timeout, f"response of {service}")
        return future.result(), time.monotonic() - t0

    def close(self) -> None:
        import rclpy

        self.executor.shutdown(timeout_sec=2.0)
        self.node.destroy_node()
        rclpy.try_shutdown(context=self.context)
        self.thread.join(5.0)


@pytest.fixture
def probe(ros_env):
    p = Probe()
    try:
        yield p
    finally:
        p.close()


def _checkpoint_step(run_dir: Path) -> int:
    return int(torch.load(run_dir / "checkpoints" / "latest.pt", map_location="cpu", weights_only=True)["step"])


def test_progress_diagnostics_save_checkpoint_and_stop(ros_env, probe, tmp_path, mocap_dir, robots_dir):
    task, run_dir, log = _task(tmp_path, mocap_dir, total_steps=LONG), tmp_path / "run", tmp_path / "node.log"
    proc = _start(ros_env, log, config=task, run_dir=run_dir)
    try:
        first = _wait(lambda: probe.latest("training", min_iteration=2), 150, "progress of iteration 2", log)
        assert first["task"] == "go2_tiny_node" and first["total_steps"] == LONG
        assert first["env_steps"] == first["iteration"] * 8 * 4  # horizon x num_envs per iteration
        assert 0.0 <= first["imitation_score"] <= 1.0 and 0.0 <= first["disc_accuracy"] <= 1.0
        assert set(first["trust_region"]) >= {"eta", "eta_mean_max", "eta_cov_max"}
        diag = _wait(lambda: probe.diagnostics, 20, "a trainer_node diagnostic status", log)[-1]
        from diagnostic_msgs.msg import DiagnosticStatus

        assert diag.name == "trainer_node: go2_tiny_node" and diag.level == DiagnosticStatus.OK, diag
        values = {kv.key: kv.value for kv in diag.values}
        assert values["state"] == "training" and int(values["env_steps"]) > 0 and values["run_dir"] == str(run_dir)

        assert not (run_dir / "checkpoints" / "latest.pt").exists()  # periodic checkpoints are off
        resp, seconds = probe.call("/trainer_node/save_checkpoint", 60)
        assert resp.success, resp.message
        saved_step = int(resp.message.rsplit("step ", 1)[1])
        assert str(run_dir / "checkpoints" / "latest.pt") in resp.message
        assert _checkpoint_step(run_dir) == saved_step >= first["env_steps"]
        assert seconds < 30, f"save_checkpoint took {seconds:.1f} s (training blocks the executor?)"
        assert proc.poll() is None, "the node must keep training after a checkpoint"

        resp, seconds = probe.call("/trainer_node/stop", 30)
        assert resp.success, resp.message
        assert seconds < 5, f"~/stop answered after {seconds:.1f} s"
        assert proc.wait(60) == 0, log.read_text()[-3000:]
        final = _checkpoint_step(run_dir)
        assert final >= saved_step and final % 32 == 0
        stopped = _wait(lambda: probe.latest("stopped"), 10, "the final 'stopped' progress message", log)
        assert stopped["env_steps"] == final and stopped["checkpoint"] == str(run_dir / "checkpoints" / "latest.pt")
        rows = (run_dir / "metrics.csv").read_text().strip().splitlines()
        assert len(rows) - 1 == final // 32 + 1  # header; row 0 (initial eval) + one per iteration
    finally:
        _stop_process(proc)


def test_sigint_checkpoints_and_exits_cleanly(ros_env, probe, tmp_path, mocap_dir, robots_dir):
    task, run_dir, log = _task(tmp_path, mocap_dir, total_steps=LONG), tmp_path / "run", tmp_path / "node.log"
    proc = _start(ros_env, log, config=task, run_dir=run_dir)
    try:
        seen = _wait(lambda: probe.latest("training", min_iteration=1), 150, "progress of iteration 1", log)
        assert not (run_dir / "checkpoints" / "latest.pt").exists()
        t0 = time.monotonic()
        proc.send_signal(signal.SIGINT)
        assert proc.wait(60) == 0, log.read_text()[-3000:]
        print(f"SIGINT -> exit in {time.monotonic() - t0:.1f} s")
        step = _checkpoint_step(run_dir)
        assert step >= seen["env_steps"] and step % 32 == 0
        text = log.read_text()
        assert f"stopped at step {step}" in text and "Traceback" not in text
    finally:
        _stop_process(proc)


def test_budget_spent_finishes_run_and_exits(ros_env, tmp_path, mocap_dir, robots_dir):
    task, run_dir, log = _task(tmp_path, mocap_dir, total_steps=96), tmp_path / "run", tmp_path / "node.log"
    proc = _start(ros_env, log, config=task, run_dir=run_dir)
    try:
        assert proc.wait(150) == 0, log.read_text()[-3000:]
        assert _checkpoint_step(run_dir) == 96
        assert (run_dir / "policy.onnx").is_file() and (run_dir / "policy.yaml").is_file()
        summary = json.loads((run_dir / "summary.json").read_text())
        assert summary["steps"] == 96 and summary["iterations"] == 3
        assert "finished: 96 steps" in log.read_text()
    finally:
        _stop_process(proc)


def test_bad_config_fails_at_startup_naming_the_key(ros_env, tmp_path, mocap_dir):
    task, log = _task(tmp_path, mocap_dir, total_steps=LONG, bogus_key=1), tmp_path / "node.log"
    proc = _start(ros_env, log, config=task, run_dir=tmp_path / "run")
    try:
        assert proc.wait(60) == 2, log.read_text()
        assert "bogus_key" in log.read_text()
        assert not (tmp_path / "run").exists()
    finally:
        _stop_process(proc)
