"""Helpers shared by the in-process rclpy tests of test/ros/.

- ``ros``: a private rclpy Context with a 2-thread MultiThreadedExecutor spinning on a thread;
  yields ``(context, executor, nodes)``; nodes appended to ``nodes`` are shut down (lifecycle
  nodes: ``trigger_shutdown`` first, releasing their backends) and destroyed afterwards. Uses
  ``ros_env`` (isolated domain).
- :func:`wait_until`: poll a predicate until it holds or a timeout passes.
- :class:`Inbox`: messages received by subscription callbacks, with an event-driven ``wait``.
- ``CI_STALE_PERIODS``: the stale-state tolerance of deploy nodes in tests that are not about it.
"""

from __future__ import annotations

import threading
import time

import pytest

# Stale-state tolerance (control ticks) of deploy nodes whose robot is a simulator that is not real
# time: the MuJoCo thread of the `mujoco` backend and the `sim_robot` process. On the loaded 2-core CI
# box those simulators were measured pausing 60-175 ms, and a robot that sends nothing for 3 ticks is
# rightly taken for a silent one. A stall of the deploy node's own process is not (it drains its
# backend on each tick and counts a late tick as an overrun), so the staleness rule itself is tested
# at the default 3 with an in-process robot in test_sim2sim_dds.py, and tick by tick in
# test/core/deploy/test_safety.py.
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


class Inbox:
    """Messages appended by subscription callbacks (``inbox.append`` is the callback); ``wait`` blocks
    until a predicate over them holds, woken by each new message rather than polling."""

    def __init__(self) -> None:
        self.items: list = []
        self._cond = threading.Condition()

    def append(self, msg) -> None:
        with self._cond:
            self.items.append(msg)
            self._cond.notify_all()

    def clear(self) -> None:
        with self._cond:
            self.items.clear()

    def wait(self, predicate, timeout: float) -> bool:
        """True as soon as ``predicate(items)`` holds; False if ``timeout`` s pass first."""
        with self._cond:
            return self._cond.wait_for(lambda: predicate(self.items), timeout)

    def __getitem__(self, index):
        with self._cond:
            return self.items[index]

    def __contains__(self, value) -> bool:
        with self._cond:
            return value in self.items

    def __len__(self) -> int:
        with self._cond:
            return len(self.items)

    def __repr__(self) -> str:
        with self._cond:
            return repr(self.items)


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
