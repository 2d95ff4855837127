"""The product's own processes as children of the local stack: mock webhook, router, delivery worker.

Each is started through its console script (as an operator would run it) in its own process group via
``ManagedProcess``, with stdout+stderr in a log file under the state directory.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

from harness.processes import ManagedProcess, ProcessStartError


def console_script(name: str) -> list[str]:
    """argv prefix for one of our console scripts: next to the running interpreter, else on PATH."""
    beside = Path(sys.executable).parent / name
    if beside.is_file():
        return [str(beside)]
    found = shutil.which(name)
    if found:
        return [found]
    module = {"callbacks": "delivery.cli.main", "mock-webhook": "mock_webhook.cli"}[name]
    return [sys.executable, "-m", module]


def child_env(extra: dict[str, str]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "PYTEST_", "CALLBACKS_ENV"))}
    env.update({"PYTHONUNBUFFERED": "1", **extra})
    return env


@dataclass(frozen=True, slots=True)
class MockInfo:
    url: str
    admin_url: str
    ca_path: str
    server_pin: str
    mtls: str


def start_mock(state_dir: Path, certs_dir: Path, mtls: str, name: str) -> tuple[ManagedProcess, Path]:
    """Start ``mock-webhook serve`` (not waiting); returns the process and its ready file."""
    ready = state_dir / f"{name}.ready.json"
    ready.unlink(missing_ok=True)
    argv = [
        *console_script("mock-webhook"), "serve", "--port", "0", "--admin-port", "0",
        "--certs", str(certs_dir), "--mtls", mtls, "--ready-file", str(ready),
    ]  # fmt: skip
    return ManagedProcess(argv, log_path=state_dir / f"{name}.log", env=child_env({})), ready


def wait_mock(process: ManagedProcess, ready: Path, mtls: str, timeout_s: float) -> MockInfo:
    process.wait_ready(lambda: _ready_doc(ready) is not None, timeout_s=timeout_s, what="mock webhook")
    doc = _ready_doc(ready)
    if doc is None:  # pragma: no cover - wait_ready returned, so the file parsed a moment ago
        raise ProcessStartError(f"mock ready file {ready} vanished")
    return MockInfo(
        url=str(doc["url"]).rstrip("/"),
        admin_url=str(doc["adminUrl"]).rstrip("/"),
        ca_path=str(doc.get("caPath", "")),
        server_pin=str(doc.get("serverPin", "")),
        mtls=mtls,
    )


def _ready_doc(path: Path) -> dict[str, object] | None:
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return doc if isinstance(doc, dict) and "url" in doc and "adminUrl" in doc else None
