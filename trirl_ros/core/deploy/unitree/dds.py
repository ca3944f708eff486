"""CycloneDDS plumbing for Unitree's low-level topics: domain configuration, raw (pre-encoded)
writers and readers, and a receive thread.

Unitree robots use DDS domain 0 on the robot's Ethernet interface; unitree_mujoco uses domain 1 on
``lo``. Which interface and domain to use is configuration (:class:`DdsConfig`): either an explicit
interface (the XML below is generated) or whatever ``CYCLONEDDS_URI`` says.

Samples are written and taken as CDR bytes (:mod:`.cdr`) through the binding's C layer, so the hot
path never runs the binding's generic Python (de)serializer. Needs the ``cyclonedds`` binding
(``make dds``).
"""

from __future__ import annotations

import logging
import os
import threading
from dataclasses import dataclass
from typing import Callable

import ctypes

from cyclonedds._clayer import ddspy_take, ddspy_write
from cyclonedds.core import GuardCondition, ReadCondition, SampleState, ViewState, InstanceState, WaitSet
from cyclonedds.domain import Domain, DomainParticipant
from cyclonedds.internal import dds_c_t, load_cyclonedds
from cyclonedds.pub import DataWriter
from cyclonedds.qos import Policy, Qos
from cyclonedds.sub import DataReader
from cyclonedds.topic import Topic
from cyclonedds.util import duration

log = logging.getLogger(__name__)

LOWSTATE_TOPIC = "rt/lowstate"
LOWCMD_TOPIC = "rt/lowcmd"


@dataclass(frozen=True)
class DdsConfig:
    """Where to talk DDS.

    Attributes:
        domain_id: DDS domain (0 on the real robot, 1 in unitree_mujoco's default config).
        interface: network interface name (e.g. ``"eth0"``, ``"enp3s0"``, ``"lo"``); None keeps
            CycloneDDS' own choice or ``CYCLONEDDS_URI``.
        multicast: allow multicast discovery. Set False on ``lo`` (it has no multicast): discovery
            then uses unicast ``peers``.
        peers: unicast discovery peers (e.g. ``("127.0.0.1",)``); used when ``multicast`` is False.
        max_participants: participant indices probed on each peer (unicast discovery only).
        xml: a complete CycloneDDS XML configuration; overrides everything above except domain_id.
    """

    domain_id: int = 0
    interface: str | None = None
    multicast: bool = True
    peers: tuple[str, ...] = ()
    max_participants: int = 16
    xml: str | None = None

    def __post_init__(self) -> None:
        if not 0 <= self.domain_id <= 232:
            raise ValueError(f"DDS domain_id must be in [0, 232], got {self.domain_id}")
        if not self.multicast and not self.peers and self.xml is None:
            raise ValueError("DdsConfig: multicast=False needs at least one unicast peer")
        if self.max_participants < 1:
            raise ValueError(f"DdsConfig.max_participants must be >= 1, got {self.max_participants}")

    @classmethod
    def loopback(cls, domain_id: int) -> "DdsConfig":
        """Loopback only, no multicast, unicast discovery on 127.0.0.1 (tests, sim on one host)."""
        return cls(domain_id=domain_id, interface="lo", multicast=False, peers=("127.0.0.1",))

    def to_xml(self) -> str | None:
        """The CycloneDDS XML for this config, or None to use CYCLONEDDS_URI / built-in defaults."""
        if self.xml is not None:
            return self.xml
        if self.interface is None and self.multicast and not self.peers:
            return None
        general = []
        if self.interface is not None:
            general.append(
                f'<Interfaces><NetworkInterface name="{self.interface}" priority="default" '
                f'multicast="{"default" if self.multicast else "false"}"/></Interfaces>')
        general.append(f"<AllowMulticast>{'default' if self.multicast else 'false'}</AllowMulticast>")
        discovery = ""
        if self.peers:
            peers = "".join(f'<Peer Address="{p}"/>' for p in self.peers)
            discovery = (f"<Discovery><ParticipantIndex>auto</ParticipantIndex>"
                         f"<MaxAutoParticipantIndex>{self.max_participants}</MaxAutoParticipantIndex>"
                         f"<Peers>{peers}</Peers></Discovery>")
        return ('<CycloneDDS xmlns="https://cdds.io/config"><Domain Id="any"><General>'
                + "".join(general) + "</General>" + discovery + "</Domain></CycloneDDS>")


_DOMAINS: dict[int, tuple[Domain | None, str | None]] = {}
_DOMAINS_LOCK = threading.Lock()


def open_participant(config: DdsConfig) -> DomainParticipant:
    """A participant on ``config.domain_id`` with ``config``'s network settings.

    A domain's configuration is fixed for the process once its first participant exists, so a
    second participant on the same domain must ask for the same configuration (ValueError otherwise).
    """
    xml = config.to_xml()
    with _DOMAINS_LOCK:
        known = _DOMAINS.get(config.domain_id)
        if known is None:
            domain = Domain(config.domain_id, xml) if xml is not None else None
            _DOMAINS[config.domain_id] = (domain, xml)
            log.info("DDS domain %d: %s", config.domain_id,
                     "CYCLONEDDS_URI=" + os.environ.get("CYCLONEDDS_URI", "<unset>") if xml is None else xml)
        elif known[1] != xml:
            raise ValueError(f"DDS domain {config.domain_id} is already open in this process with another "
                             "configuration; use one DdsConfig per domain")
    return DomainParticipant(config.domain_id)


