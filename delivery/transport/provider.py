"""``TlsProvider``: the client TLS material, cached until it nears expiry.

It caches the material until the client certificate is within ``CERT_EXPIRY_THRESHOLD_MS`` of its expiry,
then reloads it once; if the reload brings no fresher certificate it waits ``recheck_ms`` before trying
again (the reference reloaded on every record, N17). A failed reload keeps the still-valid material.
The readers (``delivery.transport.sources``) are blocking and run in a thread.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from delivery.observe.logs import log
from delivery.transport.material import DEFAULT_RECHECK_MS, TlsMaterial, TlsMaterialError, TlsSettings
from delivery.transport.sources import load_material

_LOGGER = logging.getLogger(__name__)


def next_reload_at_ms(not_after_ms: int | None, now_ms: int, threshold_ms: int, recheck_ms: int) -> float:
    """When cached material must be reloaded: ``threshold_ms`` before expiry, or after ``recheck_ms``."""
    if not_after_ms is None:
        return math.inf
    due_ms = not_after_ms - threshold_ms
    return float(due_ms if due_ms > now_ms else now_ms + recheck_ms)


def _iso(epoch_ms: int | None) -> str | None:
    if epoch_ms is None:
        return None
    return datetime.fromtimestamp(epoch_ms / 1000, UTC).isoformat(timespec="milliseconds")


def _epoch_ms() -> int:
    return int(time.time() * 1000)


def _default_loader(settings: TlsSettings, clients: Any) -> Callable[[], TlsMaterial]:
    return lambda: load_material(settings, clients)


class TlsProvider:
    """Cached TLS material for one identity: ``await provider.material()``.

    ``loader`` (blocking) defaults to :func:`load_material` with ``settings``; ``clock_ms`` gives epoch ms.
    """

    def __init__(
        self,
        settings: TlsSettings,
        *,
        clients: Any = None,  # delivery.transport.sources.AwsClients
        loader: Callable[[], TlsMaterial] | None = None,
        clock_ms: Callable[[], int] = _epoch_ms,
        recheck_ms: int = DEFAULT_RECHECK_MS,
    ) -> None:
        self.settings = settings
        self._loader = loader or _default_loader(settings, clients)
        self._clock_ms = clock_ms
        self._recheck_ms = recheck_ms
        self._cached: TlsMaterial | None = None
        self._reload_at_ms = -math.inf
        self._lock = asyncio.Lock()
        self.loads = 0  # how many times the source was read (observability and tests)

    @classmethod
    def from_env(cls, environ: Mapping[str, str], **kwargs: Any) -> TlsProvider:
        return cls(TlsSettings.from_env(environ), **kwargs)

    def describe(self) -> str:
        return self._cached.source if self._cached else "not loaded"

    def fresh_material(self) -> TlsMaterial | None:
        """The cached material if it needs no reload now (no I/O), else None."""
        cached = self._cached
        return cached if cached is not None and self._clock_ms() < self._reload_at_ms else None

    async def material(self) -> TlsMaterial:
        cached = self._cached
        if cached is not None and self._clock_ms() < self._reload_at_ms:
            return cached
        async with self._lock:  # one reload at a time; the others wait and reuse it
            if self._cached is not None and self._clock_ms() < self._reload_at_ms:
                return self._cached
            return await self._reload()

    async def _reload(self) -> TlsMaterial:
        self.loads += 1
        try:
            fresh = await asyncio.to_thread(self._loader)
        except TlsMaterialError as exc:
            if self._cached is None or self._expired(self._cached):
                raise
            self._reload_at_ms = self._clock_ms() + self._recheck_ms  # keep the still-valid material
            log(_LOGGER, "warning", "mTLS certificate reload failed; keeping the cached one", error=str(exc))
            return self._cached
        now_ms = self._clock_ms()
        self._reload_at_ms = next_reload_at_ms(
            fresh.not_after_ms, now_ms, self.settings.expiry_threshold_ms, self._recheck_ms
        )
        self._cached = fresh
        log(_LOGGER, "info", "mTLS certificate loaded", source=fresh.source, validTo=_iso(fresh.not_after_ms))
        return fresh

    def _expired(self, material: TlsMaterial) -> bool:
        return material.not_after_ms is not None and material.not_after_ms <= self._clock_ms()

    def reset(self) -> None:
        """Forget the cached material (reference ``resetCache``)."""
        self._cached, self._reload_at_ms = None, -math.inf
