"""Fixtures of the load-test tests: a real mock webhook process (journal, forced statuses)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.children import MockInfo, start_mock, wait_mock
from harness.wiring import mint_certs


@pytest.fixture(scope="session")
def mock_process(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MockInfo]:
    """``mock-webhook serve`` in a child process (mTLS optional), as the local stack runs it."""
    state: Path = tmp_path_factory.mktemp("lt-mock")
    mint_certs(state / "certs")
    process, ready = start_mock(state, state / "certs", "optional", "mock")
    try:
        yield wait_mock(process, ready, "optional", timeout_s=30)
    finally:
        process.close()
