"""Running README commands as printed: a fixed port held by one test at a time, who listens where, and the
process tree a command leaves behind."""

from __future__ import annotations

import fcntl
import os
import sys
import tempfile
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import pytest

from harness.processes import port_open
from harness.waits import eventually

FREE_PORT_WAIT_S = 120.0

# Ctrl-C reaches a command started from a terminal: SIGINT at its default. A test run started in the
# background (``pytest ... &`` from a script) inherits SIGINT *ignored*, which bash and Python keep (POSIX: a
# background job ignores the terminal's interrupt), so the command would never see the test's Ctrl-C.
# Prefix a command's argv with this to reset it, then exec.
AS_FROM_A_TERMINAL = [
    sys.executable, "-c",
    "import os, signal, sys; signal.signal(signal.SIGINT, signal.SIG_DFL); os.execvp(sys.argv[1], sys.argv[1:])",  # noqa: E501
]  # fmt: skip


def clean_env(*, bin_first: Path | None = None) -> dict[str, str]:
    """The environment a user's shell would have: none of the suite's AWS_/CALLBACKS_/LOCUST_/PYTEST_
    settings; ``bin_first`` first on PATH (the README's bare commands assume an activated venv)."""
    skip = ("AWS_", "PYTEST_", "CALLBACKS_", "LOCUST_")
    env = {k: v for k, v in os.environ.items() if not k.startswith(skip)}
    if bin_first is not None:
        env["PATH"] = f"{bin_first}{os.pathsep}{env.get('PATH', '')}"
    return env


@contextmanager
def fixed_ports(*ports: int) -> Iterator[None]:
    """Hold the README's fixed ports: one holder at a time on this machine (a lock file per port, so xdist
    workers and other checkouts' suites take turns), then wait until nothing listens on them; skip when
    something that is not a README test keeps one for longer than ``FREE_PORT_WAIT_S``."""
    with ExitStack() as stack:
        for port in sorted(ports):
            lock = stack.enter_context((Path(tempfile.gettempdir()) / f"readme-port-{port}.lock").open("a"))
            fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
        try:
            eventually(lambda: not any(port_open("127.0.0.1", p) for p in ports), FREE_PORT_WAIT_S,
                       what=f"ports {ports} free")  # fmt: skip
        except AssertionError:
            pytest.skip(f"the README's fixed ports {ports}: something else holds one of them")
        yield


def listening(port: int) -> list[str]:
    """Local addresses (hex, as /proc shows them) of every socket listening on ``port``, IPv4 and IPv6."""
    found = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            address, hex_port = fields[1].rsplit(":", 1)
            if int(hex_port, 16) == port and fields[3] == "0A":  # 0A = TCP_LISTEN
                found.append(address)
    return found


LOOPBACK_ONLY = ["0100007F"]  # 127.0.0.1 in /proc/net/tcp, and no 0.0.0.0 or :: socket beside it


def _stat(pid: int) -> tuple[int, str] | None:
    """(parent pid, start time) of a live process, None when it is gone or a zombie."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return None
    return None if fields[0] == "Z" else (int(fields[1]), fields[19])


def descendants(pid: int) -> dict[int, str]:
    """Every live process below ``pid`` (pid -> start time, so a reused pid is not taken for it)."""
    table = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and (stat := _stat(int(entry.name))) is not None:
            table[int(entry.name)] = stat
    found: dict[int, str] = {}
    frontier = [pid]
    while frontier:
        parent = frontier.pop()
        for child, (ppid, started) in table.items():
            if ppid == parent and child not in found:
                found[child] = started
                frontier.append(child)
    return found


def still_running(processes: dict[int, str]) -> list[int]:
    return [
        pid for pid, started in processes.items() if (stat := _stat(pid)) is not None and stat[1] == started
    ]
