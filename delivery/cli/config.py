"""``callbacks config validate FILE... [--strict]``: check client config files against the schema.

Each problem is printed as ``FILE: path: message`` (the reference paths and messages); a valid file prints
``FILE: OK``. Exit status 1 if any file has a problem (unreadable, not JSON, or invalid), else 0.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any, TextIO

from delivery.config.json_types import strict_json


def register(subparsers: Any) -> None:
    config = subparsers.add_parser("config", help="client config tools")
    config_sub = config.add_subparsers(dest="config_command", required=True, metavar="ACTION")
    validate = config_sub.add_parser("validate", help="validate client config JSON files")
    validate.add_argument("files", nargs="+", metavar="FILE", help="client config JSON file(s)")
    validate.add_argument("--strict", action="store_true", help="also report unknown keys")
    validate.set_defaults(handler=run_validate)


def problems_in(path: Path, *, strict: bool) -> list[str]:
    """``path: message`` lines for one file (empty when it is valid)."""
    from delivery.config.client import ConfigValidationError, parse_client_config

    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        return [f"cannot read file: {exc.__class__.__name__}: {exc}"]
    try:
        document = strict_json(text)
    except json.JSONDecodeError as exc:
        return [f"invalid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"]
    except ValueError as exc:
        return [f"invalid JSON: {exc}"]
    try:
        parse_client_config(document, strict=strict)
    except ConfigValidationError as exc:
        return [str(issue) for issue in exc.issues]
    return []


def validate_files(files: list[str], *, strict: bool, out: TextIO) -> int:
    failed = 0
    for name in files:
        problems = problems_in(Path(name), strict=strict)
        failed += bool(problems)
        for problem in problems or ["OK"]:
            print(f"{name}: {problem}", file=out)
    if len(files) > 1:
        print(f"{len(files) - failed} valid, {failed} invalid", file=out)
    return 1 if failed else 0


def run_validate(args: argparse.Namespace) -> int:
    return validate_files(list(args.files), strict=bool(args.strict), out=sys.stdout)


__all__ = ["problems_in", "register", "run_validate", "validate_files"]
