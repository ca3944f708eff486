"""Shared test fixtures: paths of the shared material and ROS 2 isolation.

- ``shared_dir``: ``../shared`` relative to the checkout (robots/, mocap/, ...).
- ``robots_dir``: the Unitree MJCF folder (TRIRL_ROBOTS_DIR or ../shared/robots); a missing
  folder FAILS the test with the guidance of :mod:`trirl_ros.core.robots.models` (never skips).
- ``mocap_dir``: ``../shared/mocap``.
- ``ros_env``: a unique ROS_DOMAIN_ID (1..101, claimed with a lock file so concurrent pytest
  processes on this machine never share one; trirl_ros/core/deploy/unitree/domains.py, the same
  lock pool code as the DDS domains 150..232) and ROS_AUTOMATIC_DISCOVERY_RANGE=LOCALHOST.
  Sets os.environ for the test and returns the env dict to pass to subprocesses.
- ``other_ros_domain``: a second domain id from the same pool, held for the test.
- ``one_torch_thread``: torch limited to one thread for the test (folders of small-network tests
  make it autouse in their conftest).
"""

from __future__ import annotations

import itertools
import os
import tempfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
_DOMAIN_COUNTER = itertools.count()
_LOCK_DIR = Path(tempfile.gettempdir()) / "trirl_ros_test_domains"


@pytest.fixture(scope="session")
def repo_dir() -> Path:
    return REPO


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    path = REPO.parent / "shared"
    if not path.is_dir():
        pytest.fail(f"shared material folder {path} not found (expected next to the checkout)")
    return path


@pytest.fixture(scope="session")
def robots_dir() -> Path:
    from trirl_ros.core.robots.models import RobotsDirError, robots_dir

    try:
        return robots_dir()
    except RobotsDirError as exc:
        pytest.fail(str(exc))


@pytest.fixture(scope="session")
def mocap_dir(shared_dir: Path) -> Path:
    path = shared_dir / "mocap"
    if not path.is_dir():
        pytest.fail(f"mocap folder {path} not found")
    return path


def _claim_ros_domain():
    """A DomainClaim (lock file held) on a ROS domain id 1..101 no other test process holds; the
    search start moves on with every claim so consecutive tests do not reuse one domain."""
    from trirl_ros.core.deploy.unitree.domains import claim_domain

    try:
        return claim_domain(1, 101, _LOCK_DIR, start=os.getpid() * 31 + next(_DOMAIN_COUNTER))
    except RuntimeError as exc:
        pytest.fail(f"no free ROS domain for this test: {exc}")


@pytest.fixture
def ros_env(monkeypatch) -> dict[str, str]:
    with _claim_ros_domain() as claim:
        monkeypatch.setenv("ROS_DOMAIN_ID", str(claim.domain))
        monkeypatch.setenv("ROS_AUTOMATIC_DISCOVERY_RANGE", "LOCALHOST")
        monkeypatch.delenv("ROS_STATIC_PEERS", raising=False)
        yield dict(os.environ)


@pytest.fixture
def other_ros_domain() -> int:
    """A second ROS domain id (1..101), held for the test like ros_env's: for isolation checks."""
    with _claim_ros_domain() as claim:
        yield claim.domain


@pytest.fixture(scope="session")
def dds_domain():
    """A CycloneDDS domain id (150..232) held with a lock file for the whole session, so concurrent
    pytest processes and `trirl sim2sim --backend dds` never share one (see
    trirl_ros/core/deploy/unitree/domains.py). Session-scoped: a domain's configuration is fixed
    for the process."""
    from trirl_ros.core.deploy.unitree.domains import claim_domain

    try:
        claim = claim_domain()
    except RuntimeError as exc:
        pytest.fail(str(exc))
    with claim:
        yield claim.domain


@pytest.fixture
def one_torch_thread():
    """Small networks on a shared 2-core CPU: OpenMP threads only add contention."""
    import torch

    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)
