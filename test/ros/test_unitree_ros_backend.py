"""UnitreeRosBackend with real rclpy and the unitree_hg / unitree_go message packages built by
``make unitree_msgs``: a second node plays the robot (publishes LowState with Unitree's CRC,
subscribes LowCmd)."""

from __future__ import annotations

import threading

import pytest

from trirl_ros.ros.unitree_msgs import available

from .conftest import wait_until

if not (available("unitree_hg") and available("unitree_go")):  # part of `make setup`: fail, never skip
    pytest.fail("unitree_hg/unitree_go ROS 2 messages not built (.deps/unitree_msgs): run `make setup` "
                "(or just `make unitree_msgs`)", pytrace=False)


def test_message_conversion_round_trip_is_exact():
    from trirl_ros.core.deploy.unitree import layouts as L
    from trirl_ros.ros.unitree_msgs import import_msgs
    from trirl_ros.ros.unitree_ros_backend import record_to_msg

    for family in L.FAMILIES:
        msgs = import_msgs(family)
        for msg_type, dtype in ((msgs.LowCmd, L.LOWCMD_DTYPES[family]), (msgs.LowState, L.LOWSTATE_DTYPES[family])):
            rec = L.random_record(dtype, seed=3)
            msg = msg_type()
            record_to_msg(rec, msg)
            assert L.record_from_fields(msg, dtype).tobytes() == rec.tobytes(), f"{family} {msg_type.__name__}"
    assert len(import_msgs("unitree_hg").LowCmd().motor_cmd) == 35
    assert len(import_msgs("unitree_go").LowState().motor_state) == 20


@pytest.mark.parametrize("family", ["unitree_hg", "unitree_go"])
def test_backend_over_ros_topics(ros_env, family):
    import rclpy
    from rclpy.executors import SingleThreadedExecutor
    from rclpy.qos import QoSProfile, ReliabilityPolicy

    from trirl_ros.core.deploy.backends.base import LowCmd, LowState
    from trirl_ros.core.deploy.unitree import layouts as L
    from trirl_ros.core.deploy.unitree.messages import lowstate_to_record
    from trirl_ros.ros.unitree_msgs import import_msgs
    from trirl_ros.ros.unitree_ros_backend import UnitreeRosBackend, record_to_msg

    msgs = import_msgs(family)
    slots = L.NUM_SLOTS[family]
    context = rclpy.Context()
    rclpy.init(context=context)
    executor = SingleThreadedExecutor(context=context)
    deploy = rclpy.create_node("deploy_under_test", context=context)
    robot = rclpy.create_node("fake_robot", context=context)
    received: list = []
    qos = QoSProfile(depth=10, reliability=ReliabilityPolicy.RELIABLE)
    robot.create_subscription(msgs.LowCmd, "lowcmd", received.append, qos)
    state_pub = robot.create_publisher(msgs.LowState, "lowstate", qos)
    backend = UnitreeRosBackend(deploy, family)
    executor.add_node(deploy)
    executor.add_node(robot)
    spinner = threading.Thread(target=executor.spin, daemon=True)
    spinner.start()
    try:
        def publish(tick, corrupt=False):
            st = LowState.zeros(slots)
            st.tick = tick
            st.motor_q[1] = 0.25 * tick
            rec = lowstate_to_record(st, family, mode_machine=9)
            if corrupt:
                rec["tick"] += 1000  # changed after sealing
            msg = msgs.LowState()
            record_to_msg(rec, msg)
            state_pub.publish(msg)

        assert wait_until(lambda: (publish(1), backend.states_received >= 1)[1], 15.0, period=0.01), "no LowState received"
        state, _ = backend.latest_state()
        assert state.tick == 1 and state.motor_q[1] == pytest.approx(0.25) and state.crc_ok
        publish(2, corrupt=True)
        assert wait_until(lambda: backend.crc_errors == 1, 5.0, period=0.01)
        assert backend.latest_state()[0].tick == 1  # the corrupt state did not replace it

        cmd = LowCmd.zeros(slots)
        cmd.q[5], cmd.kp[5], cmd.kd[5] = 0.7, 40.0, 1.0
        backend.send(cmd)
        assert wait_until(lambda: len(received) >= 1, 10.0, period=0.01), "LowCmd not received by the robot node"
        rec = L.record_from_fields(received[-1], L.LOWCMD_DTYPES[family])
        assert L.crc_ok(rec), "LowCmd arrived with a wrong CRC"
        assert float(rec["motor_cmd"]["q"][5]) == pytest.approx(0.7) and float(rec["motor_cmd"]["kp"][5]) == 40.0
        if family == "unitree_hg":
            assert int(rec["mode_machine"]) == 9
        else:
            assert rec["head"].tolist() == [0xFE, 0xEF] and int(rec["level_flag"]) == 0xFF
    finally:
        backend.close()
        executor.shutdown(timeout_sec=2.0)
        spinner.join(5.0)
        deploy.destroy_node()
        robot.destroy_node()
        rclpy.try_shutdown(context=context)
