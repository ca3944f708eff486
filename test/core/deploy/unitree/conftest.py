"""Fixtures for the Unitree DDS tests: an isolated CycloneDDS domain on loopback.

``dds_domain`` (one per test session: a CycloneDDS domain's configuration is fixed for the process)
claims a DDS domain id in 150..232 with a lock file, so concurrent pytest processes
on this machine (and the ROS tests, which use 1..101) never share one. ``dds_config`` is a
loopback-only configuration on it (interface ``lo``, multicast off, unicast peer 127.0.0.1).
"""

from __future__ import annotations

import fcntl
import os
import tempfile
from pathlib import Path

import pytest

_LOCK_DIR = Path(tempfile.gettempdir()) / "trirl_ros_test_dds_domains"
_FIRST, _LAST = 150, 232


def require_cyclonedds():
    """Import cyclonedds or skip with the reason (the only allowed skip of these tests)."""
    return pytest.importorskip(
        "cyclonedds.domain",
        reason="cyclonedds Python binding not importable: run `make dds` (CycloneDDS 0.10.2)")


@pytest.fixture(scope="session")
def dds_domain():
    _LOCK_DIR.mkdir(parents=True, exist_ok=True)
    span = _LAST - _FIRST + 1
    start = os.getpid() % span
    for k in range(span):
        domain = _FIRST + (start + k) % span
        handle = open(_LOCK_DIR / f"{domain}.lock", "w")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            handle.close()
            continue
        try:
            yield domain
        finally:
            handle.close()
        return
    pytest.fail(f"all DDS test domains {_FIRST}..{_LAST} are held by other test processes")


@pytest.fixture(scope="session")
def dds_config(dds_domain):
    require_cyclonedds()
    from trirl_ros.core.deploy.unitree.dds import DdsConfig

    return DdsConfig.loopback(dds_domain)
