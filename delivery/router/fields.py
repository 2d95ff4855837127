"""Field checks for inbound events: each reads one key of a dict, records an ``EventIssue`` on failure.

Required checks return ``""`` (and record an issue) when the value is unusable, so a whole event can be
checked in one pass and every problem reported. Pure, plain Python (hot path).
"""

from __future__ import annotations

import json
import re
from collections.abc import Collection, Mapping
from datetime import date
from typing import Any, Final

from delivery.config.inputs import ID_RE, id_problem
from delivery.router.events import EventIssue

Issues = list[EventIssue]
_RFC3339: Final = re.compile(
    r"\d{4}-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12]\d|3[01])T(?:[01]\d|2[0-3]):[0-5]\d:(?:[0-5]\d|60)"
    r"(?:\.\d{1,9})?(?:Z|[+-](?:[01]\d|2[0-3]):[0-5]\d)"
)
_JSON_TYPES: Final = {
    str: "string", bool: "boolean", int: "number", float: "number", list: "array", dict: "object"
}  # fmt: skip


def json_type(value: object) -> str:
    return "null" if value is None else _JSON_TYPES.get(type(value), type(value).__name__)


def quoted(value: object) -> str:
    return json.dumps(value, ensure_ascii=False, default=str)


def optional(obj: Mapping[str, Any], key: str, prefix: str, issues: Issues) -> str | None:
    """A string that may be absent (``null`` counts as absent)."""
    value = obj.get(key)
    if value is None or type(value) is str:
        return value
    issues.append(EventIssue(prefix + key, f"must be a string (got {json_type(value)})"))
    return None


def required(obj: Mapping[str, Any], key: str, prefix: str, issues: Issues) -> str:
    """A non-empty string; ``""`` (with an issue recorded) when it is not one."""
    value = obj.get(key)
    if type(value) is str and value:
        return value
    if value is None:
        issues.append(EventIssue(prefix + key, "is required"))
    elif type(value) is str:
        issues.append(EventIssue(prefix + key, "must not be empty"))
    else:
        issues.append(EventIssue(prefix + key, f"must be a string (got {json_type(value)})"))
    return ""


def check_member(
    raw: str, key: str, prefix: str, issues: Issues, allowed: Collection[str], upper: bool
) -> str:
    value = raw.upper() if upper else raw.lower()
    if value in allowed:
        return value
    choices = ", ".join(sorted(allowed))
    issues.append(EventIssue(prefix + key, f"must be one of {choices} (got {quoted(raw)})"))
    return ""


def member(
    obj: Mapping[str, Any],
    key: str,
    prefix: str,
    issues: Issues,
    allowed: Collection[str],
    upper: bool = True,
) -> str:
    raw = obj.get(key)
    if type(raw) is str:  # the common case, in one call: a known value in any case
        value = raw.upper() if upper else raw.lower()
        if value in allowed:
            return value
    raw = required(obj, key, prefix, issues)
    return check_member(raw, key, prefix, issues, allowed, upper) if raw else ""


def optional_member(
    obj: Mapping[str, Any],
    key: str,
    prefix: str,
    issues: Issues,
    allowed: Collection[str],
    upper: bool = True,
) -> str | None:
    raw = optional(obj, key, prefix, issues)
    return None if raw is None else (check_member(raw, key, prefix, issues, allowed, upper) or None)


def is_rfc3339(value: str) -> bool:
    """RFC 3339 date-time; the calendar is only consulted for days 29-31 (the regex checks the ranges)."""
    if _RFC3339.fullmatch(value) is None:
        return False
    if value[8:10] < "29":
        return True
    try:
        date.fromisoformat(value[:10])
    except ValueError:
        return False
    return True


def timestamp(obj: Mapping[str, Any], key: str, prefix: str, issues: Issues) -> str:
    raw = obj.get(key)
    if type(raw) is str and _RFC3339.fullmatch(raw) is not None and raw[8:10] < "29":
        return raw  # the common case, in one call (see ``is_rfc3339``)
    raw = required(obj, key, prefix, issues)
    if raw and not is_rfc3339(raw):
        message = f"must be a valid RFC 3339 timestamp such as 2026-02-05T10:15:00Z (got {quoted(raw)})"
        issues.append(EventIssue(prefix + key, message))
        return ""
    return raw


def count(obj: Mapping[str, Any], key: str, prefix: str, issues: Issues) -> int | None:
    value = obj.get(key)
    if value is None or (type(value) is int and value >= 0):
        return value
    issues.append(EventIssue(prefix + key, f"must be a whole number >= 0 (got {quoted(value)})"))
    return None


def literal(obj: Mapping[str, Any], key: str, expected: str, issues: Issues) -> None:
    value = obj.get(key)
    if value is None:
        issues.append(EventIssue(key, f"is required (must be {quoted(expected)})"))
    elif value != expected:
        issues.append(EventIssue(key, f"must be {quoted(expected)} (got {quoted(value)})"))


def client_id_field(data: Mapping[str, Any], issues: Issues) -> str:
    """``data.clientId``: also names a config file/object and queues, so only the safe id set
    (``delivery.config.inputs``, the same rule as the config schema and the CLI)."""
    value = data.get("clientId")
    if type(value) is str and ID_RE.fullmatch(value) is not None:  # == id_problem(value) is None
        return value
    value = required(data, "clientId", "data.", issues)
    problem = id_problem(value) if value else None
    if problem is not None:
        issues.append(EventIssue("data.clientId", f"is not a valid client id: {problem}"))
        return ""
    return value
