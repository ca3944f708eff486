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


def run_node(make_node: Callable[[], N], args=None, spin: Callable[[N], None] = rclpy.spin,
             on_exit: Callable[[N], None] | None = None) -> int:
    """Run a node until Ctrl-C / shutdown; ``on_exit(node)`` runs before it is destroyed
    (e.g. the recorder saves what it holds). Returns the process exit code (0)."""
    rclpy.init(args=args)
    node = None
    try:
        node = make_node()
        spin(node)
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    except RuntimeError:  # SIGINT/SIGTERM shut the context down while the executor built its wait set:
        if rclpy.ok():    # rclpy raises RCLError ("the given context is not valid"), not the shutdown
            raise         # exception; anything else is a real error
    finally:
        if node is not None:
            if on_exit is not None:
                on_exit(node)
            node.destroy_node()
        rclpy.try_shutdown()
    return 0
