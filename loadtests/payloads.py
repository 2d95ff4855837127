"""Delivery-queue message bodies for load runs (SPEC B.2): ``{payload, subscriptionId, targetId}`` (pure)."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from delivery.queue.sqs_limits import sqs_json


def _iso(epoch_ms: int) -> str:
    return (
        datetime.fromtimestamp(epoch_ms / 1000, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    )


def message_status_payload(message_id: str, publish_ms: int) -> dict[str, object]:
    """A reference-shaped MessageStatus callback payload with exactly one ``data`` item."""
    stamp = _iso(publish_ms)
    return {
        "data": [
            {
                "type": "MessageStatus",
                "attributes": {
                    "messageId": message_id,
                    "messageReference": f"ref-{message_id}",
                    "messageStatus": "delivered",
                    "channels": [{"type": "nhsapp", "channelStatus": "delivered"}],
                    "timestamp": stamp,
                    "routingPlan": {
                        "id": "load-plan",
                        "name": "load test",
                        "version": "1",
                        "createdDate": stamp,
                    },
                },
                "links": {"message": f"/v1/message-batches/messages/{message_id}"},
                "meta": {"idempotencyKey": f"evt-{message_id}"},
            }
        ]
    }


def envelope_body(message_id: str, publish_ms: int, *, subscription_id: str, target_id: str) -> str:
    """The delivery-queue body the EventBridge input transformer would have written."""
    envelope = {
        "payload": message_status_payload(message_id, publish_ms),
        "subscriptionId": subscription_id,
        "targetId": target_id,
    }
    return sqs_json(json.dumps(envelope, separators=(",", ":"), ensure_ascii=False))
