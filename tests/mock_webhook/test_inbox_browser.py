"""The inbox page in headless Chromium: click a row open, read its tabs, and keep it open as more arrive."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import aiohttp
import pytest

from mock_webhook import CertBundle, MockWebhook
from tests.mock_webhook.cdp import CHROMIUM, Page, chromium_page
from tests.mock_webhook.conftest import API_KEY, APP_ID, callback_body, reference_headers

pytestmark = pytest.mark.skipif(
    CHROMIUM is None, reason="chromium not installed (apt-get install -y chromium)"
)


async def _deliver(
    session: aiohttp.ClientSession, mock: MockWebhook, message_id: str, *, sign: bool = True
) -> None:
    body = callback_body(message_id)
    headers = reference_headers(body)
    if not sign:
        del headers["x-hmac-sha256-signature"]
    async with session.post(
        mock.url_for("inbox-target"), data=body, headers=headers, ssl=mock.client_ssl_context()
    ):
        pass


async def _plain_http(mock: MockWebhook) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", mock.port)
    writer.write(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    await reader.read()
    writer.close()


def _row(message_id: str) -> str:
    return f"document.querySelector('tr.entry[data-message-id=\"{message_id}\"]')"


async def _cells(page: Page, selector: str) -> list[str]:
    return await page.js(f"Array.from({selector}.cells).map(c => c.textContent)")  # type: ignore[no-any-return]


async def test_rows_open_into_tabs_and_stay_open_while_requests_stream_in(
    bundle: CertBundle, tmp_path: Path
) -> None:
    async with MockWebhook(mtls="optional", certs=bundle) as mock, aiohttp.ClientSession() as session:
        mock.set_credentials("inbox-target", api_key=API_KEY, application_id=APP_ID)
        mock.expect("inbox-target").respond_with(503)  # the first attempt of "retried" fails
        await _deliver(session, mock, "retried")
        async with chromium_page(tmp_path / "profile", f"{mock.admin_url}/") as page:
            seq = await page.wait_for(f"{_row('retried')} && {_row('retried')}.dataset.seq")
            opened = f"document.querySelector('tr.entry[data-seq=\"{seq}\"]')"
            await page.js(f"{opened}.click()")
            details = f"{opened}.nextElementSibling"
            assert await page.js(f"{details}.hidden") is False
            await page.js(f"{details}.querySelector('button[data-tab=\"Body\"]').click()")
            body_text = await page.js(f"{details}.querySelector('pre[data-tab=\"Body\"]').textContent")
            assert json.loads(body_text)["data"][0]["attributes"]["messageId"] == "retried"
            assert '\n  "data"' in body_text  # pretty-printed

            # More arrive: a retry of the same message, a badly signed one, a failed handshake.
            await _deliver(session, mock, "retried")
            await _deliver(session, mock, "unsigned", sign=False)
            await _plain_http(mock)
            await page.wait_for("document.querySelectorAll('tr.entry').length === 4")
            assert await page.js(f"{details}.hidden") is False  # still open
            assert await page.js(f"{details}.querySelector('pre[data-tab=\"Body\"]').hidden") is False

            group = await page.js(
                "Array.from(document.querySelector('tbody[data-group=\"m:retried\"]').querySelectorAll('tr.entry'))"
                ".map(r => [r.querySelector('.attempt').textContent,"
                " r.querySelector('.response').textContent])"
            )
            assert group == [["2 of 2", "200"], ["1 of 2", "503"]]  # grouped, newest first
            first_attempt = await _cells(
                page, "document.querySelector('tbody[data-group=\"m:retried\"] tr.entry:nth-of-type(3)')"
            )
            assert first_attempt[-1] == "scripted step 1 of 1: answer 503 (1 time)"

            unsigned = await _cells(page, _row("unsigned"))
            assert unsigned[8] == "reference missing"
            assert unsigned[-1] == "signature: reference missing: no x-hmac-sha256-signature header"
            handshake = await _cells(page, "document.querySelector('tr.entry.handshake')")
            assert handshake[5] == "TLS handshake"
            assert handshake[-1] == "TLS handshake failed: plain HTTP on a TLS port (use https://)"

            received = await page.js(f"{_row('unsigned')}.querySelector('.time').textContent")
            zone = await page.js("document.getElementById('info-zone').textContent")
            assert "UTC" in received or "GMT" in received  # the zone is part of every time shown
            assert "local time" in zone
            await page.wait_for(
                "document.getElementById('info-handshakes').textContent === '1'"
            )  # from /stats

            await page.js(f"{details}.querySelector('button[data-tab=\"Signatures\"]').click()")
            signatures = await page.js(f"{details}.querySelector('pre[data-tab=\"Signatures\"]').textContent")
            assert "reference: valid (required)" in signatures
            curl = await page.js(f"{details}.querySelector('pre[data-tab=\"curl\"]').textContent")
            assert curl.startswith(f"curl --request POST '{mock.url}/inbox-target'")
            assert '"x-api-key: $API_KEY"' in curl
            assert API_KEY not in curl
            shot = tmp_path / "inbox.png"
            await page.screenshot(shot)
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
