"""The delivery-queue naming contract, stated once (pure): the router's fan-out target, the worker's
source, the deployed stack's resources, the harness's provisioned queues.

    queue_names("callbacks-dev", "client-a") -> ("callbacks-dev-client-a-delivery-queue",
                                                 "callbacks-dev-client-a-delivery-dlq-queue")
"""

from __future__ import annotations

from typing import Final

DEFAULT_QUEUE_PREFIX: Final = "callbacks-local"


def queue_names(prefix: str, client_id: str) -> tuple[str, str]:
    """The contract names of a client's delivery queue and its DLQ."""
    return f"{prefix}-{client_id}-delivery-queue", f"{prefix}-{client_id}-delivery-dlq-queue"
