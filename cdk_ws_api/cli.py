"""The ``cdk-ws-api`` command (also ``python -m cdk_ws_api``).

Subcommands:

- ``local``: serve a synthesized WebSocket API on localhost (see ``cdk-ws-api local -h``);
  ``local invoke NAME``: invoke one function of it (see ``cdk-ws-api local invoke -h``).

Importing this module imports neither ``aws_cdk`` nor ``websockets``.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from types import ModuleType
from typing import Any

__all__ = ["build_parser", "main"]


def _command(commands: Any, name: str, help: str, module: ModuleType) -> argparse.ArgumentParser:
    # The module's docstring is the command's description (printed by -h).
    return commands.add_parser(  # type: ignore[no-any-return]
        name,
        help=help,
        description=module.__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )


def build_parser() -> argparse.ArgumentParser:
    from .local import cli as local_cli
    from .local import invoke_cli

    parser = argparse.ArgumentParser(
        prog="cdk-ws-api", description="Tools for Amazon API Gateway WebSocket APIs built with CDK."
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    local = _command(commands, "local", "serve a synthesized WebSocket API on localhost", local_cli)
    local_cli.add_arguments(local)
    local.set_defaults(run=local_cli.run)
    local_commands = local.add_subparsers(dest="local_command", metavar="[invoke]")
    invoke = _command(
        local_commands,
        "invoke",
        "invoke one function (through a running emulator, or standalone)",
        invoke_cli,
    )
    invoke_cli.add_invoke_arguments(invoke)
    invoke.set_defaults(run=invoke_cli.run_invoke)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the console script; returns the exit status."""
    args = build_parser().parse_args(argv)
    status: int = args.run(args)
    return status


if __name__ == "__main__":
    sys.exit(main())
