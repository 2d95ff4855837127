"""Child processes on loopback: free ports, readiness waits and clean stops.

Every server the project starts binds to 127.0.0.1 and is stopped (SIGTERM, then SIGKILL) when its
``ManagedProcess`` closes, so no process outlives the run that started it.
"""

from __future__ import annotations

import contextlib
import functools
import os
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from types import TracebackType
from typing import Self

LOOPBACK = "127.0.0.1"


class ProcessStartError(RuntimeError):
    """A child process exited or never became ready."""


def free_port(host: str = LOOPBACK) -> int:
    """A port that was free a moment ago (the caller retries on a bind race)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def port_open(host: str, port: int, timeout_s: float = 0.2) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout_s):
            return True
    except OSError:
        return False


class ManagedProcess:
    """A started child process in its own process group, stopped on ``close()``."""

    def __init__(
        self, argv: Sequence[str], *, log_path: Path | None = None, env: dict[str, str] | None = None
    ):
        self.argv = list(argv)
        self.log_path = log_path
        self._log = open(log_path, "ab") if log_path else subprocess.DEVNULL  # noqa: SIM115
        self.proc = subprocess.Popen(
            self.argv,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=env,
            start_new_session=True,
        )

    @property
    def pid(self) -> int:
        return self.proc.pid

    def alive(self) -> bool:
        return self.proc.poll() is None

    def wait_ready(self, ready: Callable[[], bool], timeout_s: float = 20.0, what: str = "process") -> None:
        deadline = time.monotonic() + timeout_s
        delay_s = 0.01
        while time.monotonic() < deadline:
            if not self.alive():
                raise ProcessStartError(f"{what} exited with code {self.proc.returncode}: {self.tail()}")
            if ready():
                return
            time.sleep(delay_s)
            delay_s = min(delay_s * 2, 0.2)
        self.close()
        raise ProcessStartError(f"{what} not ready after {timeout_s:.0f}s: {self.tail()}")

    def tail(self, n_bytes: int = 2000) -> str:
        if not self.log_path or not self.log_path.exists():
            return ""
        return self.log_path.read_bytes()[-n_bytes:].decode("utf-8", "replace")

    def close(self, timeout_s: float = 5.0) -> None:
        if self.alive():
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout_s)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout_s)
        if self._log is not subprocess.DEVNULL:
            self._log.close()  # type: ignore[union-attr]

    def __enter__(self) -> ManagedProcess:
        return self

    def __exit__(self, *exc: object | TracebackType) -> None:
        self.close()


class LoopbackServer:
    """A server child process on a free loopback port: started with retries (a lost race for the port
    looks like a failed start), stopped with its process group on ``stop()``/exit. Subclasses say how to
    start it (``argv``) and how to know it is ready (``ready``)."""

    what = "server"
    startup_timeout_s = 10.0

    def __init__(self, workdir: Path | None = None, *, tmp_prefix: str = "callbacks-") -> None:
        self._tmp = None if workdir else tempfile.TemporaryDirectory(prefix=tmp_prefix)
        self.workdir = workdir or Path(self._tmp.name)  # type: ignore[union-attr]
        self.port = 0
        self._process: ManagedProcess | None = None

    def argv(self, port: int) -> list[str]:
        raise NotImplementedError

    def ready(self, port: int) -> bool:
        raise NotImplementedError

    @property
    def process(self) -> ManagedProcess | None:
        return self._process

    def start(self, attempts: int = 5) -> Self:
        last: Exception | None = None
        for _ in range(attempts):
            port = free_port()
            process = ManagedProcess(self.argv(port), log_path=self.workdir / f"{self.what}-{port}.log")
            try:
                process.wait_ready(
                    functools.partial(self.ready, port), timeout_s=self.startup_timeout_s, what=self.what
                )
            except ProcessStartError as exc:  # most likely a lost race for the port
                process.close()
                last = exc
                continue
            self.port, self._process = port, process
            return self
        raise ProcessStartError(f"could not start {self.what}: {last}")

    def stop(self) -> None:
        if self._process is not None:
            self._process.close()
            self._process = None
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object | TracebackType) -> None:
        self.stop()
