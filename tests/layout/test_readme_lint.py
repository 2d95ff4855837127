"""The README's ``make lint`` line, run exactly as printed: ruff and strict mypy pass on the tree."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from tests.layout.imports import ROOT
from tests.readme_commands import readme_command


def test_make_lint_as_printed_in_the_readme_passes() -> None:
    line = readme_command("README.md", "make lint").text
    if shutil.which("make") is None:
        pytest.skip("make is not installed")
    done = subprocess.run(
        ["bash", "-c", line], cwd=ROOT, capture_output=True, text=True, timeout=300, check=False
    )
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
