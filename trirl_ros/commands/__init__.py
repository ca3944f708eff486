"""Subcommands of the ``trirl`` CLI, one module each (``register(subparsers)`` + handler)."""
