"""The pure core imports no I/O library (STYLE rule 4)."""

from __future__ import annotations

import json
import subprocess
import sys

PURE_MODULES = (
    "delivery.models",
    "delivery.errors",
    "delivery.client_config",
    "delivery.envelope",
    "delivery.signing",
    "delivery.classify",
    "delivery.backoff",
    "delivery.gate_reply",
)
FORBIDDEN = ("aiohttp", "boto3", "botocore", "redis")


def test_pure_modules_do_not_import_io_libraries() -> None:
    code = (
        "import importlib, json, sys\n"
        f"for name in {PURE_MODULES!r}:\n"
        "    importlib.import_module(name)\n"
        f"print(json.dumps(sorted(m for m in {FORBIDDEN!r} if m in sys.modules)))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert json.loads(done.stdout) == []


def test_the_check_can_fail() -> None:
    code = (
        f"import delivery.gate, json, sys; print(json.dumps([m for m in {FORBIDDEN!r} if m in sys.modules]))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert "redis" in json.loads(done.stdout)
