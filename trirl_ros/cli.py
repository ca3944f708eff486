"""The ``trirl`` command line: one subcommand group per module in :mod:`trirl_ros.commands`.

Each command module defines ``register(subparsers)`` which adds its parser(s) and sets
``func`` (a callable taking the parsed args and returning an exit code). Only the CLI prints;
the core library logs.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys

# subcommand group -> module implementing it (imported lazily so `trirl --help` stays fast)
COMMANDS = {
    "robots": "trirl_ros.commands.robots",
    "bench": "trirl_ros.commands.bench",
    "demos": "trirl_ros.commands.demos",
    "examples": "trirl_ros.commands.examples",
    "train": "trirl_ros.commands.train",
    "plot": "trirl_ros.commands.plot",
    "rollout": "trirl_ros.commands.rollout",
    "export": "trirl_ros.commands.export",
    "sim2sim": "trirl_ros.commands.sim2sim",
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="trirl", description=__doc__.splitlines()[0])
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for module in COMMANDS.values():
        importlib.import_module(module).register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(levelname)s %(name)s: %(message)s",
    )
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except (ValueError, FileNotFoundError, RuntimeError) as exc:
        # Library errors are written to name the problem; show them without a traceback.
        if args.verbose:
            raise
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
