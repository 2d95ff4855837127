"""SQS adapters of the router: where each client's delivery queue is, and batched sends to it.

    QueueLocator  url_for(client_id) -> queue URL           (raises QueueUnavailable)
    QueueSender   send_batches([(queue_url, [≤ 10 body | OutgoingMessage])]) -> failed positions | error

``SqsQueueLocator`` resolves ``<prefix>-<clientId>-delivery-queue`` with GetQueueUrl (successes cached for
the life of the process) unless an explicit ``{clientId: url}`` mapping names the queue. ``SqsSender`` reuses
``delivery.queue.sqs.SqsQueue`` (which chunks into batches of 10). boto3 errors become
``QueueUnavailable`` here.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from delivery.errors import DeliveryError
from delivery.queue.names import queue_names
from delivery.queue.sqs import OutgoingMessage, SqsQueue


class QueueUnavailable(DeliveryError):
    """A client's delivery queue could not be located (missing, bad name, or SQS unreachable)."""


class QueueLocator(Protocol):
    async def url_for(self, client_id: str) -> str: ...


QueueMessage = str | OutgoingMessage  # a plain string is a body without attributes
SendRequest = tuple[str, Sequence[QueueMessage]]  # (queue URL, ≤ 10 messages)


class QueueSender(Protocol):
    async def send_batches(self, requests: Sequence[SendRequest]) -> Sequence[list[int] | Exception]:
        """One SendMessageBatch per request, concurrently; per request the failed entry positions, or the
        exception that failed the whole call."""
        ...


def delivery_queue_name(prefix: str, client_id: str) -> str:
    return queue_names(prefix, client_id)[0]


def _sqs_client(client: Any | None) -> tuple[Any, bool]:
    if client is not None:
        return client, False
    import boto3

    return boto3.client("sqs"), True


class SqsQueueLocator:
    def __init__(self, prefix: str, explicit: Mapping[str, str] | None = None, client: Any | None = None):
        self.prefix = prefix
        self._explicit = dict(explicit or {})
        self._cache: dict[str, str] = {}
        self._client, self._owned = _sqs_client(client)

    @property
    def client(self) -> Any:
        return self._client

    async def url_for(self, client_id: str) -> str:
        url = self._explicit.get(client_id) or self._cache.get(client_id)
        if url:
            return url
        name = delivery_queue_name(self.prefix, client_id)
        url = await asyncio.to_thread(self._lookup, name)
        self._cache[client_id] = url
        return url

    def _lookup(self, name: str) -> str:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            return str(self._client.get_queue_url(QueueName=name)["QueueUrl"])
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            if "NonExistentQueue" in code or "QueueDoesNotExist" in code:
                raise QueueUnavailable(f"delivery queue '{name}' does not exist") from exc
            raise QueueUnavailable(f"GetQueueUrl '{name}' failed: {exc}") from exc
        except BotoCoreError as exc:
            raise QueueUnavailable(f"GetQueueUrl '{name}' failed: {exc}") from exc

    def close(self) -> None:
        if self._owned:
            self._client.close()


class SqsSender:
    def __init__(self, client: Any | None = None):
        self._client, self._owned = _sqs_client(client)
        self._queues: dict[str, SqsQueue] = {}

    async def _send(self, queue_url: str, messages: Sequence[QueueMessage]) -> list[int]:
        queue = self._queues.get(queue_url)
        if queue is None:
            queue = self._queues[queue_url] = SqsQueue(queue_url, client=self._client)
        outgoing = [OutgoingMessage(m) if isinstance(m, str) else m for m in messages]
        return [int(index) for index in await queue.send(outgoing)]

    async def send_batches(self, requests: Sequence[SendRequest]) -> list[list[int] | Exception]:
        replies = await asyncio.gather(*(self._send(url, messages) for url, messages in requests),
                                       return_exceptions=True)  # fmt: skip
        out: list[list[int] | Exception] = []
        for reply in replies:
            if isinstance(reply, BaseException) and not isinstance(reply, Exception):
                raise reply  # cancellation and friends are not send failures
            out.append(reply)
        return out

    def close(self) -> None:
        if self._owned:
            self._client.close()
