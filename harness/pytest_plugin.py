"""pytest plugin entry point (registered through ``pytest11``): hooks and thin fixtures only."""

from __future__ import annotations

import pytest


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "integration: end-to-end scenarios against an environment")
    config.addinivalue_line("markers", "bench: benchmarks (not run by default; run with -m bench)")
