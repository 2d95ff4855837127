"""moto's server mode in a child process on loopback (SQS, S3, SSM, Secrets Manager).

A child process keeps moto's CPU off the caller's event loop (it runs on the other core).
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


class MotoServer(LoopbackServer):
    """``with MotoServer() as moto: moto.url`` — stopped on exit."""

    what = "moto-server"
    startup_timeout_s = 30.0

    def __init__(self, workdir: Path | None = None) -> None:
        super().__init__(workdir, tmp_prefix="callbacks-moto-")

    @property
    def url(self) -> str:
        return f"http://{LOOPBACK}:{self.port}"

    def env(self, region: str = "eu-west-2") -> dict[str, str]:
        return aws_env_for(self.url, region)

    def argv(self, port: int) -> list[str]:
        return [sys.executable, "-m", "moto.server", "-H", LOOPBACK, "-p", str(port)]

    def ready(self, port: int) -> bool:
        return _ready(f"http://{LOOPBACK}:{port}")

    def reset(self) -> None:
        req = urllib.request.Request(self.url + "/moto-api/reset", method="POST")
        urllib.request.urlopen(req, timeout=5).close()
