"""Subscription matching (SPEC-ROUTER T3.3/T3.4, with T8's one-envelope-per-target rule). Pure.

A ``ClientConfig`` is compiled once into ``ClientRoutes`` (frozen sets of canonical enum values per
subscription); ``match_event`` then evaluates the rules in config order:

- message event: only MessageStatus subscriptions; match iff the status changed (absent previous counts as
  changed) and it is in ``messageStatuses`` (an empty list never matches);
- channel event: only ChannelStatus subscriptions with ``channelType == channel``; match iff (supplier
  status changed and subscribed) or (channel status changed and subscribed); empty lists are "not
  subscribed on that dimension", never wildcards.

Result: every matching subscriptionId (for logs) and one delivery per **distinct** target, carrying the
first matching subscription that names it (T7.6).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import NamedTuple

from delivery.config.client import ChannelStatusSubscription, ClientConfig, MessageStatusSubscription
from delivery.router.events import ChannelStatusEvent, MessageStatusEvent, StatusEvent
from delivery.router.vocabulary import CallbackType

MAX_MEMO = 4096  # matches remembered per client (see ``ClientRoutes.memo``)


@dataclass(frozen=True, slots=True)
class MessageRule:
    subscription_id: str
    statuses: frozenset[str]
    target_ids: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class ChannelRule:
    subscription_id: str
    channel_type: str
    channel_statuses: frozenset[str]
    supplier_statuses: frozenset[str]
    target_ids: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class ClientRoutes:
    client_id: str
    message_rules: tuple[MessageRule, ...]
    channel_rules: tuple[ChannelRule, ...]
    # the Match per distinct input of the rules (``_match_key``), filled on first use: a bounded memo
    # (the enums make a few thousand keys at most), not state — the result is a function of the key
    memo: dict[tuple[object, ...], Match] = field(default_factory=dict, compare=False, repr=False)


class Match(NamedTuple):
    callback_type: CallbackType
    subscription_ids: tuple[str, ...] = ()  # every matching subscription, config order
    deliveries: tuple[
        tuple[str, str], ...
    ] = ()  # (targetId, first matching subscriptionId), distinct targets

    @property
    def matched(self) -> bool:
        return bool(self.deliveries)

    @property
    def target_ids(self) -> tuple[str, ...]:
        return tuple(target_id for target_id, _ in self.deliveries)


def compile_routes(config: ClientConfig) -> ClientRoutes:
    message_rules: list[MessageRule] = []
    channel_rules: list[ChannelRule] = []
    for sub in config.subscriptions:
        if isinstance(sub, MessageStatusSubscription):
            message_rules.append(
                MessageRule(sub.subscription_id, frozenset(sub.message_statuses), tuple(sub.target_ids))
            )
        elif isinstance(sub, ChannelStatusSubscription):
            channel_rules.append(
                ChannelRule(
                    sub.subscription_id,
                    sub.channel_type,
                    frozenset(sub.channel_statuses),
                    frozenset(sub.supplier_statuses),
                    tuple(sub.target_ids),
                )
            )
    return ClientRoutes(config.client_id, tuple(message_rules), tuple(channel_rules))


def message_rule_matches(rule: MessageRule, event: MessageStatusEvent) -> bool:
    changed = event.previous_message_status != event.message_status
    return changed and event.message_status in rule.statuses


def channel_rule_matches(rule: ChannelRule, event: ChannelStatusEvent) -> bool:
    if rule.channel_type != event.channel:
        return False
    supplier_changed = event.previous_supplier_status != event.supplier_status
    channel_changed = event.previous_channel_status != event.channel_status
    return (supplier_changed and event.supplier_status in rule.supplier_statuses) or (
        channel_changed and event.channel_status in rule.channel_statuses
    )


def _collect(callback_type: CallbackType, matched: Iterable[MessageRule | ChannelRule]) -> Match:
    subscription_ids: list[str] = []
    deliveries: dict[str, str] = {}
    for rule in matched:
        subscription_ids.append(rule.subscription_id)
        for target_id in rule.target_ids:
            deliveries.setdefault(target_id, rule.subscription_id)
    return Match(callback_type, tuple(subscription_ids), tuple(deliveries.items()))


def _match_key(event: StatusEvent) -> tuple[object, ...]:
    """Everything the rules read from an event (two lengths: a message key never equals a channel key)."""
    if isinstance(event, MessageStatusEvent):
        return (event.message_status, event.previous_message_status != event.message_status)
    return (
        event.channel,
        event.channel_status,
        event.supplier_status,
        event.previous_channel_status != event.channel_status,
        event.previous_supplier_status != event.supplier_status,
    )


def _evaluate(event: StatusEvent, routes: ClientRoutes) -> Match:
    if isinstance(event, MessageStatusEvent):
        return _collect(
            event.callback_type, (r for r in routes.message_rules if message_rule_matches(r, event))
        )
    return _collect(event.callback_type, (r for r in routes.channel_rules if channel_rule_matches(r, event)))


def match_event(event: StatusEvent, routes: ClientRoutes) -> Match:
    """Which subscriptions of ``routes`` the event matches (no match when the client ids differ)."""
    if routes.client_id != event.client_id:
        return Match(event.callback_type)
    key = _match_key(event)
    found = routes.memo.get(key)
    if found is None:
        found = _evaluate(event, routes)
        if len(routes.memo) >= MAX_MEMO:
            routes.memo.clear()
        routes.memo[key] = found
    return found
