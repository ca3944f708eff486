"""Unitree low-level DDS backend: LowState in on ``rt/lowstate``, LowCmd out on ``rt/lowcmd``.

Talks to a real G1 (``unitree_hg``) or Go2 (``unitree_go``), to Unitree's unitree_mujoco, or to our
own ``sim_robot`` -- all of them speak the same CycloneDDS topics and types. Every LowCmd carries
Unitree's CRC; a LowState whose CRC does not match is dropped and counted (``crc_errors``), it never
refreshes :meth:`latest_state`. For ``unitree_hg`` the LowCmd echoes the robot's ``mode_machine``
from the newest LowState (the G1 ignores commands whose mode_machine does not match).

Needs the ``cyclonedds`` binding (``make dds``).
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Sequence

import numpy as np

from trirl_ros.core.deploy.backends.base import LowCmd, LowState, RobotBackend
from trirl_ros.core.deploy.unitree import dds, idl
from trirl_ros.core.deploy.unitree.cdr import CdrCodec
from trirl_ros.core.deploy.unitree.layouts import (
    LOWCMD_DTYPES, LOWSTATE_DTYPES, NUM_SLOTS, check_family, empty_lowcmd)
from trirl_ros.core.deploy.unitree.messages import (
    MOTOR_MODE_ENABLE, lowcmd_to_record, record_to_lowstate)

log = logging.getLogger(__name__)


class UnitreeDdsBackend(RobotBackend):
    """RobotBackend over Unitree's DDS low-level interface.

    Args:
        msg_family: ``"unitree_hg"`` (G1, 35 slots) or ``"unitree_go"`` (Go2, 20 slots).
        config: where to talk DDS (:class:`~trirl_ros.core.deploy.unitree.dds.DdsConfig`); default
            domain 0 with CycloneDDS' own interface choice / ``CYCLONEDDS_URI``.
        mode_pr: ``unitree_hg`` ankle/waist mode (0 = pitch/roll).
        motor_mode: MotorCmd_.mode written into every slot in ``active_slots`` (others get 0).
        active_slots: motor slots the robot uses (e.g. ``RobotSpec.motor_indices``); None = all.
        lowstate_topic, lowcmd_topic: topic names (``rt/lowstate``, ``rt/lowcmd``).

    Counters (ints, read any time): ``states_received`` (valid states), ``crc_errors`` (dropped
    states with a bad CRC), ``decode_errors`` (undecodable samples), ``cmds_sent``.
    """

    def __init__(self, msg_family: str, config: dds.DdsConfig | None = None, *, mode_pr: int = 0,
                 motor_mode: int = MOTOR_MODE_ENABLE, active_slots: Sequence[int] | None = None,
                 lowstate_topic: str = dds.LOWSTATE_TOPIC, lowcmd_topic: str = dds.LOWCMD_TOPIC) -> None:
        self.msg_family = check_family(msg_family)
        self.num_slots = NUM_SLOTS[msg_family]
        self.config = config or dds.DdsConfig()
        self.mode_pr = int(mode_pr)
        modes = np.zeros(self.num_slots, dtype=np.uint8)
        slots = range(self.num_slots) if active_slots is None else list(active_slots)
        for s in slots:
            if not 0 <= s < self.num_slots:
                raise ValueError(f"active slot {s} outside [0, {self.num_slots}) for {msg_family}")
            modes[s] = motor_mode
        self._motor_modes = modes
        self._state_codec = CdrCodec(LOWSTATE_DTYPES[msg_family])
        self._cmd_codec = CdrCodec(LOWCMD_DTYPES[msg_family])
        self._cmd_rec = empty_lowcmd(msg_family)
        self._lock = threading.Lock()
        self._latest: tuple[LowState, float] | None = None
        self._new_state = threading.Condition(self._lock)
        self.mode_machine = 0
        #: writer's timestamp (ns since the Unix epoch, CLOCK_REALTIME) of the newest valid state;
        #: on one host, ``time.time_ns() - latest_source_ns`` is the state's age since publication.
        self.latest_source_ns = 0
        self.states_received = 0
        self.crc_errors = 0
        self.decode_errors = 0
        self.cmds_sent = 0
        self._closed = False
        self._participant = dds.open_participant(self.config)
        try:
            self._writer = dds.RawWriter(self._participant, lowcmd_topic, idl.lowcmd_type(msg_family))
            self._reader = dds.RawReader(self._participant, lowstate_topic, idl.lowstate_type(msg_family))
            self._rx = dds.ReceiveThread(self._participant, self._reader, self._on_sample,
                                         name=f"unitree-dds-{lowstate_topic}")
        except Exception:
            dds.close_participant(self._participant)
            raise
        log.info("Unitree DDS backend up: %s, domain %d, %s -> %s", msg_family, self.config.domain_id,
                 lowstate_topic, lowcmd_topic)

    @classmethod
    def from_spec(cls, robot, config: dds.DdsConfig | None = None, **kwargs) -> "UnitreeDdsBackend":
        """Backend for a :class:`~trirl_ros.core.robots.spec.RobotSpec` (family and active slots)."""
        if robot.num_motor_slots != NUM_SLOTS[check_family(robot.msg_family)]:
            raise ValueError(f"robot {robot.name}: num_motor_slots {robot.num_motor_slots} does not match "
                             f"{robot.msg_family} ({NUM_SLOTS[robot.msg_family]})")
        kwargs.setdefault("active_slots", [int(i) for i in robot.motor_indices])
        return cls(robot.msg_family, config, **kwargs)

    # -- receive ----------------------------------------------------------------------------
    def _on_sample(self, data: bytes, source_ns: int) -> None:
        stamp = time.monotonic()
        try:
            rec = self._state_codec.decode(data)
        except ValueError:
            self.decode_errors += 1
            log.warning("undecodable LowState sample (%d bytes) dropped", len(data))
            return
        state = record_to_lowstate(rec)
        if not state.crc_ok:
            self.crc_errors += 1
            log.warning("LowState with bad CRC dropped (tick %d, %d so far)", state.tick, self.crc_errors)
            return
        with self._lock:
            self._latest = (state, stamp)
            self.latest_source_ns = source_ns
            if self.msg_family == "unitree_hg":
                self.mode_machine = int(rec["mode_machine"])
            self.states_received += 1
            self._new_state.notify_all()

    def latest_state(self) -> tuple[LowState, float] | None:
        """Newest valid LowState and its receive time (``time.monotonic()``), or None. Drains the
        DDS reader first: a state that arrived while this process was not scheduled (its receive
        thread had not run yet) counts as received before the control loop decides anything."""
        if not self._closed:
            try:
                self._reader.drain(self._on_sample)
            except Exception:  # noqa: BLE001 -- the receive thread reports it; use what we have
                log.exception("draining %s before the control tick failed", self._reader.topic)
        with self._lock:
            return self._latest

    def wait_for_state(self, timeout: float, newer_than: int = 0) -> bool:
        """Block until more than ``newer_than`` valid states have arrived (True) or ``timeout``
        seconds pass (False). For startup and tests; the control loop never calls it."""
        deadline = time.monotonic() + timeout
        with self._lock:
            while self.states_received <= newer_than:
                left = deadline - time.monotonic()
                if left <= 0 or not self._new_state.wait(left):
                    return self.states_received > newer_than
            return True

    # -- send -------------------------------------------------------------------------------
    def encode(self, cmd: LowCmd) -> bytes:
        """The CDR bytes :meth:`send` would publish for ``cmd`` (CRC sealed)."""
        with self._lock:
            mode_machine = self.mode_machine
        rec = lowcmd_to_record(cmd, self.msg_family, mode_machine=mode_machine, mode_pr=self.mode_pr,
                               motor_mode=self._motor_modes, out=self._cmd_rec)
        return self._cmd_codec.encode(rec)

    def send(self, cmd: LowCmd) -> None:
        """Publish ``cmd`` on ``rt/lowcmd`` (S = 35 or 20 slots); ValueError on NaN/inf."""
        if self._closed:
            raise RuntimeError("UnitreeDdsBackend is closed")
        self._writer.write(self.encode(cmd))
        self.cmds_sent += 1

    def matched_readers(self) -> int:
        """How many LowCmd readers (robots / simulators) are matched right now."""
        return self._writer.matched()

    def close(self) -> None:
        """Stop the receive thread and delete the DDS participant (idempotent)."""
        if self._closed:
            return
        self._closed = True
        self._rx.stop()
        dds.close_participant(self._participant)
        log.info("Unitree DDS backend closed: %d states, %d bad CRC, %d commands", self.states_received,
                 self.crc_errors, self.cmds_sent)
