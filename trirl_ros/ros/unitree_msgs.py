"""Import the ``unitree_hg`` / ``unitree_go`` ROS 2 message packages.

Uses an installed unitree_ros2 when one is importable (a sourced ROS workspace); otherwise the
packages built by ``make unitree_msgs`` into ``.deps/unitree_msgs`` of this checkout (or the prefix
named by ``TRIRL_UNITREE_MSGS_PREFIX``). The typesupport libraries of a local build are not on the
dynamic loader's path (the ROS wheels fix LD_LIBRARY_PATH once at interpreter start), so they are
preloaded by absolute path; rosidl's later ``dlopen`` by soname then finds them.
"""

from __future__ import annotations

import ctypes
import importlib
import logging
import os
import sys
from pathlib import Path

log = logging.getLogger(__name__)

ENV_VAR = "TRIRL_UNITREE_MSGS_PREFIX"
FAMILIES = ("unitree_hg", "unitree_go")


def default_prefix() -> Path:
    """Where ``make unitree_msgs`` installs: ``.deps/unitree_msgs`` next to the package source."""
    env = os.environ.get(ENV_VAR)
    return Path(env) if env else Path(__file__).resolve().parents[2] / ".deps" / "unitree_msgs"


_PRELOADED: set[str] = set()


def _site(prefix: Path) -> Path:
    return prefix / "lib" / f"python{sys.version_info[0]}.{sys.version_info[1]}" / "site-packages"


def _preload(prefix: Path, family: str) -> None:
    """Load the family's typesupport libraries of a local build by absolute path (once)."""
    if family in _PRELOADED:
        return
    for lib in sorted((prefix / "lib").glob(f"lib{family}__*.so")):
        ctypes.CDLL(str(lib), mode=ctypes.RTLD_GLOBAL)
    _PRELOADED.add(family)


def import_msgs(family: str):
    """The ``<family>.msg`` module (has LowCmd, LowState, MotorCmd, MotorState, IMUState, ...).

    Raises:
        ImportError: naming where it looked and how to build the packages.
    """
    if family not in FAMILIES:
        raise ValueError(f"unknown Unitree message family {family!r}; expected one of {FAMILIES}")
    prefix = default_prefix().resolve()
    try:
        module = importlib.import_module(f"{family}.msg")
    except ImportError:
        site = _site(prefix)
        if not (site / family).is_dir():
            raise ImportError(
                f"ROS 2 package {family} not found: not importable and not built in {prefix}. Run "
                f"`make unitree_msgs` (or source a unitree_ros2 workspace, or set {ENV_VAR}).") from None
        if str(site) not in sys.path:
            sys.path.append(str(site))
        module = importlib.import_module(f"{family}.msg")
        log.info("using %s messages from %s", family, prefix)
    if prefix in Path(module.__file__).resolve().parents:
        _preload(prefix, family)
    return module


def available(family: str) -> bool:
    """Whether :func:`import_msgs` would succeed."""
    try:
        import_msgs(family)
        return True
    except ImportError:
        return False
