"""The hand-written attribute texts (``delivery.router.wire``) equal ``json.dumps`` of the attribute dicts,
for generated valid events of both types: compact in reference order, canonical with sorted keys; and the
hot-path ``payload_json`` equals ``build_callback``'s serialisation (key, link and all)."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from delivery.router.events import Rejection, StatusEvent
from delivery.router.payload import _attributes, build_callback, payload_json
from delivery.router.validation import validate_event
from delivery.router.vocabulary import (
    CASCADE_TYPES,
    CHANNEL_STATUSES,
    CHANNEL_TYPES,
    MESSAGE_STATUSES,
    SUPPLIER_STATUSES,
)
from delivery.router.wire import attributes_json
from tests.router.builders import DELETE, channel_event, message_event

TEXT = st.text(st.characters(blacklist_categories=("Cs",)), max_size=12)  # quotes, escapes, non-ASCII
NON_EMPTY = st.text(st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=12)
MAYBE = st.one_of(st.just(DELETE), st.none(), TEXT)  # absent, null, empty or text


def cased(values: frozenset[str]) -> st.SearchStrategy[str]:
    """An enum value in any of the spellings validation accepts."""
    return st.sampled_from(sorted(values)).flatmap(lambda v: st.sampled_from([v, v.lower(), v.upper()]))


def with_data(event: dict[str, Any], fields: dict[str, Any]) -> dict[str, Any]:
    data = {**event["data"], **fields}
    return {**event, "data": {key: value for key, value in data.items() if value is not DELETE}}


channels = st.lists(
    st.fixed_dictionaries({"type": cased(CHANNEL_TYPES), "channelStatus": cased(CHANNEL_STATUSES)}),
    min_size=1,
    max_size=3,
)
plan = st.one_of(
    st.just(DELETE),
    st.dictionaries(st.sampled_from(["id", "name", "version", "createdDate"]), TEXT, max_size=4),
)
message_fields = st.fixed_dictionaries(
    {
        "messageId": NON_EMPTY,
        "messageReference": MAYBE,
        "messageStatus": cased(MESSAGE_STATUSES),
        "channels": channels,
        "routingPlan": plan,
        "messageStatusDescription": MAYBE,
        "messageFailureReasonCode": MAYBE,
    }
)
count = st.one_of(st.just(DELETE), st.integers(min_value=0, max_value=10**20))
channel_fields = st.fixed_dictionaries(
    {
        "messageId": NON_EMPTY,
        "messageReference": MAYBE,
        "channel": cased(CHANNEL_TYPES),
        "channelStatus": cased(CHANNEL_STATUSES),
        "supplierStatus": cased(SUPPLIER_STATUSES),
        "cascadeType": st.one_of(st.just(DELETE), cased(CASCADE_TYPES)),
        "cascadeOrder": count,
        "retryCount": count,
        "channelStatusDescription": MAYBE,
        "channelFailureReasonCode": MAYBE,
    }
)
events = st.one_of(
    st.builds(lambda f: with_data(message_event(), f), message_fields),
    st.builds(lambda f: with_data(channel_event(), f), channel_fields),
)


def valid(event: dict[str, Any]) -> StatusEvent:
    decoded = validate_event(event)
    assert not isinstance(decoded, Rejection), decoded
    return decoded


@given(events, NON_EMPTY)
def test_attribute_texts_are_json_dumps_of_the_attribute_dicts(event: dict[str, Any], event_id: str) -> None:
    decoded = valid({**event, "id": event_id})
    attrs = _attributes(decoded)
    compact, canonical = attributes_json(decoded)
    assert compact == json.dumps(attrs, separators=(",", ":"), ensure_ascii=False)
    assert canonical == json.dumps(attrs, separators=(",", ":"), ensure_ascii=False, sort_keys=True)


@given(events, NON_EMPTY, st.sampled_from(["/v1/message-batches", "https://example.test/api"]))
def test_payload_json_is_build_callbacks_serialisation(
    event: dict[str, Any], event_id: str, root: str
) -> None:
    decoded = valid({**event, "id": event_id})
    assert payload_json(decoded, root) == build_callback(decoded, root).payload_json
