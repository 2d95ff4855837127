"""Connection limits of the webhook listener: header-read and body timeouts, idle timeout, connection cap.

aiohttp's keep-alive timer closes a connection that sits idle between requests (``idle_timeout_s``) but
gives a request head that trickles in (slowloris) just as long. :class:`GuardedHandler` adds a shorter
deadline: from the connection's start, and from the first byte of each later request, the whole head must
arrive within ``header_timeout_s`` or the connection is closed. The webhook handler marks a request
started and answered (:meth:`GuardedHandler.head_received` / :meth:`GuardedHandler.request_done`, which it
inlines as the two attribute writes they are). Connections beyond ``max_connections`` are closed as soon
as they are accepted.
"""

from __future__ import annotations

import asyncio
from typing import Any

from aiohttp import web
from aiohttp.web_protocol import RequestHandler

from mock_webhook.state import MockState


class GuardedHandler(RequestHandler):
    """aiohttp's per-connection protocol with a request-head deadline."""

    def __init__(self, manager: web.Server, *, state: MockState, **kwargs: Any) -> None:
        super().__init__(manager, **kwargs)
        self._state = state
        self._head_timer: asyncio.TimerHandle | None = None
        self.head_deadline = 0.0
        self.in_request = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        manager = self._manager
        if manager is not None and len(manager.connections) > self._state.settings.max_connections:
            self._state.refused_connections += 1
            self.force_close()
            return
        self._arm()

    def data_received(self, data: bytes) -> None:
        if data and not self.in_request and self.head_deadline == 0.0:
            self._arm()  # the first byte of a new request on a kept-alive connection
        super().data_received(data)

    def connection_lost(self, exc: BaseException | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def head_received(self) -> None:
        self.in_request = True
        self.head_deadline = 0.0  # the timer, if pending, finds no deadline and lapses

    def request_done(self) -> None:
        self.in_request = False  # the next request's first byte arms the deadline again

    def body_too_slow(self) -> None:
        self._state.timed_out_connections += 1
        self.force_close()

    def _arm(self) -> None:
        """Set the deadline; one timer per connection at a time (no schedule/cancel on every request, as
        aiohttp's own keep-alive timer): a timer that fires early re-arms itself for the current deadline."""
        self.head_deadline = self._loop.time() + self._state.settings.header_timeout_s
        if self._head_timer is None:
            self._head_timer = self._loop.call_at(self.head_deadline, self._check_head)

    def _disarm(self) -> None:
        self.head_deadline = 0.0
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _check_head(self) -> None:
        self._head_timer = None
        deadline = self.head_deadline
        if deadline == 0.0 or self.in_request:
            return  # the head arrived in time
        if self._loop.time() < deadline:
            self._head_timer = self._loop.call_at(deadline, self._check_head)
            return
        self._state.timed_out_connections += 1
        self.force_close()
