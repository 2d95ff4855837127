"""Fixtures of the router tests (builders live in ``tests.router.builders``)."""

from __future__ import annotations

import pytest

from tests.router.builders import FakeQueues


@pytest.fixture
def queues() -> FakeQueues:
    return FakeQueues()
