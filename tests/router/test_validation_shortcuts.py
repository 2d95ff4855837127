"""The validation shortcuts (one call for the common, valid case) never change a result: each is compared,
over generated values, with the plain composition of the checks it short-cuts (value and issues alike)."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from delivery.config.inputs import id_problem
from delivery.router.events import Channel, EventIssue
from delivery.router.fields import (
    Issues,
    check_member,
    client_id_field,
    is_rfc3339,
    json_type,
    member,
    optional,
    quoted,
    required,
    timestamp,
)
from delivery.router.validation import _channels, _check_envelope, _envelope_checks, _routing_plan
from delivery.router.vocabulary import CHANNEL_STATUSES, CHANNEL_TYPES, SUPPLIER_STATUSES
from tests.router.builders import DELETE, MESSAGE_TYPE, message_event

ENUM_TEXT = st.sampled_from(sorted(CHANNEL_TYPES | CHANNEL_STATUSES | SUPPLIER_STATUSES)).flatmap(
    lambda v: st.sampled_from([v, v.lower(), v.upper(), v.title(), f" {v}"])
)
TIMESTAMPS = st.sampled_from(
    ["2026-02-05T10:15:00Z", "2026-02-29T10:15:00Z", "2024-02-29T00:00:00.5+01:00", "2026-04-31T10:15:00Z",
     "2026-02-05", "2026-02-05T10:15:00", "2026-13-01T00:00:00Z", "2026-01-31T23:59:60-00:30"]
)  # fmt: skip
VALUE = st.one_of(
    st.none(),
    st.just(""),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=False),
    st.lists(st.integers(), max_size=2),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
    st.text(max_size=10),
    st.from_regex(r"[A-Za-z0-9][A-Za-z0-9_-]{0,70}", fullmatch=True),  # ids, some too long
    ENUM_TEXT,
    TIMESTAMPS,
)


ANY = VALUE.map(lambda value: value)  # one opaque branch: ``x | ANY`` is then half x, half anything


def issues_of(check: Any) -> tuple[Any, Issues]:
    issues: Issues = []
    return check(issues), issues


@given(VALUE, st.booleans())
def test_member(value: Any, upper: bool) -> None:
    obj = {"k": value}

    def reference(issues: Issues) -> str:
        raw = required(obj, "k", "p.", issues)
        return check_member(raw, "k", "p.", issues, CHANNEL_STATUSES, upper) if raw else ""

    assert issues_of(lambda i: member(obj, "k", "p.", i, CHANNEL_STATUSES, upper)) == issues_of(reference)


@given(VALUE)
def test_timestamp(value: Any) -> None:
    obj = {"t": value}

    def reference(issues: Issues) -> str:
        raw = required(obj, "t", "", issues)
        if raw and not is_rfc3339(raw):
            message = f"must be a valid RFC 3339 timestamp such as 2026-02-05T10:15:00Z (got {quoted(raw)})"
            issues.append(EventIssue("t", message))
            return ""
        return raw

    assert issues_of(lambda i: timestamp(obj, "t", "", i)) == issues_of(reference)


@given(VALUE)
def test_client_id(value: Any) -> None:
    data = {"clientId": value}

    def reference(issues: Issues) -> str:
        raw = required(data, "clientId", "data.", issues)
        problem = id_problem(raw) if raw else None
        if problem is not None:
            issues.append(EventIssue("data.clientId", f"is not a valid client id: {problem}"))
            return ""
        return raw

    assert issues_of(lambda i: client_id_field(data, i)) == issues_of(reference)


def cased(values: frozenset[str]) -> st.SearchStrategy[str]:
    return st.sampled_from(sorted(values)).flatmap(lambda v: st.sampled_from([v, v.lower(), v.title()]))


CHANNEL_ITEM = st.fixed_dictionaries(
    {"type": cased(CHANNEL_TYPES) | ANY, "channelStatus": cased(CHANNEL_STATUSES) | ANY}
)


@given(st.lists(CHANNEL_ITEM, min_size=1, max_size=3) | st.lists(CHANNEL_ITEM | ANY, max_size=3) | ANY)
def test_channels(value: Any) -> None:
    data = {"channels": value}

    def reference(issues: Issues) -> tuple[Channel, ...]:  # the loop without its shortcut
        if type(value) is not list or not value:
            return _channels(data, issues)  # (no shortcut on this branch)
        out = []
        for index, item in enumerate(value):
            prefix = f"data.channels[{index}]."
            if type(item) is not dict:
                issues.append(EventIssue(prefix[:-1], f"must be an object (got {json_type(item)})"))
                continue
            out.append(Channel(member(item, "type", prefix, issues, CHANNEL_TYPES),
                               member(item, "channelStatus", prefix, issues, CHANNEL_STATUSES)))  # fmt: skip
        return tuple(out)

    assert issues_of(lambda i: _channels(data, i)) == issues_of(reference)


@given(
    st.one_of(
        st.none(), st.dictionaries(st.sampled_from(["id", "name", "version", "createdDate", "x"]), VALUE)
    )
)
def test_routing_plan(plan: Any) -> None:
    got: Issues = []
    result = _routing_plan({"routingPlan": plan}, got)
    if plan is None:
        assert result is None
        assert not got
        return
    expected: Issues = []
    values = [
        optional(plan, key, "data.routingPlan.", expected) for key in ("id", "name", "version", "createdDate")
    ]
    assert got == expected
    assert result == tuple(values)


ENVELOPE_KEYS = ["specversion", "id", "source", "subject", "type", "time", "datacontenttype", "dataschema",
                 "traceparent", "sequence", "ext1", "Bad-Name"]  # fmt: skip


ENVELOPE_VALUE = st.sampled_from(["1.0", "application/json", MESSAGE_TYPE, "x"]) | ANY


@given(
    st.sampled_from(ENVELOPE_KEYS),
    ENVELOPE_VALUE | st.just(DELETE),
    st.dictionaries(st.sampled_from(ENVELOPE_KEYS), ENVELOPE_VALUE | st.just(DELETE), max_size=3),
)
def test_envelope(key: str, value: Any, more: dict[str, Any]) -> None:
    """One attribute changed or removed (often several): the shortcut agrees with every check."""
    event = {**message_event(), key: value, **more}
    event = {k: v for k, v in event.items() if v is not DELETE}
    got: Issues = []
    expected: Issues = []
    assert _check_envelope(event, got) == _envelope_checks(event, expected)
    assert got == expected


@pytest.mark.parametrize("key", ENVELOPE_KEYS)
@pytest.mark.parametrize(
    "value", [DELETE, None, "", "x", 1, 1.0, True, [], {}, "1.0", "2026-02-30T00:00:00Z"]
)
def test_envelope_one_attribute_at_a_time(key: str, value: Any) -> None:
    event = {k: v for k, v in {**message_event(), key: value}.items() if v is not DELETE}
    got: Issues = []
    expected: Issues = []
    assert _check_envelope(event, got) == _envelope_checks(event, expected)
    assert got == expected
