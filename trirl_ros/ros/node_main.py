"""The one ``main()`` life cycle of every trirl_ros node, compatible with Humble, Jazzy and Kilted.

``rclpy.init`` -> build the node -> spin -> (always) ``on_exit`` + ``destroy_node`` +
``rclpy.try_shutdown``. Ctrl-C and an external shutdown end the spin quietly. (``with
rclpy.init()`` exists only on newer rclpy, so it is not used.)
"""

from __future__ import annotations

from typing import Callable, TypeVar

import rclpy
from rclpy.executors import ExternalShutdownException
from rclpy.node import Node

N = TypeVar("N", bound=Node)

#: what a spin can end with when the node is stopped (catch these, then ask :func:`ended_by_shutdown`)
SPIN_ENDINGS = (KeyboardInterrupt, ExternalShutdownException, RuntimeError)


def ended_by_shutdown(exc: BaseException) -> bool:
    """True when ``exc`` (one of :data:`SPIN_ENDINGS`) only says the node was stopped: Ctrl-C, an
    external shutdown, or the RCLError ("the given context is not valid") rclpy raises when SIGINT /
    SIGTERM shut the context down while the executor built its wait set. Any other RuntimeError, with
    the context still valid, is a real error."""
    return not isinstance(exc, RuntimeError) or not rclpy.ok()


def run_node(make_node: Callable[[], N], args=None, spin: Callable[[N], None] = rclpy.spin,
             on_exit: Callable[[N], None] | None = None) -> int:
    """Run a node until Ctrl-C / shutdown; ``on_exit(node)`` runs before it is destroyed
    (e.g. the recorder saves what it holds). Returns the process exit code (0)."""
    rclpy.init(args=args)
    node = None
    try:
        node = make_node()
        spin(node)
    except SPIN_ENDINGS as exc:
        if not ended_by_shutdown(exc):
            raise
    finally:
        if node is not None:
            if on_exit is not None:
                on_exit(node)
            node.destroy_node()
        rclpy.try_shutdown()
    return 0
