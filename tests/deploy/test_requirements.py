"""The Lambda's runtime dependency list: complete (covers every third-party import of `delivery`) and taken
from pyproject.toml's versions."""

from __future__ import annotations

import sys
from importlib import metadata

import pytest

from delivery.deploy.requirements import (
    LAMBDA_DISTRIBUTIONS,
    PROJECT,
    lambda_requirements,
    normalise,
    requirement_name,
)
from delivery.deploy.wheels import installed_name
from tests.layout.imports import external_imports, module_files


def test_every_third_party_import_of_delivery_is_a_lambda_requirement() -> None:
    files = {name: path for name, path in module_files().items() if name.startswith("delivery")}
    imported = set().union(*external_imports(files).values()) - set(sys.stdlib_module_names)
    owners = metadata.packages_distributions()
    needed = {normalise(dist) for top in imported for dist in owners.get(top, [top])}
    provided = set(LAMBDA_DISTRIBUTIONS)
    for dist in LAMBDA_DISTRIBUTIONS:  # and what they bring along
        provided |= {requirement_name(r) for r in metadata.requires(dist) or [] if "extra" not in r}
    assert needed - provided - {"delivery"} == set()


def test_versions_come_from_the_project_metadata_without_markers() -> None:
    requirements = lambda_requirements(metadata.requires(PROJECT) or [])
    assert [requirement_name(r) for r in requirements] == sorted(LAMBDA_DISTRIBUTIONS)
    assert all(";" not in r for r in requirements)
    assert any(r.startswith("redis[hiredis]") for r in requirements)


def test_a_missing_runtime_requirement_is_named() -> None:
    with pytest.raises(ValueError, match=r"\['uvloop'\]"):
        lambda_requirements(
            ["aiohttp>=3", "boto3", "cryptography", "pydantic", "redis", "pytest; extra == 'x'"]
        )


@pytest.mark.parametrize(
    ("member", "lands"),
    [
        ("aiohttp/web.py", "aiohttp/web.py"),
        ("pkg-1.0.data/purelib/pkg/mod.py", "pkg/mod.py"),
        ("pkg-1.0.data/scripts/tool", None),
        ("pkg/__pycache__/mod.cpython-312.pyc", None),
    ],
)
def test_wheel_members_land_where_pip_would_put_them(member: str, lands: str | None) -> None:
    assert installed_name(member) == lands


@pytest.mark.parametrize(("arch", "machine"), [("x86_64", "x86_64"), ("arm64", "aarch64")])
def test_pip_is_asked_for_binary_wheels_of_the_lambda_platform_only(
    arch: str, machine: str, tmp_path
) -> None:
    from delivery.deploy.requirements import Platform
    from delivery.deploy.wheels import download_command

    command = download_command(["aiohttp>=3"], Platform("3.12", arch), tmp_path)
    platforms = [command[i + 1] for i, arg in enumerate(command) if arg == "--platform"]
    assert platforms
    assert all(p.endswith(f"_{machine}") and p.startswith("manylinux") for p in platforms)
    assert "--only-binary=:all:" in command
    assert command[command.index("--python-version") + 1] == "3.12"
    assert command[command.index("--implementation") + 1] == "cp"
    assert command[-1] == "aiohttp>=3"
