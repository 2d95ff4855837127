"""``callbacks package lambda``: the deployment zip for the delivery and router Lambda functions.

    callbacks package lambda --python 3.12 --arch x86_64|arm64 --out DIR [--wheel-dir DIR]

Downloads the runtime dependencies as manylinux wheels for that platform (PyPI, through pip; ``--wheel-dir``
keeps them for the next build), adds the ``delivery`` package and writes
``DIR/callbacks-lambda-py<V>-<arch>.zip`` — the same bytes for the same inputs. Prints its path, SHA-256 and
size against Lambda's limits; exit 1 if it is over the 250 MB unzipped limit.
"""

from __future__ import annotations

import argparse
import re
import sys
import tempfile
from pathlib import Path
from typing import Any


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("package", help="build deployment packages")
    kinds = parser.add_subparsers(dest="package_kind", required=True, metavar="KIND")
    lam = kinds.add_parser(
        "lambda",
        help="the Lambda deployment zip (both handlers)",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    lam.add_argument("--python", default="3.12", help="Lambda Python runtime version (default 3.12)")
    lam.add_argument("--arch", default="x86_64", choices=("x86_64", "arm64"), help="Lambda architecture")
    lam.add_argument("--out", required=True, type=Path, help="directory for the zip")
    lam.add_argument("--wheel-dir", type=Path, help="keep downloaded wheels here (default: a temp dir)")
    lam.set_defaults(handler=run_package)


def run_package(args: argparse.Namespace) -> int:
    from delivery.deploy.bundle import HANDLERS, build
    from delivery.deploy.requirements import Platform
    from delivery.deploy.wheels import WheelError

    if not re.fullmatch(r"3\.\d{1,2}", args.python):
        print(f"callbacks: --python must look like 3.12, got {args.python!r}", file=sys.stderr)
        return 2
    platform = Platform(args.python, args.arch)
    try:
        if args.wheel_dir is not None:
            package = build(platform, args.out, args.wheel_dir)
        else:
            with tempfile.TemporaryDirectory(prefix="callbacks-wheels-") as tmp:
                package = build(platform, args.out, Path(tmp))
    except WheelError as exc:
        print(f"callbacks: {exc}", file=sys.stderr)
        return 1
    print(package.path)
    print(f"sha256 {package.sha256}")
    print(f"size {package.size.describe()}")
    print(f"handlers {' '.join(HANDLERS)}")
    return 0 if package.size.fits_unzipped else 1
