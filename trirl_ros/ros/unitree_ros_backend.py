"""RobotBackend over ROS 2 topics carrying Unitree's own ``unitree_hg`` / ``unitree_go`` messages.

On a Unitree robot the DDS topic ``rt/lowstate`` *is* the ROS 2 topic ``/lowstate`` (ROS prefixes
``rt/``), with the same type names, so with unitree_ros2's message packages a ROS node talks to the
robot directly. This backend subscribes ``lowstate`` and publishes ``lowcmd`` on a node it is given
(the deploy node). Same semantics as :class:`~trirl_ros.core.deploy.backends.unitree_dds.UnitreeDdsBackend`:
bad-CRC states dropped and counted, CRC written on every command, ``mode_machine`` echoed (G1).
Messages are converted field by field to the packed C records of
:mod:`trirl_ros.core.deploy.unitree.layouts`, on which the CRC is computed.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Sequence

import numpy as np
from rclpy.qos import HistoryPolicy, QoSProfile, ReliabilityPolicy

from trirl_ros.core.deploy.backends.base import LowCmd, LowState, RobotBackend
from trirl_ros.core.deploy.unitree.layouts import (LOWSTATE_DTYPES, NUM_SLOTS, check_family, empty_lowcmd,
                                                   record_from_fields)
from trirl_ros.core.deploy.unitree.messages import MOTOR_MODE_ENABLE, lowcmd_to_record, record_to_lowstate
from trirl_ros.ros.unitree_msgs import import_msgs

log = logging.getLogger(__name__)


def record_to_msg(rec: np.ndarray, msg) -> None:
    """Write record ``rec`` (shape ``()``) into the ROS message ``msg`` (same field names)."""
    for name in rec.dtype.names:
        sub = rec.dtype.fields[name][0]
        value = rec[name]
        if sub.names is not None:
            record_to_msg(value, getattr(msg, name))
        elif sub.subdtype is not None and sub.subdtype[0].names is not None:
            elems = getattr(msg, name)
            columns = {f: value[f] for f in value.dtype.names}
            for i, elem in enumerate(elems):
                for f, col in columns.items():
                    v = col[i]
                    setattr(elem, f, v.copy() if v.ndim else v.item())
        elif sub.subdtype is not None:
            setattr(msg, name, value.copy())
        else:
            setattr(msg, name, value.item())


class UnitreeRosBackend(RobotBackend):
    """RobotBackend on ROS 2 topics with unitree_hg / unitree_go messages.

    Args:
        node: the rclpy node to create the subscription and publisher on (it must be spun).
        msg_family: ``"unitree_hg"`` (35 slots) or ``"unitree_go"`` (20 slots).
        lowstate_topic / lowcmd_topic: ROS topic names (``lowstate`` / ``lowcmd`` = DDS ``rt/...``).
        mode_pr, motor_mode, active_slots: as for the DDS backend.
    """

    def __init__(self, node, msg_family: str, *, lowstate_topic: str = "lowstate", lowcmd_topic: str = "lowcmd",
                 mode_pr: int = 0, motor_mode: int = MOTOR_MODE_ENABLE,
                 active_slots: Sequence[int] | None = None) -> None:
        self.msg_family = check_family(msg_family)
        self.num_slots = NUM_SLOTS[msg_family]
        self._msgs = import_msgs(msg_family)
        self.mode_pr = int(mode_pr)
        self._modes = np.zeros(self.num_slots, dtype=np.uint8)
        self._modes[list(range(self.num_slots)) if active_slots is None else list(active_slots)] = motor_mode
        self._state_dtype = LOWSTATE_DTYPES[msg_family]
        self._cmd_rec = empty_lowcmd(msg_family)
        self._cmd_msg = self._msgs.LowCmd()
        self._lock = threading.Lock()
        self._latest: tuple[LowState, float] | None = None
        self.mode_machine = 0
        self.states_received = 0
        self.crc_errors = 0
        self.cmds_sent = 0
        self._node = node
        sub_qos = QoSProfile(depth=1, reliability=ReliabilityPolicy.BEST_EFFORT, history=HistoryPolicy.KEEP_LAST)
        pub_qos = QoSProfile(depth=1, reliability=ReliabilityPolicy.RELIABLE, history=HistoryPolicy.KEEP_LAST)
        self._sub = node.create_subscription(self._msgs.LowState, lowstate_topic, self._on_state, sub_qos)
        self._pub = node.create_publisher(self._msgs.LowCmd, lowcmd_topic, pub_qos)
        self._closed = False

    def _on_state(self, msg) -> None:
        stamp = time.monotonic()
        rec = record_from_fields(msg, self._state_dtype)
        state = record_to_lowstate(rec)
        if not state.crc_ok:
            self.crc_errors += 1
            log.warning("LowState with bad CRC dropped (%d so far)", self.crc_errors)
            return
        with self._lock:
            self._latest = (state, stamp)
            if self.msg_family == "unitree_hg":
                self.mode_machine = int(rec["mode_machine"])
            self.states_received += 1

    def latest_state(self) -> tuple[LowState, float] | None:
        with self._lock:
            return self._latest

    def send(self, cmd: LowCmd) -> None:
        """Publish ``cmd`` (S slots) as a unitree LowCmd message with its CRC."""
        if self._closed:
            raise RuntimeError("UnitreeRosBackend is closed")
        with self._lock:
            mode_machine = self.mode_machine
        rec = lowcmd_to_record(cmd, self.msg_family, mode_machine=mode_machine, mode_pr=self.mode_pr,
                               motor_mode=self._modes, out=self._cmd_rec)
        record_to_msg(rec, self._cmd_msg)
        self._pub.publish(self._cmd_msg)
        self.cmds_sent += 1

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._node.destroy_subscription(self._sub)
        self._node.destroy_publisher(self._pub)
