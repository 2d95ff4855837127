"""mock_webhook/README.md's five-minute walk-through, run exactly as written, command by command.

Each command of the two bash blocks is run in one bash session (so ``export`` and ``&`` carry over); a
``# -> TEXT`` comment on a command is what its output must contain. ``callbacks send`` commands whose
expected line is not ``engine: delivered`` must exit 1 (not delivered); everything else exits 0.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import re
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from harness.waits import eventually
from tests.readme_commands import readme_commands
from tests.readme_runs import LOOPBACK_ONLY, clean_env, fixed_ports, listening

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


FAULTS_YAML = "{my-target: {steps: [{status: 503}]}}\n"  # the README's example faults.yaml


def _post_over_mtls(certs: Path, port: int, server_name: str, api_key: str, app: str) -> bytes:
    """One POST with the client certificate and the reference signature (key ``<app>.<api key>``), the
    server's certificate checked against ``server_name``."""
    context = ssl.create_default_context(cafile=certs / "ca.pem")
    context.load_cert_chain(certs / "client-cert.pem", certs / "client-key.pem")
    body = b'{"data": []}'
    signature = hmac.new(f"{app}.{api_key}".encode(), body, hashlib.sha256).hexdigest()
    head = (f"POST /my-target HTTP/1.1\r\nHost: {server_name}\r\nx-api-key: {api_key}\r\n"
            f"x-hmac-sha256-signature: {signature}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
            "Connection: close\r\n\r\n")  # fmt: skip
    raw = socket.create_connection(("127.0.0.1", port), timeout=30)
    with raw, context.wrap_socket(raw, server_hostname=server_name) as tls:
        tls.sendall(head.encode() + body)
        chunks = []
        while chunk := tls.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


@pytest.mark.timeout(240)
def test_the_command_line_section_runs_as_printed(tmp_path: Path) -> None:
    """certs init (for a host name), certs pin, then serve on 8443/8444 with the credentials in $KEY/$APP
    and the README's example faults.yaml: mTLS to the host name works, the script answers, SIGTERM exits 0."""
    init, pin, serve = readme_commands("mock_webhook/README.md", "Command line")
    env = {**clean_env(bin_first=BIN), "KEY": "readme-key", "APP": "readme-app"}
    (tmp_path / "faults.yaml").write_text(FAULTS_YAML, encoding="utf-8")
    for command in (init, pin):
        done = subprocess.run(["bash", "-c", command.text], cwd=tmp_path, env=env, capture_output=True,
                              text=True, timeout=60)  # fmt: skip
        assert done.returncode == 0, f"{command.text}\n{done.stdout}{done.stderr}"
    printed_pin = done.stdout.strip()
    with fixed_ports(8443, 8444), subprocess.Popen(
        ["bash", "-c", serve.text], cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        text=True, start_new_session=True,
    ) as proc:  # fmt: skip
        try:
            ready_file = tmp_path / "ready.json"
            eventually(lambda: ready_file.is_file() or proc.poll() is not None, 60, what="ready.json")
            assert proc.poll() is None, proc.communicate(timeout=30)[0]
            ready = json.loads(ready_file.read_text())
            assert (ready["url"], ready["adminUrl"]) == ("https://127.0.0.1:8443", "http://127.0.0.1:8444")
            assert (ready["serverPin"], ready["mtls"]) == (printed_pin, "required")
            assert listening(8443) == LOOPBACK_ONLY
            assert listening(8444) == LOOPBACK_ONLY
            for key, status in (("readme-key", b"503"), ("other", b"401")):  # the script's one 503, then $KEY
                answer = _post_over_mtls(tmp_path / "certs", 8443, "mock.example.test", key, "readme-app")
                assert answer.startswith(b"HTTP/1.1 " + status), answer[:200]
            with urllib.request.urlopen("http://127.0.0.1:8444/requests?limit=2", timeout=30) as resp:
                right, wrong = json.loads(resp.read())["requests"]
            assert (right["apiKeyValid"], wrong["apiKeyValid"]) == (True, False)  # $KEY
            assert right["signature"]["schemes"]["reference"]["verdict"] == "valid", right  # $APP.$KEY
            os.killpg(proc.pid, signal.SIGTERM)
            output = proc.communicate(timeout=60)[0]
        finally:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
    assert proc.returncode == 0, output
    assert "mock-webhook stopped" in output
