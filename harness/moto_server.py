"""moto's server mode in a child process on loopback (SQS, S3, SSM, Secrets Manager).

A child process keeps moto's CPU off the caller's event loop (it runs on the other core).
"""

from __future__ import annotations

import functools
import sys
import tempfile
import urllib.request
from pathlib import Path
from types import TracebackType

from harness.processes import LOOPBACK, ManagedProcess, ProcessStartError, free_port


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


class MotoServer:
    """``with MotoServer() as moto: moto.url`` — stopped on exit."""

    def __init__(self, workdir: Path | None = None) -> None:
        self._tmp = None if workdir else tempfile.TemporaryDirectory(prefix="callbacks-moto-")
        self.workdir = workdir or Path(self._tmp.name)  # type: ignore[union-attr]
        self.port = 0
        self._process: ManagedProcess | None = None

    @property
    def url(self) -> str:
        return f"http://{LOOPBACK}:{self.port}"

    def env(self, region: str = "eu-west-2") -> dict[str, str]:
        return aws_env_for(self.url, region)

    def start(self, attempts: int = 5) -> MotoServer:
        last: Exception | None = None
        for _ in range(attempts):
            port = free_port()
            argv = [sys.executable, "-m", "moto.server", "-H", LOOPBACK, "-p", str(port)]
            process = ManagedProcess(argv, log_path=self.workdir / f"moto-{port}.log")
            url = f"http://{LOOPBACK}:{port}"
            try:
                process.wait_ready(functools.partial(_ready, url), timeout_s=30, what="moto server")
            except ProcessStartError as exc:
                process.close()
                last = exc
                continue
            self.port, self._process = port, process
            return self
        raise ProcessStartError(f"could not start moto server: {last}")

    def reset(self) -> None:
        req = urllib.request.Request(self.url + "/moto-api/reset", method="POST")
        urllib.request.urlopen(req, timeout=5).close()

    def stop(self) -> None:
        if self._process is not None:
            self._process.close()
            self._process = None
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None

    def __enter__(self) -> MotoServer:
        return self.start()

    def __exit__(self, *exc: object | TracebackType) -> None:
        self.stop()
