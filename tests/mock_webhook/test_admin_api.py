"""The admin HTTP API: journal queries, long-poll wait, stats, fault scripts, credentials, inbox page."""

from __future__ import annotations

import asyncio
import time

import aiohttp

from mock_webhook import MockWebhook
from tests.mock_webhook.conftest import API_KEY, APP_ID, callback_body, reference_headers


async def _deliver(
    session: aiohttp.ClientSession, mock: MockWebhook, path: str, message_id: str = "m"
) -> int:
    body = callback_body(message_id)
    ctx = mock.client_ssl_context()
    async with session.post(mock.url_for(path), data=body, headers=reference_headers(body), ssl=ctx) as resp:
        return resp.status


async def _admin(session: aiohttp.ClientSession, mock: MockWebhook, method: str, path: str, **kwargs):
    async with session.request(method, f"{mock.admin_url}{path}", **kwargs) as resp:
        return resp.status, await resp.json()


async def test_health_and_info(mock: MockWebhook, session) -> None:
    assert (await _admin(session, mock, "GET", "/health"))[1]["status"] == "ok"
    _, info = await _admin(session, mock, "GET", "/info")
    assert info["url"] == mock.url
    assert info["serverPin"] == mock.server_pin


async def test_requests_filters_and_clear(mock: MockWebhook, session) -> None:
    for path, mid in [("a", "m1"), ("b", "m2"), ("a", "m3")]:
        await _deliver(session, mock, path, mid)
    _, by_path = await _admin(session, mock, "GET", "/requests", params={"path": "a"})
    assert [r["messageId"] for r in by_path["requests"]] == ["m1", "m3"]
    _, by_id = await _admin(session, mock, "GET", "/requests", params={"messageId": "m2"})
    assert [r["path"] for r in by_id["requests"]] == ["/b"]
    since = by_path["requests"][1]["receivedAtMs"]
    _, recent = await _admin(session, mock, "GET", "/requests", params={"since": str(since)})
    assert [r["messageId"] for r in recent["requests"]] == ["m3"]
    _, limited = await _admin(session, mock, "GET", "/requests", params={"limit": "1"})
    assert [r["messageId"] for r in limited["requests"]] == ["m3"]
    record = limited["requests"][0]
    assert set(record) >= {
        "seq",
        "headers",
        "body",
        "tls",
        "apiKeyValid",
        "signature",
        "response",
        "latencyMs",
    }
    assert (await _admin(session, mock, "GET", "/requests", params={"since": "x"}))[0] == 400
    assert (await _admin(session, mock, "DELETE", "/requests"))[1] == {"cleared": 3}
    assert (await _admin(session, mock, "GET", "/requests"))[1]["count"] == 0


async def test_wait_returns_when_reached(mock: MockWebhook, session) -> None:
    waiting = asyncio.create_task(
        _admin(session, mock, "GET", "/requests/wait", params={"count": "2", "timeout": "10", "path": "w"})
    )
    await _deliver(session, mock, "w", "x1")
    await _deliver(session, mock, "other", "x2")
    await _deliver(session, mock, "w", "x3")
    started = time.monotonic()
    status, body = await waiting
    assert time.monotonic() - started < 5
    assert (status, body["status"], body["count"]) == (200, "reached", 2)
    assert [r["messageId"] for r in body["requests"]] == ["x1", "x3"]


async def test_wait_times_out_with_408(mock: MockWebhook, session) -> None:
    await _deliver(session, mock, "w", "only-one")
    started = time.monotonic()
    status, body = await _admin(
        session, mock, "GET", "/requests/wait", params={"count": "2", "timeout": "0.3"}
    )
    assert time.monotonic() - started >= 0.3
    assert (status, body["reached"], body["status"], body["count"]) == (408, False, "timeout", 1)


async def test_stats(mock: MockWebhook, session) -> None:
    mock.expect("s").respond_with(503)
    for _ in range(3):
        await _deliver(session, mock, "s")
    _, stats = await _admin(session, mock, "GET", "/stats")
    assert stats["total"] == 3
    assert stats["paths"]["/s"]["byStatus"] == {"503": 1, "200": 2}
    assert stats["latencyMs"]["p50"] is not None


async def test_fault_scripts_via_admin(mock: MockWebhook, session) -> None:
    status, body = await _admin(session, mock, "PUT", "/faults/f1", json=[{"status": 502, "times": 2}])
    assert (status, body["path"]) == (200, "/f1")
    assert (
        await _admin(session, mock, "PUT", "/faults/*", json={"steps": [{"status": 418, "times": None}]})
    )[0] == 200
    _, listing = await _admin(session, mock, "GET", "/faults")
    assert set(listing) == {"/f1", "*"}
    assert [await _deliver(session, mock, "f1") for _ in range(3)] == [502, 502, 200]
    assert await _deliver(session, mock, "anything") == 418  # the wildcard script
    await _admin(session, mock, "DELETE", "/faults/*")
    assert await _deliver(session, mock, "anything") == 200
    await _admin(session, mock, "DELETE", "/faults")
    assert (await _admin(session, mock, "GET", "/faults"))[1] == {}


async def test_bad_fault_script_lists_every_issue(mock: MockWebhook, session) -> None:
    status, body = await _admin(
        session, mock, "PUT", "/faults/x", json={"steps": [{"status": 1, "delayMs": "soon"}], "nope": 1}
    )
    assert status == 400
    assert set(body["issues"]) == {
        "nope: unknown field",
        "steps.0.status: must be an HTTP status 100..599",
        "steps.0.delayMs: must be a number >= 0",
    }
    assert (await _admin(session, mock, "PUT", "/faults/x", data=b"{bad"))[0] == 400


async def test_credentials_via_admin_enforce_the_api_key(mock: MockWebhook, session) -> None:
    creds = {"apiKeyHeader": "x-api-key", "apiKey": API_KEY, "applicationId": APP_ID, "enforce": True}
    status, body = await _admin(session, mock, "PUT", "/credentials/secure", json=creds)
    assert status == 200
    assert API_KEY not in str(body)
    assert await _deliver(session, mock, "secure") == 200
    ctx = mock.client_ssl_context()
    async with session.post(mock.url_for("secure"), data=callback_body(), ssl=ctx) as resp:
        assert resp.status == 401
    _, listing = await _admin(session, mock, "GET", "/credentials")
    assert listing["/secure"]["apiKeySet"] is True
    bad = await _admin(session, mock, "PUT", "/credentials/x", json={"apiKey": 5, "webhookSecrets": "s"})
    assert bad[0] == 400
    assert len(bad[1]["issues"]) == 2
    await _admin(session, mock, "DELETE", "/credentials/secure")
    async with session.post(mock.url_for("secure"), data=callback_body(), ssl=ctx) as resp:
        assert resp.status == 200


async def test_inbox_page_is_served(mock: MockWebhook, session) -> None:
    async with session.get(f"{mock.admin_url}/") as resp:
        assert resp.status == 200
        assert "text/html" in resp.headers["Content-Type"]
        assert "inbox" in (await resp.text()).lower()
    async with session.get(f"{mock.admin_url}/static/inbox.js") as resp:
        assert resp.status == 200
    async with session.get(f"{mock.admin_url}/static/..%2Fcli.py") as resp:
        assert resp.status == 404
