"""The router imports no I/O library at import time (checked in a fresh interpreter): the pure modules by
design, the adapters because they import boto3 lazily (fast `callbacks --help` and Lambda cold starts)."""

from __future__ import annotations

import subprocess
import sys

PURE = ["vocabulary", "events", "fields", "validation", "wire", "payload", "matching", "plan"]
IO_LIBRARIES = ("boto3", "botocore", "aiohttp", "redis")


def test_router_imports_no_io_libraries() -> None:
    imports = "; ".join(f"import delivery.router.{name}" for name in PURE)
    code = f"import sys; {imports}; print(','.join(m for m in {IO_LIBRARIES!r} if m in sys.modules))"
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert done.stdout.strip() == ""
