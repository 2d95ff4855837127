"""Event/config builders and seam fakes for the router tests.

Fakes only at our own seams (``QueueLocator``, ``QueueSender``, ``ConfigLookup``); the SQS/S3 tests use moto.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from typing import Any

from delivery.config.client import ClientConfig, parse_client_config
from delivery.errors import ConfigInvalid, ConfigNotFound, ConfigUnavailable
from delivery.queue.sqs import OutgoingMessage
from delivery.router.routing import RouterDeps

DELETE = object()
MESSAGE_TYPE = "uk.nhs.notify.message.status.PUBLISHED.v1"
CHANNEL_TYPE = "uk.nhs.notify.channel.status.PUBLISHED.v1"


def _envelope(event_type: str, event_id: str, data: dict[str, Any]) -> dict[str, Any]:
    return {
        "specversion": "1.0",
        "id": event_id,
        "source": "/nhs/england/notify/development/primary/data-plane/messaging",
        "subject": f"customer/{data['clientId']}/message/{data['messageId']}",
        "type": event_type,
        "time": "2026-02-05T10:15:00.123Z",
        "datacontenttype": "application/json",
        "dataschema": "https://notify.nhs.uk/schemas/message-status-published-v1.json",
        "traceparent": "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        "data": data,
    }


def apply(event: dict[str, Any], overrides: Mapping[str, Any]) -> dict[str, Any]:
    """A deep copy with dotted-path overrides (``data.channels.0.type``); ``DELETE`` removes the key."""
    out = copy.deepcopy(event)
    for path, value in overrides.items():
        *parents, last = path.split(".")
        node: Any = out
        for part in parents:
            node = node[int(part)] if isinstance(node, list) else node[part]
        key: Any = int(last) if isinstance(node, list) else last
        if value is DELETE:
            del node[key]
        else:
            node[key] = value
    return out


def message_event(overrides: Mapping[str, Any] | None = None, **data: Any) -> dict[str, Any]:
    body = {
        "clientId": "client-a",
        "messageId": "msg-0001",
        "messageReference": "ref-0001",
        "messageStatus": "DELIVERED",
        "channels": [{"type": "NHSAPP", "channelStatus": "DELIVERED"}],
        "timestamp": "2026-02-05T10:15:00.000Z",
        "routingPlan": {"id": "rp-1", "name": "Plan", "version": "v3", "createdDate": "2026-01-01T00:00:00Z"},
        **data,
    }
    return apply(_envelope(MESSAGE_TYPE, "evt-0001", body), overrides or {})


def channel_event(overrides: Mapping[str, Any] | None = None, **data: Any) -> dict[str, Any]:
    body = {
        "clientId": "client-a",
        "messageId": "msg-0001",
        "messageReference": "ref-0001",
        "channel": "NHSAPP",
        "channelStatus": "DELIVERED",
        "supplierStatus": "delivered",
        "cascadeType": "primary",
        "cascadeOrder": 1,
        "timestamp": "2026-02-05T10:15:00.000Z",
        "retryCount": 0,
        **data,
    }
    return apply(_envelope(CHANNEL_TYPE, "evt-0002", body), overrides or {})


def target(target_id: str) -> dict[str, Any]:
    return {
        "targetId": target_id,
        "type": "API",
        "invocationEndpoint": f"https://127.0.0.1:9443/{target_id}",
        "invocationMethod": "POST",
        "invocationRateLimit": 10,
        "apiKey": {"headerName": "x-api-key", "headerValue": "test-key"},
    }


def message_sub(sub_id: str, statuses: Sequence[str], targets: Sequence[str]) -> dict[str, Any]:
    return {"subscriptionId": sub_id, "subscriptionType": "MessageStatus", "messageStatuses": list(statuses),
            "targetIds": list(targets)}  # fmt: skip


def channel_sub(
    sub_id: str, channel: str, statuses: Sequence[str], supplier: Sequence[str], targets: Sequence[str]
) -> dict[str, Any]:
    return {"subscriptionId": sub_id, "subscriptionType": "ChannelStatus", "channelType": channel,
            "channelStatuses": list(statuses), "supplierStatuses": list(supplier),
            "targetIds": list(targets)}  # fmt: skip


def config_doc(client_id: str, subscriptions: Sequence[dict[str, Any]]) -> dict[str, Any]:
    target_ids = sorted({t for sub in subscriptions for t in sub["targetIds"]})
    return {
        "clientId": client_id,
        "subscriptions": list(subscriptions),
        "targets": [target(t) for t in target_ids],
    }


def config(client_id: str, subscriptions: Sequence[dict[str, Any]]) -> ClientConfig:
    return parse_client_config(config_doc(client_id, subscriptions))


class DictConfigs:
    """``ConfigLookup`` over a dict; values may be exceptions to raise (missing key = not found)."""

    def __init__(self, entries: Mapping[str, ClientConfig | Exception]):
        self.entries = dict(entries)
        self.calls: list[str] = []

    def get(self, client_id: str) -> ClientConfig:
        self.calls.append(client_id)
        entry = self.entries.get(client_id)
        if entry is None:
            raise ConfigNotFound(f"No configuration found for client '{client_id}'")
        if isinstance(entry, Exception):
            raise entry
        return entry


class FakeQueues:
    """``QueueLocator`` + ``QueueSender`` recording every send; ``fail`` makes entries or clients fail."""

    def __init__(
        self, missing: Sequence[str] = (), failing_bodies: Sequence[str] = (), broken_urls: Sequence[str] = ()
    ):
        self.missing = set(missing)
        self.broken_urls = set(broken_urls)
        self.failing_bodies = set(failing_bodies)
        self.sent: dict[str, list[OutgoingMessage]] = {}
        self.calls: list[tuple[str, int]] = []

    async def url_for(self, client_id: str) -> str:
        from delivery.router.queues import QueueUnavailable

        if client_id in self.missing:
            raise QueueUnavailable(f"delivery queue for '{client_id}' does not exist")
        return f"queue://{client_id}"

    async def send_batches(self, requests: Sequence[tuple[str, Sequence[Any]]]) -> list[Any]:
        out: list[Any] = []
        for queue_url, raw in requests:
            messages = [OutgoingMessage(m) if isinstance(m, str) else m for m in raw]
            self.calls.append((queue_url, len(messages)))
            if queue_url in self.broken_urls:
                out.append(ConnectionError(f"cannot reach {queue_url}"))
                continue
            failed = [
                i for i, m in enumerate(messages) if any(mark in m.body for mark in self.failing_bodies)
            ]
            self.sent.setdefault(queue_url, []).extend(m for i, m in enumerate(messages) if i not in failed)
            out.append(failed)
        return out

    def bodies(self, queue_url: str) -> list[str]:
        return [m.body for m in self.sent.get(queue_url, [])]


ERRORS = {"invalid": ConfigInvalid("Invalid client config for 'x': clientId: required"),
          "unavailable": ConfigUnavailable("S3 GetObject failed: timeout")}  # fmt: skip


def make_deps(configs: DictConfigs, queues: FakeQueues, **kwargs: Any) -> RouterDeps:
    return RouterDeps(configs=configs, queues=queues, sender=queues, dlq_url="queue://inbound-dlq", **kwargs)
