"""The runtime dependencies a Lambda package carries: one list, versions taken from ``pyproject.toml``.

``LAMBDA_DISTRIBUTIONS`` names the distributions that ``delivery`` imports at run time (a layout test checks
every third-party import of ``delivery`` against it). Their version specifiers and extras are read from the
installed project's metadata, so ``pyproject.toml`` stays the one place where versions live. Environment
markers are dropped: they describe the build machine, not the Lambda platform.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

PROJECT = "enhanced-callbacks"
# Distributions (normalised names) that `delivery` needs at run time; nothing from the test toolkit.
LAMBDA_DISTRIBUTIONS = ("aiohttp", "boto3", "cryptography", "pydantic", "redis", "uvloop")
_NAME = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)")


@dataclass(frozen=True, slots=True)
class Platform:
    """A Lambda runtime: CPython version and architecture, as pip's download flags spell them."""

    python: str  # "3.12"
    arch: str  # "x86_64" | "arm64"

    @property
    def machine(self) -> str:
        return "aarch64" if self.arch == "arm64" else "x86_64"

    @property
    def pip_platforms(self) -> tuple[str, ...]:
        """Amazon Linux 2023 has glibc 2.34; older manylinux wheels run there too."""
        return tuple(f"{tag}_{self.machine}" for tag in ("manylinux_2_34", "manylinux_2_28", "manylinux2014"))

    @property
    def abi(self) -> str:
        return "cp" + self.python.replace(".", "")

    @property
    def label(self) -> str:
        return f"py{self.python}-{self.arch}"


ARCHES = ("x86_64", "arm64")


def normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def requirement_name(requirement: str) -> str:
    match = _NAME.match(requirement)
    if match is None:
        raise ValueError(f"not a requirement: {requirement!r}")
    return normalise(match.group(1))


def lambda_requirements(project_requirements: Iterable[str]) -> tuple[str, ...]:
    """The project's requirements for ``LAMBDA_DISTRIBUTIONS``, without markers, in a stable order.

    Optional-extra requirements (``; extra == "dev"``) are never runtime requirements and are skipped.
    """
    chosen: dict[str, str] = {}
    for requirement in project_requirements:
        spec, _, marker = requirement.partition(";")
        if "extra" in marker:
            continue
        name = requirement_name(spec)
        if name in LAMBDA_DISTRIBUTIONS:
            chosen[name] = spec.strip()
    missing = sorted(set(LAMBDA_DISTRIBUTIONS) - set(chosen))
    if missing:
        raise ValueError(f"{PROJECT} does not declare {missing}; add them to pyproject.toml dependencies")
    return tuple(chosen[name] for name in sorted(chosen))
