"""Log lines (``delivery.observe.logs.JsonFormatter``): the fast path writes exactly what the documented
recipe writes — redact secret-named fields, scrub known secret values everywhere, ``json.dumps(...,
default=str, ensure_ascii=False)`` — for any fields, with secrets registered and without."""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from delivery.observe.encode import line_encoder
from delivery.observe.logs import REDACTED, SECRET_FIELDS, JsonFormatter
from delivery.observe.scrub import MASK, KnownSecrets

SECRET = "log-format-secret-7731"
NAME = st.sampled_from(["clientId", "apiKey", "Token", "msg", "level", SECRET, "ünï", ""]) | st.text(
    max_size=10
)
SCALAR = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()
    | st.text(max_size=20)
    | st.sampled_from([SECRET, f"echo {SECRET}!", "x" * 600 + SECRET])
)
VALUE = st.recursive(
    SCALAR,
    lambda inner: (
        st.lists(inner, max_size=3) | st.tuples(inner, inner) | st.dictionaries(NAME, inner, max_size=3)
    ),
    max_leaves=12,
)


def _redact(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {k: (REDACTED if str(k).lower() in SECRET_FIELDS else _redact(v)) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_redact(v) for v in value]
    return value


def _scrub(value: Any, known: KnownSecrets) -> Any:
    if isinstance(value, str):
        return known.scrub(value)
    if isinstance(value, Mapping):
        return {_scrub(k, known): _scrub(v, known) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_scrub(v, known) for v in value]
    return value


def reference_line(record: logging.LogRecord, known: KnownSecrets) -> str:
    doc: dict[str, Any] = {
        "level": record.levelname,
        "timestamp": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
        "logger": record.name,
        "msg": record.getMessage(),
    }
    doc.update(_redact(record.fields))  # type: ignore[attr-defined]
    scrubbed = _scrub(doc, known) if known.values else doc
    return json.dumps(scrubbed, default=str, ensure_ascii=False)


@given(st.dictionaries(NAME, VALUE, max_size=6), st.text(max_size=30), st.booleans())
def test_a_line_is_the_documented_recipe_byte_for_byte(
    fields: dict[str, Any], msg: str, with_secret: bool
) -> None:
    from delivery.observe.scrub import KNOWN_SECRETS

    if with_secret:
        KNOWN_SECRETS.add([SECRET])
    record = logging.LogRecord("delivery.test", logging.INFO, __file__, 1, msg, None, None)
    record.fields = fields
    line = JsonFormatter().format(record)
    assert line == reference_line(record, KNOWN_SECRETS)
    if KNOWN_SECRETS.values:
        assert SECRET not in line


def test_secrets_never_reach_a_line_in_a_key_a_value_or_a_nested_list() -> None:
    from delivery.observe.scrub import KNOWN_SECRETS

    KNOWN_SECRETS.add([SECRET])
    record = logging.LogRecord("delivery.test", logging.INFO, __file__, 1, f"m {SECRET}", None, None)
    record.fields = {SECRET: 1, "n": [1, (SECRET,)], "apiKey": "plain", "d": {"token": SECRET, "k": SECRET}}
    line = JsonFormatter().format(record)
    assert SECRET not in line
    doc = json.loads(line)
    assert doc["apiKey"] == REDACTED
    assert doc["d"] == {"token": REDACTED, "k": MASK}
    assert doc[MASK] == 1


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(),
    lambda inner: st.lists(inner) | st.dictionaries(st.text(), inner),
    max_leaves=20,
)


@given(JSON_VALUES)
def test_the_line_encoder_writes_what_json_dumps_writes(value: object) -> None:
    for ascii_only in (True, False):
        for circular in (True, False):
            dumps = line_encoder(ensure_ascii=ascii_only, check_circular=circular)
            assert dumps(value) == json.dumps(value, default=str, ensure_ascii=ascii_only)


def test_the_line_encoder_refuses_a_cycle_when_asked_to_check() -> None:
    loop: dict[str, object] = {}
    loop["self"] = loop
    with pytest.raises(ValueError, match="Circular reference"):
        line_encoder(ensure_ascii=False, check_circular=True)(loop)
