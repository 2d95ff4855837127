"""Each first mistake with ``mock-webhook serve`` is one line naming the file and the fix, exit status 2."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from mock_webhook.cli import main


def _certs(tmp_path: Path) -> Path:
    directory = tmp_path / "certs"
    assert main(["certs", "init", str(directory)]) == 0
    return directory


def only_ca(tmp_path: Path) -> list[str]:
    directory = _certs(tmp_path)
    for path in directory.iterdir():
        if path.name != "ca.pem":
            path.unlink()
    return ["--certs", str(directory)]


def corrupt_cert(tmp_path: Path) -> list[str]:
    directory = _certs(tmp_path)
    (directory / "server-cert.pem").write_text("-----BEGIN CERTIFICATE-----\nnot base64\n", encoding="utf-8")
    return ["--certs", str(directory)]


def foreign_key(tmp_path: Path) -> list[str]:
    directory = _certs(tmp_path)
    (directory / "server-key.pem").write_bytes((directory / "client-key.pem").read_bytes())
    return ["--certs", str(directory)]


def certs_is_a_file(tmp_path: Path) -> list[str]:
    (tmp_path / "certs.pem").write_text("x", encoding="utf-8")
    return ["--certs", str(tmp_path / "certs.pem")]


def faults(name: str, text: str | None) -> Callable[[Path], list[str]]:
    def build(tmp_path: Path) -> list[str]:
        if text is not None:
            (tmp_path / name).write_text(text, encoding="utf-8")
        return ["--certs", str(tmp_path / "fresh"), "--faults", str(tmp_path / name)]

    return build


CASES: dict[str, tuple[Callable[[Path], list[str]], list[str]]] = {
    "certs dir with only ca.pem": (
        only_ca,
        ["has ca.pem but not server-cert.pem, server-key.pem", "`mock-webhook certs init ", " --force`"],
    ),
    "corrupt certificate": (corrupt_cert, ["server-cert.pem: not a PEM certificate"]),
    "key of another certificate": (foreign_key, ["server-key.pem: does not belong to ", "server-cert.pem"]),
    "certs is a file": (certs_is_a_file, ["certs.pem: not a directory"]),
    "malformed fault yaml": (
        faults("faults.yaml", "/a:\n  steps: [\n    - status: 503\n"),
        ["faults.yaml: not valid YAML (line "],
    ),
    "malformed fault json": (faults("faults.json", "{'/a': 1}"), ["faults.json: not valid JSON (line 1"]),
    "missing fault file": (faults("nope.yaml", None), ["--faults ", "nope.yaml: file does not exist"]),
    "invalid fault script": (
        faults("faults.yaml", "/a:\n  steps:\n    - status: 999\n"),
        ["--faults ", "faults.yaml: /a.steps.0.status: must be an HTTP status"],
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_each_serve_mistake_is_one_line_and_exit_2(
    case: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    build, expected = CASES[case]
    args = build(tmp_path)
    capsys.readouterr()
    assert main(["serve", "--port", "0", "--admin-port", "0", *args]) == 2
    out, err = capsys.readouterr()
    lines = err.splitlines()
    assert len(lines) == 1, err
    for part in expected:
        assert part in lines[0], lines[0]
    assert lines[0].startswith("mock-webhook: error: ")
    assert "Traceback" not in out + err
    assert "serve --force" not in err
    assert "PEM lib" not in err


def test_debug_shows_the_traceback_instead(tmp_path: Path) -> None:
    argv = [sys.executable, "-m", "mock_webhook.cli", "serve", "--debug", "--port", "0", "--admin-port", "0",
            "--certs", str(tmp_path / "certs"), "--faults", str(tmp_path / "nope.yaml")]  # fmt: skip
    done = subprocess.run(argv, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode != 0
    assert "Traceback (most recent call last)" in done.stderr
    assert "UsageError: --faults " in done.stderr
