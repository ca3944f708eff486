"""Claiming a free DDS domain id on this host for a loopback sim (tests, ``trirl sim2sim --backend dds``).

A domain is held by an exclusive ``flock`` on ``<tmp>/trirl_ros_test_dds_domains/<id>.lock`` for as
long as the claim is open (the kernel releases it when the process dies), so concurrent processes
never share one. The pool 150..232 stays clear of the ROS test domains (1..101): a Fast DDS
participant on ROS_DOMAIN_ID d uses the same RTPS ports as a CycloneDDS participant on domain d.
"""

from __future__ import annotations

import fcntl
import os
import tempfile
from pathlib import Path

LOCK_DIR = Path(tempfile.gettempdir()) / "trirl_ros_test_dds_domains"
FIRST, LAST = 150, 232


class DomainClaim:
    """An exclusively held DDS domain id; :meth:`release` (or leaving the ``with`` block) frees it."""

    def __init__(self, domain: int, handle) -> None:
        self.domain = domain
        self._handle = handle

    def release(self) -> None:
        if self._handle is not None:
            self._handle.close()
            self._handle = None

    def __enter__(self) -> "DomainClaim":
        return self

    def __exit__(self, *exc) -> None:
        self.release()


def claim_domain(first: int = FIRST, last: int = LAST, lock_dir: Path = LOCK_DIR,
                 start: int | None = None) -> DomainClaim:
    """Lock the first free domain in ``first..last``, searching from offset ``start`` (default
    pid-dependent; any integer, taken modulo the pool size); RuntimeError when every one is held.
    The ROS 2 test fixtures (test/conftest.py) claim their ROS_DOMAIN_IDs 1..101 with it too."""
    lock_dir.mkdir(parents=True, exist_ok=True)
    span = last - first + 1
    start = os.getpid() % span if start is None else start % span
    for k in range(span):
        domain = first + (start + k) % span
        handle = open(lock_dir / f"{domain}.lock", "w")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            handle.close()
            continue
        return DomainClaim(domain, handle)
    raise RuntimeError(f"all domain ids {first}..{last} are held by other processes ({lock_dir})")
