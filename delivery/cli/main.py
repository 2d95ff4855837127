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
    "delivery.cli.package",  # package lambda
    "delivery.cli.deploy",  # deploy render (+ deploy environment from the harness)
    "delivery.cli.send",  # send (one trial callback)
    "harness.cli_local",  # local up / demo
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="callbacks", description="enhanced-callbacks: secure webhook delivery"
    )
    parser.add_argument(
        "--debug", action="store_true", help="show the traceback of an unexpected error (any position)"
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
    given = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in given  # accepted before or after the sub-command
    args = build_parser().parse_args([a for a in given if a != "--debug"])
    try:
        return int(args.handler(args) or 0)
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # the edge: one line unless --debug asks for the traceback
        if debug:
            raise
        print(f"error: {one_line(exc)} (run with --debug for the traceback)", file=sys.stderr)
        return 1


def one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if type(exc).__name__ in text else f"{type(exc).__name__}: {text}"


if __name__ == "__main__":
    sys.exit(main())
