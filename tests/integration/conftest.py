"""Scenario-suite helpers. The fixtures themselves come from the harness plugin (harness/pytest_plugin.py)."""

from __future__ import annotations

from typing import Any

import pytest

from harness.mock_admin import JournalRecord


def ok(records: list[JournalRecord]) -> list[JournalRecord]:
    return [r for r in records if 200 <= int((r.get("response") or {}).get("status", 0)) < 300]


@pytest.fixture
def role_client(callbacks_env: Any) -> Any:
    """``role_client("rate_limited")`` -> the client id playing that role (skips when there is none)."""

    def go(role: str) -> str:
        if not callbacks_env.has_role(role):
            pytest.skip(f"environment {callbacks_env.name!r} has no client for role {role!r}")
        return str(callbacks_env.role(role))

    return go
