"""Scenario-suite helpers. The fixtures themselves come from the harness plugin (harness/pytest_plugin.py)."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

import pytest

from harness.mock_admin import JournalRecord
from harness.queues import QueueMessage

# The broad end-to-end demo runs last: a bug is first reported by the scenario dedicated to it, whose message
# says what broke (under -x the demo would otherwise stop the run with a vaguer message).
RUN_LAST = ("test_demo.py",)
P10_ALWAYS = ("CLIENT_ID", "ERROR_CODE", "ERROR_MESSAGE", "FIRST_RECEIVED_AT", "RETRY_ATTEMPTS", "TARGET_ID")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Dedicated scenarios before the demo (a stable sort: the order within each group is kept)."""
    items.sort(key=lambda item: item.path.name in RUN_LAST)


def ok(records: list[JournalRecord]) -> list[JournalRecord]:
    return [r for r in records if 200 <= int((r.get("response") or {}).get("status", 0)) < 300]


def iso_ms(text: str | None) -> float:
    """FIRST_RECEIVED_AT (ISO-8601, ``Z``) as epoch milliseconds."""
    assert text, "FIRST_RECEIVED_AT is missing"
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp() * 1000


def assert_dead_letter(
    message: QueueMessage,
    *,
    client: str,
    target: str,
    code: str,
    error_message: str | re.Pattern[str],
    attempts: int,
    received_between_ms: tuple[float, float],
    status: int | None = None,
) -> None:
    """Every SPEC P10 attribute, exactly: the set of names, and each value.

    ``received_between_ms``: FIRST_RECEIVED_AT lies between the publish (minus 1 s for SQS's whole-second
    clocks) and the first thing that happened to the message (its first request, or its dead-lettering).
    """
    attributes = {k: v for k, v in message.attributes if k != "harnessRunId"}
    expected = set(P10_ALWAYS) | ({"STATUS_CODE"} if status is not None else set())
    assert set(attributes) == expected, (
        f"DLQ attributes {sorted(attributes)}, SPEC P10 wants {sorted(expected)}"
    )
    seen = {k: attributes[k] for k in ("ERROR_CODE", "CLIENT_ID", "TARGET_ID", "RETRY_ATTEMPTS")}
    wanted = {"ERROR_CODE": code, "CLIENT_ID": client, "TARGET_ID": target, "RETRY_ATTEMPTS": str(attempts)}
    assert seen == wanted
    if isinstance(error_message, str):
        assert attributes["ERROR_MESSAGE"] == error_message
    else:
        assert error_message.fullmatch(attributes["ERROR_MESSAGE"]), attributes["ERROR_MESSAGE"]
    assert attributes.get("STATUS_CODE") == (None if status is None else str(status))
    first_ms = iso_ms(attributes["FIRST_RECEIVED_AT"])
    low_ms, high_ms = received_between_ms
    assert low_ms - 1000 <= first_ms <= high_ms, (
        f"FIRST_RECEIVED_AT {attributes['FIRST_RECEIVED_AT']} is not between the publish and the first "
        f"attempt ({first_ms - low_ms:+.0f} ms after the publish, {first_ms - high_ms:+.0f} ms after the "
        "attempt)"
    )


@pytest.fixture
def role_client(callbacks_env: Any) -> Any:
    """``role_client("rate_limited")`` -> the client id playing that role (skips when there is none)."""

    def go(role: str) -> str:
        if not callbacks_env.has_role(role):
            pytest.skip(f"environment {callbacks_env.name!r} has no client for role {role!r}")
        return str(callbacks_env.role(role))

    return go