def close_participant(participant: DomainParticipant) -> None:
    """Delete ``participant`` and everything created under it (readers, writers, conditions)."""
    try:
        participant.__del__()  # the binding deletes entities only on garbage collection otherwise
    except Exception:  # noqa: BLE001 -- closing must not raise
        log.debug("closing participant failed", exc_info=True)


_LIB = None


def _dds_lib() -> ctypes.CDLL:
    global _LIB
    if _LIB is None:
        _LIB = load_cyclonedds()
        _LIB.dds_get_publication_matched_status.argtypes = [
            dds_c_t.entity, ctypes.POINTER(dds_c_t.publication_matched_status)]
        _LIB.dds_get_publication_matched_status.restype = dds_c_t.returnv
    return _LIB


def _topic(participant: DomainParticipant, name: str, idl_type: type) -> Topic:
    return Topic(participant, name, idl_type)


class RawWriter:
    """Writes pre-encoded CDR samples (bytes from :class:`.cdr.CdrCodec`) of ``idl_type``.

    Reliable, keep-last 1: matches both best-effort and reliable readers (the robot's, unitree_mujoco's).
    """

    def __init__(self, participant: DomainParticipant, topic: str, idl_type: type) -> None:
        qos = Qos(Policy.Reliability.Reliable(duration(milliseconds=10)), Policy.History.KeepLast(1))
        self._writer = DataWriter(participant, _topic(participant, topic, idl_type), qos=qos)
        self.topic = topic

    def write(self, data: bytes) -> None:
        """Publish one CDR-encoded sample (header included, length a multiple of 4)."""
        ret = ddspy_write(self._writer._ref, data)
        if ret < 0:
            raise RuntimeError(f"DDS write on {self.topic} failed with code {ret}")

    def matched(self) -> int:
        """Number of readers currently matched (discovered, QoS-compatible)."""
        status = dds_c_t.publication_matched_status()
        ret = _dds_lib().dds_get_publication_matched_status(self._writer._ref, ctypes.byref(status))
        if ret < 0:
            raise RuntimeError(f"dds_get_publication_matched_status failed with code {ret}")
        return int(status.current_count)


class RawReader:
    """Takes CDR samples of ``idl_type`` as bytes. Best-effort, keep-last ``depth``."""

    def __init__(self, participant: DomainParticipant, topic: str, idl_type: type, depth: int = 1) -> None:
        qos = Qos(Policy.Reliability.BestEffort, Policy.History.KeepLast(depth))
        self.reader = DataReader(participant, _topic(participant, topic, idl_type), qos=qos)
        self.topic = topic
        self._drain_lock = threading.Lock()

    def take(self, max_samples: int = 8) -> list[tuple[bytes, int]]:
        """Up to ``max_samples`` new samples, oldest first, as (CDR bytes, source timestamp in
        ns since the Unix epoch as stamped by the writer); never blocks."""
        ret = ddspy_take(self.reader._ref, max_samples)
        if isinstance(ret, int):
            raise RuntimeError(f"DDS take on {self.topic} failed with code {ret}")
        return [(data, info.source_timestamp) for data, info in ret if info.valid_data]

    def drain(self, on_sample: Callable[[bytes, int], None]) -> int:
        """Take every sample queued now and call ``on_sample(cdr_bytes, source_timestamp_ns)`` on each,
        oldest first; returns how many. Serialised: callers on two threads (a receive thread and a
        control loop that drains before it decides) see the samples once each, in order."""
        count = 0
        with self._drain_lock:
            while True:
                batch = self.take(16)
                for data, source_ns in batch:
                    on_sample(data, source_ns)
                count += len(batch)
                if len(batch) < 16:
                    return count


class ReceiveThread:
    """Calls ``on_sample(cdr_bytes, source_timestamp_ns)`` for every sample arriving on ``reader`` from a daemon thread
    that blocks in a DDS WaitSet (the GIL is released while waiting). :meth:`stop` wakes it at once.
    """

    def __init__(self, participant: DomainParticipant, reader: RawReader,
                 on_sample: Callable[[bytes, int], None], name: str = "dds-receive") -> None:
        self._reader = reader
        self._on_sample = on_sample
        self._stop = threading.Event()
        self._guard = GuardCondition(participant)
        self._waitset = WaitSet(participant)
        self._waitset.attach(ReadCondition(reader.reader, SampleState.Any | ViewState.Any | InstanceState.Any))
        self._waitset.attach(self._guard)
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            self._waitset.wait(duration(milliseconds=100))
            if self._stop.is_set():
                break
            try:
                self._reader.drain(self._on_sample)
            except Exception:  # noqa: BLE001 -- a bad sample must not kill the receive thread
                log.exception("error while handling a sample on %s", self._reader.topic)

    def stop(self, timeout: float = 2.0) -> None:
        """Stop the thread and wait for it (idempotent)."""
        self._stop.set()
        try:
            self._guard.set(True)
        except Exception:  # noqa: BLE001
            pass
        self._thread.join(timeout)
        if self._thread.is_alive():
            log.warning("DDS receive thread on %s did not stop within %.1f s", self._reader.topic, timeout)
