"""Fixtures for the Unitree DDS tests: an isolated CycloneDDS domain on loopback.

``dds_domain`` (test/conftest.py; one per test session) claims a DDS domain id in 150..232 with a
lock file. ``dds_config`` is a loopback-only configuration on it (interface ``lo``, multicast off,
unicast peer 127.0.0.1). CycloneDDS is a mandatory part of ``make setup``: without it these tests
FAIL with the command to run (never skip).
"""

from __future__ import annotations

import pytest

CYCLONEDDS_MISSING = ("cyclonedds Python binding not importable ({exc}): CycloneDDS 0.10.2 and its binding are "
                      "part of the set-up; run `make setup` (or just `make dds`)")


def require_cyclonedds():
    """Import the cyclonedds binding or FAIL with the set-up command (no silent skip)."""
    try:
        import cyclonedds.domain
    except ImportError as exc:
        pytest.fail(CYCLONEDDS_MISSING.format(exc=exc), pytrace=False)
    return cyclonedds.domain


@pytest.fixture(scope="session")
def dds_config(dds_domain):
    require_cyclonedds()
    from trirl_ros.core.deploy.unitree.dds import DdsConfig

    return DdsConfig.loopback(dds_domain)
