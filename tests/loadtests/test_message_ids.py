"""Load-test message ids carry run id and publish time (and the mock's forced-status prefixes)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from loadtests.message_ids import ParsedId, forced_prefix, make_message_id, new_run_id, parse_message_id


@given(
    run_id=st.from_regex(r"[0-9a-f]{8}", fullmatch=True),
    publish_ms=st.integers(0, 2**45),
    seq=st.integers(0, 2**40),
    status=st.integers(100, 599),
    until=st.none() | st.integers(0, 2**45),
)
def test_round_trip(run_id: str, publish_ms: int, seq: int, status: int, until: int | None) -> None:
    plain = parse_message_id(make_message_id("load", run_id, publish_ms, seq))
    assert plain == ParsedId("load", run_id, publish_ms, seq)
    assert plain.deliverable
    prefix = forced_prefix(status, until)
    forced = parse_message_id(make_message_id(prefix, run_id, publish_ms, seq))
    assert forced == ParsedId(prefix, run_id, publish_ms, seq, status, until)
    assert forced.deliverable is (until is not None)


@pytest.mark.parametrize(
    "message_id",
    [None, 42, "", "load", "msg-123", "load-XYZ12345-1-2", "load-abcd1234-12x-3", "other-abcd1234-1-2",
     "force-5000-abcd1234-1-2", "force-500-until-abc-abcd1234-1-2"],
)  # fmt: skip
def test_foreign_ids_are_ignored(message_id: object) -> None:
    assert parse_message_id(message_id) is None


def test_forced_prefixes_match_the_mock_reference_forms() -> None:
    assert forced_prefix(500) == "force-500"
    assert forced_prefix(429, until_ms=1700000000000) == "force-429-until-1700000000000"
    with pytest.raises(ValueError, match="HTTP status"):
        forced_prefix(42)


def test_run_ids_are_fresh_hex() -> None:
    first, second = new_run_id(), new_run_id()
    assert first != second
    assert parse_message_id(make_message_id("load", first, 1, 1)) is not None
    with pytest.raises(ValueError, match="run id"):
        make_message_id("load", "has-dash", 1, 1)
