"""Subscription matching rules (T3.3) and one delivery per distinct target (T8)."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from delivery.router.events import Rejection
from delivery.router.matching import ClientRoutes, Match, compile_routes, match_event
from delivery.router.validation import validate_event
from delivery.router.vocabulary import (
    CHANNEL_STATUSES,
    CHANNEL_TYPES,
    MESSAGE_STATUSES,
    SUPPLIER_STATUSES,
    CallbackType,
)
from tests.router.builders import channel_event, channel_sub, config, message_event, message_sub


def match(event: dict[str, Any], *subscriptions: dict[str, Any], client_id: str = "client-a") -> Match:
    valid = validate_event(event)
    assert not isinstance(valid, Rejection), valid
    return match_event(valid, compile_routes(config(client_id, subscriptions)))


MESSAGE_CASES = [
    # (event data overrides, subscription statuses, matched?)
    ({}, ["DELIVERED"], True),
    ({}, ["DELIVERED", "FAILED"], True),
    ({}, ["FAILED"], False),
    ({}, [], False),  # empty list never matches
    ({"previousMessageStatus": "DELIVERED"}, ["DELIVERED"], False),  # unchanged status
    ({"previousMessageStatus": "SENDING"}, ["DELIVERED"], True),
    ({"messageStatus": "delivered"}, ["DELIVERED"], True),  # inbound case is normalised before matching
    ({"previousMessageStatus": "delivered"}, ["DELIVERED"], False),
]


@pytest.mark.parametrize(("data", "statuses", "matched"), MESSAGE_CASES)
def test_message_rules(data: dict[str, Any], statuses: list[str], matched: bool) -> None:
    result = match(message_event(**data), message_sub("sub-1", statuses, ["t-1"]))
    assert result.matched is matched
    assert result.subscription_ids == (("sub-1",) if matched else ())
    assert result.deliveries == ((("t-1", "sub-1"),) if matched else ())


CHANNEL_CASES = [
    # (event data, channelType, channelStatuses, supplierStatuses, matched?)
    ({}, "NHSAPP", ["DELIVERED"], ["delivered"], True),
    ({}, "SMS", ["DELIVERED"], ["delivered"], False),  # channel type mismatch
    ({"previousChannelStatus": "DELIVERED", "previousSupplierStatus": "delivered"}, "NHSAPP", ["DELIVERED"],
     ["delivered"], False),  # neither changed
    ({"previousChannelStatus": "SENDING", "previousSupplierStatus": "delivered"}, "NHSAPP", ["DELIVERED"],
     [], True),  # only the channel status changed, and it is subscribed
    ({"previousChannelStatus": "DELIVERED", "previousSupplierStatus": "sending"}, "NHSAPP", [],
     ["delivered"], True),  # supplier-status-only match
    ({"previousChannelStatus": "DELIVERED", "previousSupplierStatus": "sending"}, "NHSAPP", ["DELIVERED"],
     [], False),  # the changed dimension is not subscribed
    ({}, "NHSAPP", [], ["delivered"], True),  # empty channelStatuses: supplier dimension alone
    ({}, "NHSAPP", ["DELIVERED"], [], True),  # empty supplierStatuses: channel dimension alone
    ({}, "NHSAPP", [], [], False),  # both empty never match
    ({"supplierStatus": "read"}, "NHSAPP", ["FAILED"], ["read"], True),
    ({"channel": "nhsapp", "channelStatus": "delivered"}, "NHSAPP", ["DELIVERED"], [], True),
]  # fmt: skip


@pytest.mark.parametrize(("data", "channel", "statuses", "suppliers", "matched"), CHANNEL_CASES)
def test_channel_rules(
    data: dict[str, Any], channel: str, statuses: list[str], suppliers: list[str], matched: bool
) -> None:
    result = match(channel_event(**data), channel_sub("sub-c", channel, statuses, suppliers, ["t-1"]))
    assert result.matched is matched
    assert result.callback_type is CallbackType.CHANNEL_STATUS


def test_only_the_matching_subscription_is_returned() -> None:
    result = match(
        message_event(),
        message_sub("sub-failed", ["FAILED"], ["t-other"]),
        message_sub("sub-delivered", ["DELIVERED"], ["t-match"]),
    )
    assert result.subscription_ids == ("sub-delivered",)
    assert result.target_ids == ("t-match",)


def test_channel_event_only_matching_channel_subscription() -> None:
    result = match(
        channel_event(),
        channel_sub("sub-sms", "SMS", ["DELIVERED"], ["delivered"], ["t-sms"]),
        channel_sub("sub-app", "NHSAPP", ["DELIVERED"], [], ["t-app"]),
    )
    assert (result.subscription_ids, result.target_ids) == (("sub-app",), ("t-app",))


def test_cross_type_never_matches() -> None:
    assert not match(message_event(), channel_sub("c", "NHSAPP", ["DELIVERED"], ["delivered"], ["t"])).matched
    assert not match(channel_event(), message_sub("m", ["DELIVERED"], ["t"])).matched


def test_client_id_mismatch_never_matches() -> None:
    assert not match(message_event(), message_sub("s", ["DELIVERED"], ["t"]), client_id="client-b").matched


def test_fan_out_across_subscriptions_deduplicates_targets() -> None:
    result = match(
        message_event(),
        message_sub("sub-1", ["DELIVERED"], ["t-a", "t-b"]),
        message_sub("sub-2", ["FAILED"], ["t-z"]),
        message_sub("sub-3", ["DELIVERED", "FAILED"], ["t-b", "t-c"]),
    )
    assert result.subscription_ids == ("sub-1", "sub-3")
    assert result.deliveries == (("t-a", "sub-1"), ("t-b", "sub-1"), ("t-c", "sub-3"))


def test_no_subscriptions_means_no_match() -> None:
    result = match(message_event())
    assert result == Match(CallbackType.MESSAGE_STATUS)
    assert not result.matched


MESSAGE_STATUS = st.sampled_from(sorted(MESSAGE_STATUSES))
CHANNEL_TYPE = st.sampled_from(sorted(CHANNEL_TYPES))
CHANNEL_STATUS = st.sampled_from(sorted(CHANNEL_STATUSES))
SUPPLIER_STATUS = st.sampled_from(sorted(SUPPLIER_STATUSES))
message_data = st.fixed_dictionaries(
    {"messageStatus": MESSAGE_STATUS}, optional={"previousMessageStatus": MESSAGE_STATUS}
).map(lambda data: message_event(**data))
channel_data = st.fixed_dictionaries(
    {"channel": CHANNEL_TYPE, "channelStatus": CHANNEL_STATUS, "supplierStatus": SUPPLIER_STATUS},
    optional={"previousChannelStatus": CHANNEL_STATUS, "previousSupplierStatus": SUPPLIER_STATUS},
).map(lambda data: channel_event(**data))
ROUTES = compile_routes(  # one routes object for every example: its memo fills up across them
    config(
        "client-a",
        [
            message_sub("m-1", ["DELIVERED", "FAILED"], ["t-1"]),
            message_sub("m-2", ["FAILED", "SENDING"], ["t-1", "t-2"]),
            channel_sub("c-1", "NHSAPP", ["DELIVERED"], ["read", "delivered"], ["t-2"]),
            channel_sub("c-2", "NHSAPP", [], ["failed"], ["t-3"]),
            channel_sub("c-3", "SMS", ["FAILED", "SENDING"], [], ["t-1", "t-3"]),
        ],
    )
)


@given(st.lists(message_data | channel_data, min_size=1, max_size=20))
def test_remembered_matches_equal_matches_evaluated_afresh(events: list[dict[str, Any]]) -> None:
    for event in events:
        valid = validate_event(event)
        assert not isinstance(valid, Rejection), valid
        fresh = ClientRoutes(ROUTES.client_id, ROUTES.message_rules, ROUTES.channel_rules)  # empty memo
        assert match_event(valid, ROUTES) == match_event(valid, fresh)
        assert match_event(valid, ROUTES) == match_event(valid, fresh)  # now both remembered
