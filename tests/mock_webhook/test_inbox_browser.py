"""The inbox page in headless Chromium: a delivered callback shows up with its verdicts."""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path

import aiohttp
import pytest

from mock_webhook import CertBundle, MockWebhook
from tests.mock_webhook.conftest import API_KEY, APP_ID, callback_body, reference_headers

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(
    CHROMIUM is None, reason="chromium not installed (apt-get install -y chromium)"
)


async def _chromium(profile: Path, *args: str) -> bytes:
    assert CHROMIUM is not None
    argv = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run"]
    argv += ["--disable-background-networking", "--disable-component-update", "--disable-sync"]
    argv += ["--disable-dev-shm-usage", f"--user-data-dir={profile}", "--virtual-time-budget=3000", *args]
    proc = await asyncio.create_subprocess_exec(
        *argv, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL
    )
    try:
        out, _ = await asyncio.wait_for(proc.communicate(), 60)
    except TimeoutError:
        proc.kill()
        await proc.wait()
        raise
    assert proc.returncode == 0, f"chromium exited with {proc.returncode}"
    return out


async def test_delivered_callback_appears_in_the_inbox(bundle: CertBundle, tmp_path: Path) -> None:
    async with MockWebhook(mtls="optional", certs=bundle) as mock, aiohttp.ClientSession() as session:
        mock.set_credentials("inbox-target", api_key=API_KEY, application_id=APP_ID)
        page = f"{mock.admin_url}/"
        empty_png = tmp_path / "empty.png"
        await _chromium(tmp_path / "p1", "--window-size=1280,600", f"--screenshot={empty_png}", page)

        body = callback_body("inbox-msg-42")
        ctx = mock.client_ssl_context()
        async with session.post(
            mock.url_for("inbox-target"), data=body, headers=reference_headers(body), ssl=ctx
        ):
            pass
        dom = (await _chromium(tmp_path / "p2", "--dump-dom", page)).decode()
        shot_png = tmp_path / "with-callback.png"
        await _chromium(tmp_path / "p3", "--window-size=1280,600", f"--screenshot={shot_png}", page)

    assert 'data-message-id="inbox-msg-42"' in dom
    row = dom[dom.index('data-message-id="inbox-msg-42"') :]
    row = row[: row.index("</tr>")]
    assert "/inbox-target" in row
    assert 'class="tls ok">verified' in row
    assert 'class="api-key ok">valid' in row
    assert 'class="signature ok">valid (reference)' in row
    assert 'class="response status-2">200' in row
    assert mock.server_pin in dom
    for png in (empty_png, shot_png):
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert shot_png.read_bytes() != empty_png.read_bytes()
