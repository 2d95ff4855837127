"""``callbacks config validate FILE... [--strict]``: check client config files against the schema.

Each problem is printed as ``FILE: path: message`` (the reference paths and messages); a valid file prints
``FILE: OK``. Exit status 1 if any file has a problem (unreadable, not JSON, or invalid), else 0.
Target endpoints go through the egress policy (SPEC P15; ``ALLOWED_EGRESS_CIDRS`` as the worker reads it):
a refused literal host is reported at ``targets.N.invocationEndpoint``; names are resolved only when the
worker connects. A malformed ``ALLOWED_EGRESS_CIDRS`` is one line on stderr and exit status 2.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TextIO


def register(subparsers: Any) -> None:
    config = subparsers.add_parser("config", help="client config tools")
    config_sub = config.add_subparsers(dest="config_command", required=True, metavar="ACTION")
    validate = config_sub.add_parser("validate", help="validate client config JSON files")
    validate.add_argument("files", nargs="+", metavar="FILE", help="client config JSON file(s)")
    validate.add_argument("--strict", action="store_true", help="also report unknown keys")
    validate.set_defaults(handler=run_validate)


def problems_in(
    path: Path, *, strict: bool, url_check: Callable[[str], str | None] | None = None
) -> list[str]:
    """``path: message`` lines for one file (empty when it is valid)."""
    from delivery.config.client import ConfigValidationError, parse_client_config
    from delivery.config.inputs import DuplicateKeyError, config_size_problem, loads_unique
    from delivery.errors import ConfigIssue

    try:
        raw = path.read_bytes()
        text = raw.decode("utf-8") if config_size_problem(len(raw)) is None else ""
    except (OSError, UnicodeDecodeError) as exc:
        return [f"cannot read file: {exc.__class__.__name__}: {exc}"]
    too_big = config_size_problem(len(raw))
    if too_big is not None:
        return [too_big]
    try:
        document = loads_unique(text)
    except DuplicateKeyError as exc:
        return [str(ConfigIssue(p, "Duplicate key")) for p in exc.paths]
    except json.JSONDecodeError as exc:
        return [f"invalid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"]
    except ValueError as exc:
        return [f"invalid JSON: {exc}"]
    try:
        parse_client_config(document, strict=strict, url_check=url_check)
    except ConfigValidationError as exc:
        return [str(issue) for issue in exc.issues]
    return []


def validate_files(
    files: list[str], *, strict: bool, out: TextIO, url_check: Callable[[str], str | None] | None = None
) -> int:
    failed = 0
    for name in files:
        problems = problems_in(Path(name), strict=strict, url_check=url_check)
        failed += bool(problems)
        for problem in problems or ["OK"]:
            print(f"{name}: {problem}", file=out)
    if len(files) > 1:
        print(f"{len(files) - failed} valid, {failed} invalid", file=out)
    return 1 if failed else 0


def run_validate(args: argparse.Namespace) -> int:
    from delivery.transport.egress import ALLOWED_EGRESS_CIDRS, EgressPolicy, EgressPolicyError

    try:
        egress = EgressPolicy.from_text(os.environ.get(ALLOWED_EGRESS_CIDRS))
    except EgressPolicyError as exc:
        print(f"error: {exc}; expected comma-separated CIDRs such as 127.0.0.0/8", file=sys.stderr)
        return 2
    return validate_files(
        list(args.files), strict=bool(args.strict), out=sys.stdout, url_check=egress.url_problem
    )


__all__ = ["problems_in", "register", "run_validate", "validate_files"]
