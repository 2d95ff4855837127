"""What scenarios publish: status events (CloudEvents, for the router) and delivery envelopes (worker).

Every message id carries the run id, so parallel runs against one environment never see each other's
messages: ``<prefix>-<runId>-<uuid>``. The mock's forced statuses key on the start of the message id, so
``message_id("force-500", run_id)`` yields ``force-500-<runId>-<uuid>`` and
``timed_force_id(503, until_ms, run_id)`` yields ``force-503-until-<epochMs>-<runId>-<uuid>``.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

MESSAGE_EVENT_TYPE = "uk.nhs.notify.message.status.PUBLISHED.v1"
CHANNEL_EVENT_TYPE = "uk.nhs.notify.channel.status.PUBLISHED.v1"
EVENT_SOURCE = "/nhs/england/notify/development/primary/data-plane/messaging"
RUN_ID_ATTRIBUTE = "harnessRunId"
LINK_ROOT = "https://notify.example/v1/message-batches"


def message_id(prefix: str, run_id: str) -> str:
    return f"{prefix}-{run_id}-{uuid.uuid4().hex[:12]}"


def forced_id(status: int, run_id: str, tag: str = "") -> str:
    """A message id the mock always answers with ``status`` (reference ``force-<code>-…``)."""
    return message_id(f"force-{status:03d}" + (f"-{tag}" if tag else ""), run_id)


def timed_force_id(status: int, until_ms: int, run_id: str) -> str:
    """Answered with ``status`` until the epoch-ms ``until_ms``, normally afterwards."""
    return message_id(f"force-{status:03d}-until-{until_ms}", run_id)


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _traceparent() -> str:
    return f"00-{secrets.token_hex(16)}-{secrets.token_hex(8)}-01"


def message_status_event(
    client_id: str, msg_id: str, status: str = "DELIVERED", *, channel: str = "NHSAPP"
) -> dict[str, Any]:
    """A valid message-status CloudEvent (SPEC-ROUTER T1.2)."""
    return {
        "specversion": "1.0",
        "id": str(uuid.uuid4()),
        "source": EVENT_SOURCE,
        "subject": f"customer/{uuid.uuid4()}/message/{msg_id}",
        "type": MESSAGE_EVENT_TYPE,
        "time": now_iso(),
        "datacontenttype": "application/json",
        "dataschema": "https://notify.nhs.uk/schemas/message-status-published-v1.json",
        "traceparent": _traceparent(),
        "data": {
            "clientId": client_id,
            "messageId": msg_id,
            "messageReference": f"ref-{msg_id}",
            "messageStatus": status,
            "channels": [{"type": channel, "channelStatus": "DELIVERED"}],
            "timestamp": now_iso(),
            "routingPlan": {
                "id": "b838b13c-f98c-4def-93f0-515d4e4f4ee1",
                "name": "harness plan",
                "version": "1",
                "createdDate": "2025-01-01T00:00:00.000Z",
            },
        },
    }


def channel_status_event(
    client_id: str, msg_id: str, *, channel: str = "NHSAPP", channel_status: str = "DELIVERED",
    supplier_status: str = "delivered",
) -> dict[str, Any]:  # fmt: skip
    """A valid channel-status CloudEvent."""
    event = message_status_event(client_id, msg_id)
    event["type"] = CHANNEL_EVENT_TYPE
    event["subject"] += f"/channel/{channel.lower()}"
    event["dataschema"] = "https://notify.nhs.uk/schemas/channel-status-published-v1.json"
    event["data"] = {
        "clientId": client_id,
        "messageId": msg_id,
        "messageReference": f"ref-{msg_id}",
        "cascadeType": "primary",
        "cascadeOrder": 1,
        "channel": channel,
        "channelStatus": channel_status,
        "supplierStatus": supplier_status,
        "timestamp": now_iso(),
        "retryCount": 0,
    }
    return event


def invalid_event(client_id: str, msg_id: str) -> dict[str, Any]:
    """A message-status event whose channel has no type (reference K.8): the router must dead-letter it."""
    event = message_status_event(client_id, msg_id)
    event["data"]["channels"] = [{"channelStatus": "DELIVERED"}]
    return event


@dataclass(frozen=True, slots=True)
class Published:
    """What a publish call put on a queue: enough to find it again in the journal and the DLQ."""

    message_id: str  # payload.data[0].attributes.messageId (the correlation id)
    sqs_message_id: str
    queue_url: str
    target_id: str | None = None
    client_id: str | None = None


def callback_payload(msg_id: str, status: str = "delivered") -> dict[str, Any]:
    """A ClientCallbackPayload with one MessageStatus item (SPEC B.2)."""
    attributes = {
        "messageId": msg_id,
        "messageReference": f"ref-{msg_id}",
        "messageStatus": status,
        "channels": [{"type": "nhsapp", "channelStatus": "delivered"}],
        "timestamp": now_iso(),
        "routingPlan": {"id": "plan-1", "name": "harness plan", "version": "1", "createdDate": "2025-01-01"},
    }
    key = hashlib.sha256(json.dumps(attributes, sort_keys=True).encode()).hexdigest()
    return {
        "data": [
            {
                "type": "MessageStatus",
                "attributes": attributes,
                "links": {"message": f"{LINK_ROOT}/messages/{msg_id}"},
                "meta": {"idempotencyKey": key},
            }
        ]
    }


def envelope(msg_id: str, target_id: str, subscription_id: str = "harness-direct") -> dict[str, Any]:
    """The delivery-queue body ``{payload, subscriptionId, targetId}`` (SPEC B.2)."""
    return {"payload": callback_payload(msg_id), "subscriptionId": subscription_id, "targetId": target_id}


def message_id_of_body(body: str) -> str | None:
    """The correlation id of a delivery envelope or status event body (None when it is not one)."""
    try:
        doc = json.loads(body)
        if "payload" in doc:
            return str(doc["payload"]["data"][0]["attributes"]["messageId"])
        return str(doc["data"]["messageId"])
    except (ValueError, KeyError, IndexError, TypeError):
        return None
