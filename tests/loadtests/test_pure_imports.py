"""Locust monkey-patches with gevent, so the pure modules must never pull it (or asyncio code) in.

Checked in a fresh interpreter: this pytest process must not import Locust at all.
"""

from __future__ import annotations

import subprocess
import sys

PURE = [
    "loadtests.message_ids", "loadtests.schedules", "loadtests.slo", "loadtests.names",
    "loadtests.deliveries", "loadtests.profiles", "loadtests.targets", "loadtests.payloads",
    "loadtests.publisher", "loadtests.journal_poller", "loadtests.environments", "loadtests.verdict",
]  # fmt: skip
LOCUST_SIDE = ["loadtests.plugin", "loadtests.run", "loadtests.users", "loadtests.shapes", "loadtests.steady",
               "loadtests.webui", "loadtests.e2e_rows"]  # fmt: skip


def loaded_after_import(modules: list[str], watched: tuple[str, ...]) -> list[str]:
    code = (
        "import sys\n"
        + "".join(f"import {m}\n" for m in modules)
        + f"print(','.join(m for m in {watched!r} if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    return [m for m in out.stdout.strip().split(",") if m]


def test_pure_modules_import_neither_locust_nor_gevent_nor_asyncio() -> None:
    assert loaded_after_import(PURE, ("locust", "gevent", "asyncio", "aiohttp", "redis")) == []


def test_the_locust_side_imports_no_asyncio_code() -> None:
    assert loaded_after_import(LOCUST_SIDE, ("asyncio", "aiohttp", "redis", "uvloop")) == []


def test_this_pytest_process_never_imported_locust() -> None:
    assert "locust" not in sys.modules
    assert "gevent" not in sys.modules
