"""fauxqs (npm) as the local stack's SQS emulator: a Node child process on 127.0.0.1.

fauxqs keeps its queues in a Node process with O(1) receipt handles and costs a fraction of moto's CPU per
message (issue 18). It is pinned in ``harness/fauxqs/package.json`` (+ lock) and installed there by
``make fauxqs`` (``npm ci``); ``harness/fauxqs/serve.mjs`` builds fauxqs's app and listens on 127.0.0.1
itself, because fauxqs's own entry points always listen on 0.0.0.0. Only SQS is served from here: S3, SSM,
Secrets Manager and CloudWatch Logs stay on moto, and boto3 reaches the two through its service-specific
endpoint variable (``AWS_ENDPOINT_URL_SQS``, see ``sqs_env_for``).
"""

from __future__ import annotations

import re
import shutil
import subprocess
import urllib.request
from pathlib import Path
from typing import Self

from harness.processes import LOOPBACK, LoopbackServer

FAUXQS_DIR = Path(__file__).resolve().parent / "fauxqs"
SERVE_SCRIPT = FAUXQS_DIR / "serve.mjs"
PACKAGE_JSON = FAUXQS_DIR / "node_modules" / "fauxqs" / "package.json"
MIN_NODE_MAJOR = 20
FIX = (
    "run `make fauxqs` (needs Node.js >= 20 and npm: `apt-get install nodejs npm`), "
    "or choose another emulator with --sqs moto-fast"
)


class EmulatorMissing(RuntimeError):
    """Node.js or the fauxqs package is not installed (the message names the fix)."""


def node_major(version: str) -> int | None:
    """``v20.20.2`` -> 20 (None when the text is not a Node version)."""
    match = re.fullmatch(r"v?(\d+)\.\d+\.\d+\S*", version.strip())
    return int(match.group(1)) if match else None


def missing_reason(node: str | None, version: str, installed: bool) -> str | None:
    """Why fauxqs cannot start (one line naming the fix), or None when it can."""
    if node is None:
        return f"the fauxqs SQS emulator needs Node.js, which is not on PATH: {FIX}"
    major = node_major(version)
    if major is None or major < MIN_NODE_MAJOR:
        found = f"{node} is {version.strip()!r}"
        return f"the fauxqs SQS emulator needs Node.js >= {MIN_NODE_MAJOR} ({found}): {FIX}"
    if not installed:
        return f"the fauxqs SQS emulator is not installed in {FAUXQS_DIR / 'node_modules'}: {FIX}"
    return None


def find_node() -> str:
    """The ``node`` binary that runs fauxqs (raises ``EmulatorMissing`` naming the fix)."""
    node = shutil.which("node")
    version = ""
    if node is not None:
        done = subprocess.run([node, "--version"], capture_output=True, text=True, timeout=30, check=False)
        version = done.stdout
    reason = missing_reason(node, version, PACKAGE_JSON.is_file())
    if reason is not None:
        raise EmulatorMissing(reason)
    assert node is not None
    return node


def sqs_env_for(sqs_url: str) -> dict[str, str]:
    """boto3's (and ``AsyncSqsClient.from_environment``'s) service-specific endpoint: SQS only, the rest of
    AWS stays on ``AWS_ENDPOINT_URL``."""
    return {"AWS_ENDPOINT_URL_SQS": sqs_url}


class FauxqsServer(LoopbackServer):
    """``with FauxqsServer() as sqs: sqs.url`` — stopped on exit."""

    what = "fauxqs"
    startup_timeout_s = 30.0

    def __init__(self, workdir: Path | None = None, region: str = "eu-west-2") -> None:
        super().__init__(workdir, tmp_prefix="callbacks-fauxqs-")
        self.region = region
        self._node = ""

    @property
    def url(self) -> str:
        return f"http://{LOOPBACK}:{self.port}"

    def start(self, attempts: int = 5) -> Self:
        self._node = find_node()
        return super().start(attempts)

    def argv(self, port: int) -> list[str]:
        return [self._node, str(SERVE_SCRIPT), str(port), self.region]

    def ready(self, port: int) -> bool:
        try:
            with urllib.request.urlopen(f"http://{LOOPBACK}:{port}/health", timeout=0.5) as resp:
                return bool(resp.status == 200)
        except OSError:
            return False
