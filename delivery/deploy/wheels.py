"""Runtime dependencies as wheels for a Lambda platform: ``pip download`` in a subprocess, then unpacked.

``download`` asks pip for binary wheels only (``--only-binary=:all:``) for the target interpreter and
manylinux platform, never the build machine's. ``unpack`` turns the wheels into the file map a Lambda zip
holds: each wheel's contents at the root (``*.data/purelib|platlib`` moved there too; scripts, headers and
data files dropped, as are byte-code caches), ``.dist-info`` kept so ``importlib.metadata`` still works.
"""

from __future__ import annotations

import re
import subprocess
import sys
import zipfile
from collections.abc import Sequence
from pathlib import Path

from delivery.deploy.requirements import Platform

_WHEEL_LINE = re.compile(r"^\s*(?:Saved|File was already downloaded) (.+\.whl)\s*$", re.MULTILINE)


class WheelError(RuntimeError):
    """pip could not provide a wheel for the platform, or two wheels disagree about a file."""


def download_command(requirements: Sequence[str], platform: Platform, dest: Path) -> list[str]:
    command = [
        sys.executable,
        "-m",
        "pip",
        "download",
        "--disable-pip-version-check",
        "--progress-bar",
        "off",
    ]
    command += ["--dest", str(dest), "--only-binary=:all:", "--implementation", "cp"]
    command += ["--python-version", platform.python, "--abi", platform.abi, "--abi", "abi3", "--abi", "none"]
    for tag in platform.pip_platforms:
        command += ["--platform", tag]
    return [*command, *requirements]


def download(requirements: Sequence[str], platform: Platform, dest: Path) -> list[Path]:
    """Wheels for ``requirements`` and their dependencies in ``dest`` (files already there are reused)."""
    dest.mkdir(parents=True, exist_ok=True)
    result = subprocess.run(
        download_command(requirements, platform, dest), capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        raise WheelError(f"pip download failed for {platform.label}:\n{result.stderr.strip()}")
    return resolved_wheels(dest, result.stdout + result.stderr)


def resolved_wheels(dest: Path, pip_output: str) -> list[Path]:
    """The wheels this resolution chose (pip names each one saved or reused), not every file in ``dest``."""
    names = sorted({Path(m.group(1).strip()).name for m in _WHEEL_LINE.finditer(pip_output)})
    if not names:
        raise WheelError(f"pip download reported no wheels:\n{pip_output.strip()}")
    return [dest / name for name in names]


def unpack(wheels: Sequence[Path]) -> dict[str, bytes]:
    files: dict[str, bytes] = {}
    for wheel in sorted(wheels):
        with zipfile.ZipFile(wheel) as archive:
            for info in archive.infolist():
                name = installed_name(info.filename)
                if name is None or info.is_dir():
                    continue
                data = archive.read(info)
                if files.get(name, data) != data:
                    raise WheelError(f"{wheel.name} and another wheel both ship {name} with different bytes")
                files[name] = data
    return files


def installed_name(name: str) -> str | None:
    """Where a wheel member lands in the package root; None for what a Lambda does not need."""
    if "__pycache__/" in name or name.endswith(".pyc"):
        return None
    first, _, rest = name.partition("/")
    if first.endswith(".data"):
        kind, _, inner = rest.partition("/")
        return inner if kind in ("purelib", "platlib") and inner else None
    return name
