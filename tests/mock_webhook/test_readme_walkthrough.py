"""mock_webhook/README.md's five-minute walk-through, run exactly as written, command by command.

Each command of the two bash blocks is run in one bash session (so ``export`` and ``&`` carry over); a
``# -> TEXT`` comment on a command is what its output must contain. ``callbacks send`` commands whose
expected line is not ``engine: delivered`` must exit 1 (not delivered); everything else exits 0.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.readme_commands import readme_commands

BIN = Path(sys.executable).parent

pytestmark = pytest.mark.skipif(shutil.which("curl") is None, reason="curl not installed")


def walkthrough_commands() -> list[tuple[str, str | None]]:
    """(command, expected text) for every command in the walk-through's bash blocks, in order."""
    return [(c.text, c.expected) for c in readme_commands("mock_webhook/README.md", "Five minutes")]


def test_the_walkthrough_parses_into_commands() -> None:
    commands = walkthrough_commands()
    assert commands[0] == ("mock-webhook certs init ./certs", "server SPKI pin:")
    assert any(c.startswith("callbacks send") and e == "engine: delivered" for c, e in commands)
    assert commands[-1] == ("kill %1 && wait", None)


def test_the_walkthrough_works_as_written(tmp_path: Path) -> None:
    commands = walkthrough_commands()
    script = []
    for index, (command, _) in enumerate(commands):
        script += [f"echo '::begin {index}'", command, f'echo "::end {index} $?"']
    env = {**os.environ, "PATH": f"{BIN}:{os.environ['PATH']}"}
    try:
        done = subprocess.run(
            ["bash", "-c", "\n".join(script)],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=240,
        )
    finally:
        _stop_mock(tmp_path / "ready.json")
    outputs = dict(re.findall(r"::begin (\d+)\n(.*?)::end \1 ", done.stdout, re.S))
    codes = dict(re.findall(r"::end (\d+) (\d+)", done.stdout))
    assert len(codes) == len(commands), done.stdout + done.stderr
    for index, (command, expected) in enumerate(commands):
        output = outputs[str(index)]
        not_delivered = command.startswith("callbacks send") and expected != "engine: delivered"
        assert codes[str(index)] == ("1" if not_delivered else "0"), f"{command}\n{output}\n{done.stderr}"
        if expected:
            assert expected in output, f"{command}\nexpected {expected!r} in:\n{output}"
    assert "mock-webhook stopped" in (tmp_path / "mock.log").read_text()


def _stop_mock(ready: Path) -> None:
    """If the walk-through did not get to ``kill %1``, stop the mock it started (by its own pid)."""
    if not ready.is_file():
        return
    pid = json.loads(ready.read_text())["pid"]
    cmdline = Path(f"/proc/{pid}/cmdline")
    try:
        if b"mock-webhook" in cmdline.read_bytes():  # still ours (not a reused pid)
            os.kill(pid, signal.SIGTERM)
    except (FileNotFoundError, ProcessLookupError):
        pass
