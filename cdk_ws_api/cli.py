"""The ``cdk-ws-api`` command (also ``python -m cdk_ws_api``).

Subcommands:

- ``local``: serve a synthesized WebSocket API on localhost (see ``cdk-ws-api local -h``).

Importing this module imports neither ``aws_cdk`` nor ``websockets``.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

__all__ = ["build_parser", "main"]


def build_parser() -> argparse.ArgumentParser:
    from .local import cli as local_cli

    parser = argparse.ArgumentParser(
        prog="cdk-ws-api", description="Tools for Amazon API Gateway WebSocket APIs built with CDK."
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    local = commands.add_parser(
        "local",
        help="serve a synthesized WebSocket API on localhost",
        description=local_cli.__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    local_cli.add_arguments(local)
    local.set_defaults(run=local_cli.run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the console script; returns the exit status."""
    args = build_parser().parse_args(argv)
    status: int = args.run(args)
    return status


if __name__ == "__main__":
    sys.exit(main())
