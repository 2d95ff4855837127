"""Where a dead letter's body goes when it is too large for the DLQ with its attributes (``BodyStore``).

    BodyStore.put(key, body) -> location     (an ``s3://`` URI or a file path)
      S3BodyStore(bucket, prefix)            s3://<config bucket>/dead-letter-bodies/<clientId>/<messageId>
      DirBodyStore(root)                     <config dir>/.dead-letter-bodies/<clientId>/<messageId>

``body_store_for(settings)`` / ``body_store_at(config_dir, config_bucket)`` pick the one next to the
client configs: the worker's DLQ copies are keyed ``<clientId>/<messageId>``, the router's inbound DLQ copies
``inbound/<SHA-256 of the body>``. The DLQ message then carries a small JSON pointer as its body and
``BODY_LOCATION`` (see ``delivery.dead_letter.offloaded``). boto3 is called in a worker thread; a failed
put returns ``None`` and the caller falls back to a cut body.
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Any, Protocol

from delivery.observe.logs import log
from delivery.runtime.settings import Settings

BODY_PREFIX = "dead-letter-bodies/"
_log = logging.getLogger(__name__)


class BodyStore(Protocol):
    async def put(self, key: str, body: str) -> str | None:
        """Store ``body`` under ``key``; its location, or None when it could not be stored (logged)."""
        ...


class S3BodyStore:
    def __init__(self, bucket: str, prefix: str = BODY_PREFIX, client: Any | None = None) -> None:
        if client is None:
            import boto3

            client = boto3.client("s3")
        self.bucket, self.prefix, self._client = bucket, prefix, client

    async def put(self, key: str, body: str) -> str | None:
        object_key = f"{self.prefix}{key}"
        try:
            await asyncio.to_thread(
                self._client.put_object,
                Bucket=self.bucket,
                Key=object_key,
                Body=body.encode("utf-8", "surrogatepass"),
                ContentType="application/octet-stream",
            )
        except Exception as exc:
            log(
                _log,
                "error",
                "Dead-letter body not stored",
                key=object_key,
                error=f"{type(exc).__name__}: {exc}",
            )
            return None
        return f"s3://{self.bucket}/{object_key}"


class DirBodyStore:
    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)

    async def put(self, key: str, body: str) -> str | None:
        path = self.root / key
        try:
            await asyncio.to_thread(_write, path, body)
        except OSError as exc:
            log(_log, "error", "Dead-letter body not stored", path=str(path), error=str(exc))
            return None
        return str(path)


def _write(path: Path, body: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(body.encode("utf-8", "surrogatepass"))


def body_store_at(
    config_dir: str | None, config_bucket: str | None, s3_client: Any | None = None
) -> BodyStore | None:
    """Beside the client configs: the config directory, else the config bucket; None without either."""
    if config_dir:
        return DirBodyStore(Path(config_dir) / f".{BODY_PREFIX.rstrip('/')}")
    if config_bucket:
        return S3BodyStore(config_bucket, client=s3_client)
    return None


def body_store_for(settings: Settings, s3_client: Any | None = None) -> BodyStore | None:
    return body_store_at(settings.config_dir, settings.config_bucket, s3_client)


def body_key(client_id: str, message_id: str) -> str:
    safe = [part.replace("/", "_").replace("..", "_") or "_" for part in (client_id, message_id)]
    return "/".join(safe)
