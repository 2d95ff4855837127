"""`callbacks` command line: one parser, sub-commands contributed by small modules.

Each module in ``COMMAND_MODULES`` exposes ``register(subparsers)`` which adds its sub-commands and sets
``handler=<callable(args) -> int>`` on each. Modules import their heavy dependencies inside handlers so that
``callbacks --help`` stays fast.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

COMMAND_MODULES: tuple[str, ...] = (
    "delivery.cli.config",  # config validate
    "delivery.cli.manage",  # clients / subscriptions / targets / applications-map
    "delivery.cli.worker",  # worker / redrive
    "delivery.cli.router",  # router
    "delivery.cli.send",  # send (one trial callback)
    "harness.cli_local",  # local up / demo
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="callbacks", description="enhanced-callbacks: secure webhook delivery"
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name == name:  # that part of the product is not installed/built yet
                continue
            raise
        module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.handler(args) or 0)
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
