"""moto's server mode in a child process on loopback (SQS, S3, SSM, Secrets Manager).

A child process keeps moto's CPU off the caller's event loop (it runs on the other core).

``sqs="moto-fast"`` (the default) runs moto with ``harness.moto_sqs_patch``: the same SQS semantics with
O(1) deletes and visibility changes, ~10-40x the throughput of stock moto under a backlog (stock moto
finds a message by a Python scan of the whole queue per receipt handle). ``sqs="moto"`` runs moto as
shipped, to tell a difference of the patch from a difference of moto.
"""

from __future__ import annotations

import sys
import urllib.request
from pathlib import Path

from harness.processes import LOOPBACK, LoopbackServer


# Variables that point boto3 at moto. boto3 honours AWS_ENDPOINT_URL natively.
def aws_env_for(endpoint_url: str, region: str = "eu-west-2") -> dict[str, str]:
    return {
        "AWS_ENDPOINT_URL": endpoint_url,
        "AWS_DEFAULT_REGION": region,
        "AWS_REGION": region,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
    }


def _ready(url: str) -> bool:
    try:
        with urllib.request.urlopen(url + "/moto-api/data.json", timeout=0.5) as resp:
            return bool(resp.status == 200)
    except OSError:
        return False


MOTO_VARIANTS = ("moto-fast", "moto")  # the local stack's choices: wiring.SQS_EMULATORS
_MODULES = {"moto-fast": "harness.moto_sqs_patch", "moto": "moto.server"}


class MotoServer(LoopbackServer):
    """``with MotoServer() as moto: moto.url`` — stopped on exit."""

    what = "moto-server"
    startup_timeout_s = 30.0

    def __init__(self, workdir: Path | None = None, sqs: str = "moto-fast") -> None:
        if sqs not in _MODULES:
            raise ValueError(f"sqs emulator {sqs!r}: expected one of {', '.join(MOTO_VARIANTS)}")
        super().__init__(workdir, tmp_prefix="callbacks-moto-")
        self.sqs = sqs

    @property
    def url(self) -> str:
        return f"http://{LOOPBACK}:{self.port}"

    def env(self, region: str = "eu-west-2") -> dict[str, str]:
        return aws_env_for(self.url, region)

    def argv(self, port: int) -> list[str]:
        return [sys.executable, "-m", _MODULES[self.sqs], "-H", LOOPBACK, "-p", str(port)]

    def ready(self, port: int) -> bool:
        return _ready(f"http://{LOOPBACK}:{port}")

    def reset(self) -> None:
        req = urllib.request.Request(self.url + "/moto-api/reset", method="POST")
        urllib.request.urlopen(req, timeout=5).close()
