"""Helpers shared by the in-process rclpy tests of test/ros/.

- ``ros``: a private rclpy Context with a 2-thread MultiThreadedExecutor spinning on a thread;
  yields ``(context, executor, nodes)``; nodes appended to ``nodes`` are shut down (lifecycle
  nodes: ``trigger_shutdown`` first, releasing their backends) and destroyed afterwards. Uses
  ``ros_env`` (isolated domain).
- :func:`wait_until`: poll a predicate until it holds or a timeout passes.
- ``CI_STALE_PERIODS``: the stale-state tolerance of deploy nodes in tests that are not about it.
"""

from __future__ import annotations

import threading
import time

import pytest

# Stale-state tolerance (control periods) of deploy nodes in tests that are not about staleness. On
# the shared 2-core CI box control timers and the DDS sim robot were measured stalling 60-175 ms (a
# spurious "no new state" just before the operator stop, or in HOLD), so these allow 10 periods
# (200 ms) instead of the default 3. The 3-period rule itself is tested in test/core/deploy and on a
# deliberate LowState stop in test_sim2sim_dds.py.
CI_STALE_PERIODS = 10


def wait_until(predicate, timeout: float, period: float = 0.02) -> bool:
    """True as soon as ``predicate()`` is truthy, polling every ``period`` s; after ``timeout`` s
    the value of one last call."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(period)
    return bool(predicate())


@pytest.fixture
def ros(ros_env):
    import rclpy
    from rclpy.executors import MultiThreadedExecutor

    context = rclpy.Context()
    rclpy.init(context=context)
    executor = MultiThreadedExecutor(num_threads=2, context=context)
    nodes = []
    spinner = threading.Thread(target=executor.spin, daemon=True)
    spinner.start()
    try:
        yield context, executor, nodes
    finally:
        for node in nodes:  # lifecycle nodes: release their backends (DDS, sim thread) first
            if hasattr(node, "trigger_shutdown"):
                try:
                    node.trigger_shutdown()
                except Exception:  # noqa: BLE001 -- already finalized / shut down by the test
                    pass
        executor.shutdown(timeout_sec=2.0)
        for node in nodes:
            node.destroy_node()
        rclpy.try_shutdown(context=context)
        spinner.join(timeout=5.0)
