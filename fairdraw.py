"""Compose Fairdraw: the ASGI application factory and the ``fairdraw`` command line.

This is the only module that imports every package; nothing imports it.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence


def build_parser() -> argparse.ArgumentParser:
    """Return the ``fairdraw`` argument parser with every package's subcommands."""
    parser = argparse.ArgumentParser(prog="fairdraw", description=__doc__)
    parser.add_subparsers(dest="command", required=True)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``fairdraw`` command line; return the process exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    handler = getattr(args, "handler", None)
    if handler is None:
        parser.print_usage(sys.stderr)
        return 2
    result: int = handler(args)
    return result


if __name__ == "__main__":
    sys.exit(main())
