"""Sim2sim over the real stack: the `sim_robot` console script (its own process, CycloneDDS on
loopback, an isolated domain claimed by lock) and `policy_deploy_node` (real rclpy lifecycle node,
autostarted, ``unitree_dds`` backend) running a pd-stand policy from the real exporter.

Issue 6 §5: the node brings the simulated Go2 and G1 through WAIT_STATE -> ZERO_TORQUE -> RAMP ->
HOLD -> POLICY (read from ~/safety_state) and the sim robot's ground truth says the robot stood for
10 s of sim time; when the sim robot exits its LowState stops and the node damps within 3 control
periods (+ one tick). Faults over DDS at the node: LowStates with a bad CRC are ignored and counted,
a NaN in a valid LowState damps, a spec for another robot fails configure. Real time: ~15 s a robot.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest
import yaml

from trirl_ros.core.config import config_path
from trirl_ros.core.export.onnx_export import export_policy
from trirl_ros.core.export.policy_modules import make_policy, mean_action_graph
from trirl_ros.core.export.run_dir import default_obs_spec
from trirl_ros.core.robots.spec import load_robot_spec

from .conftest import CI_STALE_PERIODS, Inbox

REPO = Path(__file__).resolve().parents[2]
SIM_SECONDS = 10.0
EXPECTED = ["WAIT_STATE", "ZERO_TORQUE", "RAMP", "HOLD", "POLICY", "DAMPING"]


def _require_cyclonedds():
    try:
        import cyclonedds.domain  # noqa: F401
    except ImportError as exc:
        pytest.fail(f"cyclonedds Python binding not importable ({exc}): part of the set-up; run `make setup` "
                    "(or just `make dds`)", pytrace=False)


@pytest.fixture(scope="module")
def policies(tmp_path_factory, robots_dir):
    out = tmp_path_factory.mktemp("models")
    paths = {}
    for name in ("go2", "g1_29dof"):
        robot = load_robot_spec(name)
        obs = default_obs_spec(robot)
        graph = mean_action_graph(make_policy("pd-stand", obs.dim(robot.num_joints), robot.num_joints, hidden=(16,)))
        paths[name] = export_policy(graph.normalizer, graph.actor, robot, obs, out / f"{name}_stand.onnx",
                                    n_verify=50).onnx_path
    return paths


@pytest.fixture(autouse=True)
def _cyclonedds():
    _require_cyclonedds()


def _deploy_node(ros, domain, robot, policy, deploy_config):
    from rclpy.parameter import Parameter

    from trirl_ros.ros.deploy_node import PolicyDeployNode

    context, executor, nodes = ros
    params = {"robot": robot, "policy": str(policy), "backend": "unitree_dds", "dds_domain": domain,
              "dds_interface": "lo", "deploy_config": str(deploy_config), "autostart": True,
              "diagnostics_period": 0.2}
    node = PolicyDeployNode(context=context, parameter_overrides=[Parameter(k, value=v) for k, v in params.items()])
    nodes.append(node)
    executor.add_node(node)
    return node


def _drop(ros, node):
    """Shut a deploy node down (its DDS backend closed) and take it off the executor before the next
    one of that name. It is destroyed by the ``ros`` fixture after the executor has stopped: destroying
    a node while a MultiThreadedExecutor builds its wait set ends ``spin`` with rclpy's InvalidHandle
    ("destruction was requested"), and every node started afterwards never runs (seen here: a later
    node stuck UNCONFIGURED)."""
    _, executor, _ = ros
    end = time.monotonic() + 5.0
    while True:  # a failed configure may still be finishing its transition on the executor
        try:
            node.trigger_shutdown()
            break
        except Exception:  # noqa: BLE001 -- rclpy RCLError "transition not possible" while busy
            if time.monotonic() > end:
                raise
            time.sleep(0.05)
    executor.remove_node(node)


def _state_probe(ros):
    """(safety states, diagnostics) received by a probe node, as :class:`Inbox` es."""
    import rclpy
    from diagnostic_msgs.msg import DiagnosticArray
    from rclpy.qos import DurabilityPolicy, QoSProfile
    from std_msgs.msg import String

    context, executor, nodes = ros
    probe = rclpy.create_node("sim2sim_probe", context=context)
    nodes.append(probe)
    states, diags = Inbox(), Inbox()
    latched = QoSProfile(depth=20, durability=DurabilityPolicy.TRANSIENT_LOCAL)
    probe.create_subscription(String, "/policy_deploy_node/safety_state", lambda m: states.append(m.data), latched)
    probe.create_subscription(DiagnosticArray, "/diagnostics", diags.append, 10)
    executor.add_node(probe)
    return states, diags


def _deploy_config(tmp_path, **safety):
    """config/deploy/sim2sim.yaml with ``safety`` keys replaced, written to ``tmp_path``."""
    data = yaml.safe_load(Path(config_path("deploy", "sim2sim.yaml")).read_text())
    data["safety"].update(safety)
    path = tmp_path / "deploy.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def _sim_robot_cmd():
    exe = shutil.which("sim_robot", path=str(Path(sys.executable).parent))
    if exe is None:
        pytest.fail(f"console script sim_robot not found next to {sys.executable}: run `make setup` "
                    "(pip install -e . installs it)", pytrace=False)
    return [exe]


def _stop(proc: subprocess.Popen) -> str:
    """End the process group (SIGTERM, then SIGKILL) and return its output."""
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
    try:
        out, _ = proc.communicate(timeout=15)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, _ = proc.communicate()
    return out


def _robot_priority() -> None:
    """In the sim robot's process before exec: a higher scheduling priority where allowed (root, as CI).
    A robot's controller board does not share its CPU with the test's load; a starved simulator falls
    silent (measured: 200 ms without a LowState beside two training runs and a second DDS test) and the
    node then damps, rightly. Without the permission it runs at normal priority.

    With the kernel's autogroup scheduling (``/proc/sys/kernel/sched_autogroup_enabled`` 1, as on this
    machine) a process's nice value only ranks it inside its session's group, and the sim robot has
    its own session (``start_new_session``): groups share the CPUs equally whatever their members'
    nice. The group's own nice (``/proc/self/autogroup``) is what ranks it against the busy loops' and
    the test's groups. Measured with a 500 Hz sleep-and-work loop beside three busy loops, a training
    run and this test file looping: step lateness p99 1.8 ms with nice -10 alone, 0.1 ms with the
    group at -10 too (max 7.4 vs 5.5 ms in 15 s)."""
    try:
        os.nice(-10)
    except OSError:
        pass
    try:
        with open("/proc/self/autogroup", "w") as f:
            f.write("-10")
    except OSError:  # no autogroup support, or not permitted
        pass


def _summary(out: str) -> dict[str, float]:
    lines = [line for line in out.splitlines() if line.startswith("sim_robot done:")]
    assert lines, f"sim_robot printed no summary:\n{out}"
    fields = lines[-1].split()[2:]
    return {k: float(v) for k, v in zip(fields[::2], fields[1::2])}


@pytest.mark.parametrize("name", ["go2", "g1_29dof"])
def test_deploy_node_keeps_the_sim_robot_standing_10s_over_dds(name, ros, ros_env, dds_domain, policies, tmp_path):
    robot = load_robot_spec(name)
    env = dict(ros_env, PYTHONPATH=str(REPO) + os.pathsep + ros_env.get("PYTHONPATH", ""))
    sim = subprocess.Popen(
        _sim_robot_cmd() + ["--robot", name, "--loopback", "--domain", str(dds_domain),
                            "--seconds", str(SIM_SECONDS), "--status-every", "0"],
        cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True,
        preexec_fn=_robot_priority)
    out = None
    try:
        states, diags = _state_probe(ros)
        node = _deploy_node(ros, dds_domain, name, policies[name],
                            _deploy_config(tmp_path, stale_periods=CI_STALE_PERIODS))
        assert states.wait(lambda s: "POLICY" in s, 40.0), f"states {states}; {node.last_error}"
        try:  # the sim robot ends by itself after 10 s of sim time; its LowState stops
            out, _ = sim.communicate(timeout=40)
        except subprocess.TimeoutExpired:
            pytest.fail(f"sim_robot did not finish {SIM_SECONDS} s of sim time within 40 s")
        assert states.wait(lambda s: "DAMPING" in s, 5.0), states
    finally:
        if out is None:
            print(_stop(sim))  # shown by pytest on failure
    assert sim.returncode == 0, out

    seen = [s for i, s in enumerate(states.items) if i == 0 or states[i - 1] != s]
    assert seen[seen.index("WAIT_STATE"):] == EXPECTED, seen
    transitions = node.controller.fsm.transitions
    assert [str(t.target) for t in transitions] == EXPECTED[1:]
    period = node.controller.period
    policy_t = transitions[3].time
    damping = transitions[4]
    # LowState stopped when the sim exited: damping on the tick that found none for the tolerance
    assert f"stale robot state: no new state on {CI_STALE_PERIODS} control ticks" in damping.reason, damping
    print(f"{name}: POLICY at {policy_t - transitions[0].time:.3f} s after the first state; {damping.reason}; "
          f"{node.controller.overruns} control loop overruns (longest gap "
          f"{node.controller.max_tick_gap * 1e3:.0f} ms, period {period * 1e3:.0f} ms)")
    summary = next((line for line in out.splitlines() if line.startswith("sim_robot done:")), out)
    print(summary)
    # the policy ran most of the 10 s
    assert damping.time - policy_t > SIM_SECONDS - 3.04 - 1.5, f"{damping.reason}; {summary}"

    truth = _summary(out)
    assert truth["t"] == pytest.approx(SIM_SECONDS, abs=0.01)
    assert truth["fell"] == 0, out
    assert truth["min_z"] > robot.fall_min_height and truth["max_tilt"] < 15.0, out
    assert truth["cmds"] > 0.9 * SIM_SECONDS * 50 and truth["bad_crc"] == 0, out
    assert diags and diags[-1].status[0].hardware_id == name


def _diag_value(diag, key: str) -> str | None:
    return next((kv.value for kv in diag.status[0].values if kv.key == key), None)


def test_node_over_dds_ignores_bad_crc_damps_on_nan_and_refuses_a_foreign_spec(ros, dds_domain, policies,
                                                                                 tmp_path):
    """Every wait is on a message (safety state or diagnostics), none on wall-clock bounds: the
    staleness rule is checked by its tick count, so a stall of this process (the robot thread below
    stalls with the node) must not change the outcome."""
    from trirl_ros.core.deploy.backends.base import LowState
    from trirl_ros.core.deploy.unitree import dds, idl, layouts as L
    from trirl_ros.core.deploy.unitree.cdr import CdrCodec
    from trirl_ros.core.deploy.unitree.messages import lowstate_to_record

    states, diags = _state_probe(ros)
    # a spec for another robot: configure fails with the reason on /diagnostics, no backend is opened
    foreign = _deploy_node(ros, dds_domain, "g1_29dof", policies["go2"], config_path("deploy", "sim2sim.yaml"))
    assert diags.wait(lambda d: any(x.status[0].level == x.status[0].ERROR for x in d), 20.0), diags
    message = diags[-1].status[0].message
    assert message == foreign.last_error
    assert "policy spec does not match the robot" in message
    assert "trained for robot 'go2', this robot is 'g1_29dof'" in message
    assert foreign.backend is None
    _drop(ros, foreign)
    diags.clear()

    robot = load_robot_spec("go2")
    participant = dds.open_participant(dds.DdsConfig.loopback(dds_domain))
    writer = dds.RawWriter(participant, dds.LOWSTATE_TOPIC, idl.GoLowState)
    codec = CdrCodec(L.GO_LOWSTATE)
    mode = {"value": "ok"}  # ok | bad_crc (every other state) | nan | off
    stop = threading.Event()

    def robot_loop():  # a 200 Hz robot in this process: standing pose, upright IMU
        tick = 0
        while not stop.is_set():
            if mode["value"] == "off":
                time.sleep(0.005)
                continue
            tick += 1
            st = LowState.zeros(20)
            st.tick = tick
            st.motor_q[robot.motor_indices] = robot.default_pos
            st.imu_quat[:] = (1.0, 0.0, 0.0, 0.0)
            corrupt = mode["value"] == "bad_crc" and tick % 2 == 0
            if mode["value"] == "nan":
                st.motor_q[4] = np.nan  # sealed with a valid CRC
            rec = lowstate_to_record(st, "unitree_go")
            if corrupt:
                rec["motor_state"]["q"][4] = np.nan  # changed after sealing: CRC no longer matches
            writer.write(codec.encode(rec))
            time.sleep(0.005)

    thread = threading.Thread(target=robot_loop, daemon=True)
    thread.start()
    try:
        # the default rule (3 ticks) while the robot sends: in ZERO_TORQUE for 2 s (100 ticks) without
        # damping; then LowState stops -> damping on the 3rd tick without a new state
        node = _deploy_node(ros, dds_domain, "go2", policies["go2"],
                            _deploy_config(tmp_path, zero_torque_s=1000.0, stale_periods=3))
        assert states.wait(lambda s: "ZERO_TORQUE" in s, 20.0), f"states {states}; {node.last_error}"
        assert diags.wait(lambda d: d and int(_diag_value(d[-1], "ticks")) >= 100, 20.0), diags
        assert states[-1] == "ZERO_TORQUE", states
        mode["value"] = "off"
        assert states.wait(lambda s: s[-1] == "DAMPING", 10.0), states
        c = node.controller
        reason = c.fsm.transitions[-1].reason
        assert "stale robot state: no new state on 3 control ticks" in reason, reason
        print(f"stale: {reason}; {c.overruns} control loop overruns, longest gap {c.max_tick_gap * 1e3:.0f} ms")
        _drop(ros, node)

        # bad CRC ignored and counted; NaN in a valid LowState -> damping
        states.clear()
        diags.clear()
        mode["value"] = "ok"
        node = _deploy_node(ros, dds_domain, "go2", policies["go2"],
                            _deploy_config(tmp_path, zero_torque_s=1000.0, stale_periods=3))
        assert states.wait(lambda s: "ZERO_TORQUE" in s, 20.0), (  # says which side failed, if it does
            f"states {states}; {node.last_error}; controller state "
            f"{None if node.controller is None else node.controller.state}")
        mode["value"] = "bad_crc"
        assert diags.wait(lambda d: d and int(_diag_value(d[-1], "crc_errors")) >= 50, 20.0), diags
        assert states[-1] == "ZERO_TORQUE", states  # the NaN inside bad-CRC states never reached the FSM
        assert node.crc_errors() >= 50
        mode["value"] = "nan"
        assert states.wait(lambda s: s[-1] == "DAMPING", 10.0), states
        reason = node.controller.fsm.transitions[-1].reason
        assert "non-finite motor_q" in reason, reason
    finally:
        stop.set()
        thread.join(timeout=5.0)
        dds.close_participant(participant)
