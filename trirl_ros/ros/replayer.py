"""``bag_replayer``: plays a rosbag2 (MCAP or sqlite3) back onto its topics, read with ``rosbags``
(no ``ros2 bag`` needed), with the recorded timing.

Parameters: bag (directory), rate (playback speed factor, 2.0 = twice as fast), loop, start_offset
(s skipped from the bag start), topics (list; empty = every topic whose message type is
importable here), wait_for_subscribers (s to wait until every topic has a subscriber before
playing; 0 = don't wait), exit_when_done (shut the node down after the last message).

Messages are published as the serialized bytes stored in the bag (header stamps unchanged).
Topics whose message package is not installed (e.g. tf2_msgs here) are skipped with a warning.
"""

from __future__ import annotations

import importlib
import threading
import time
from pathlib import Path

import rclpy
from rclpy.node import Node
from rclpy.qos import QoSProfile, ReliabilityPolicy

from trirl_ros.ros.node_main import run_node


def message_class(msgtype: str):
    """rclpy message class for 'pkg/msg/Name', or None if the package is not installed."""
    pkg, _, name = msgtype.split("/")
    try:
        return getattr(importlib.import_module(f"{pkg}.msg"), name)
    except (ImportError, AttributeError):
        return None


class BagReplayer(Node):
    def __init__(self) -> None:
        super().__init__("bag_replayer")
        p = self.declare_parameter
        self.bag = Path(p("bag", "").value)
        self.rate = float(p("rate", 1.0).value)
        self.loop = bool(p("loop", False).value)
        self.start_offset = float(p("start_offset", 0.0).value)
        topics = list(p("topics", [""]).value)
        self.wait_s = float(p("wait_for_subscribers", 0.0).value)
        self.exit_when_done = bool(p("exit_when_done", True).value)
        if not str(self.bag) or not self.bag.exists():
            raise FileNotFoundError(f"bag not found: {self.bag!s} (set the 'bag' parameter)")
        if self.rate <= 0:
            raise ValueError(f"rate must be > 0, got {self.rate}")
        from rosbags.highlevel import AnyReader

        from trirl_ros.core.demos.bagio import typestore

        self._reader_cls = AnyReader
        self._typestore = typestore()
        self.publishers_by_topic = {}
        with AnyReader([self.bag], default_typestore=self._typestore) as reader:
            self.duration = (reader.end_time - reader.start_time) * 1e-9
            for conn in reader.connections:
                if topics and topics != [""] and conn.topic not in topics:
                    continue
                if conn.topic in self.publishers_by_topic:
                    continue
                cls = message_class(conn.msgtype)
                if cls is None:
                    self.get_logger().warning(
                        f"skipping {conn.topic}: message type {conn.msgtype} is not installed")
                    continue
                self.publishers_by_topic[conn.topic] = self.create_publisher(
                    cls, conn.topic, QoSProfile(depth=100, reliability=ReliabilityPolicy.RELIABLE))
        if not self.publishers_by_topic:
            raise ValueError(f"bag {self.bag} has no topic that can be published here")
        self.done = False
        self.published = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._play, daemon=True)
        self._thread.start()
        self.get_logger().info(
            f"playing {self.bag} ({self.duration:.2f} s) on {sorted(self.publishers_by_topic)} at "
            f"{self.rate:g}x{', looping' if self.loop else ''}")

    def _wait_for_subscribers(self) -> None:
        deadline = time.monotonic() + self.wait_s
        while time.monotonic() < deadline and not self._stop.is_set():
            if all(pub.get_subscription_count() > 0 for pub in self.publishers_by_topic.values()):
                time.sleep(0.2)  # let the subscribers' discovery settle
                return
            time.sleep(0.05)
        self.get_logger().warning("not every topic has a subscriber; playing anyway")

    def _play(self) -> None:
        try:
            if self.wait_s > 0:
                self._wait_for_subscribers()
            while not self._stop.is_set():
                self._play_once()
                if not self.loop:
                    break
        except Exception as exc:  # noqa: BLE001 - report any bag error, then stop
            self.get_logger().error(f"playback failed: {type(exc).__name__}: {exc}")
        finally:
            self.get_logger().info(f"playback finished: {self.published} messages")
            self.done = True

    def _play_once(self) -> None:
        with self._reader_cls([self.bag], default_typestore=self._typestore) as reader:
            t_first = reader.start_time + int(self.start_offset * 1e9)
            conns = [c for c in reader.connections if c.topic in self.publishers_by_topic]
            wall0 = time.monotonic()
            for conn, t_ns, raw in reader.messages(connections=conns, start=t_first):
                if self._stop.is_set():
                    return
                delay = wall0 + (t_ns - t_first) * 1e-9 / self.rate - time.monotonic()
                if delay > 0:
                    self._stop.wait(delay)
                self.publishers_by_topic[conn.topic].publish(bytes(raw))
                self.published += 1

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=2.0)


def _spin_until_done(node: "BagReplayer") -> None:
    """Spin until shutdown, or until the bag has played out when ``exit_when_done`` is set."""
    while rclpy.ok() and not (node.done and node.exit_when_done):
        rclpy.spin_once(node, timeout_sec=0.1)


def main(args=None):
    """Console-script entry point."""
    return run_node(BagReplayer, args, spin=_spin_until_done, on_exit=BagReplayer.stop)


if __name__ == "__main__":
    raise SystemExit(main())
