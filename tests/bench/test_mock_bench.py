"""Benchmark: the mock webhook (mTLS required, signature verification, journal) vs a bare aiohttp handler.

Both servers run in their own process with the same certificates; the same raw keep-alive client (32
connections, bounded time) drives each, in alternating 1 s rounds. Reported: requests/s of each, the
median ratio of paired rounds (asserted floor 0.8, issue #18's goal; measured 0.87-0.93 on a quiet 2-core
machine) and each server's CPU time per request.
Run: ``.venv/bin/pytest tests/bench/test_mock_bench.py -m bench -p no:xdist -s``
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import statistics
import sys
from pathlib import Path

import pytest
import uvloop

from harness.processes import ManagedProcess
from mock_webhook.certs import CertBundle

sys.path.insert(0, str(Path(__file__).parent))
from _https_load import build_request, run_load

CONCURRENCY = 32
RATIO_FLOOR = 0.8  # issue #18's goal; measured 0.87-0.93 (quiet machine, 3 runs), 0.46-0.60 before the issue
ROUND_S = 1.0
WARMUP_S = 0.5
ROUNDS = 7
API_KEY, APP_ID = "bench-api-key", "bench-app"


def _payload(i: int) -> bytes:
    item = {
        "type": "MessageStatus",
        "attributes": {
            "messageId": f"bench-{i:04d}",
            "messageReference": f"ref-{i}",
            "messageStatus": "delivered",
            "channels": [{"type": "nhsapp", "channelStatus": "delivered"}],
            "timestamp": "2026-01-01T00:00:00.000Z",
            "routingPlan": {
                "id": "rp",
                "name": "plan",
                "version": "1",
                "createdDate": "2026-01-01T00:00:00Z",
            },
        },
        "links": {"message": f"/v1/message-batches/messages/bench-{i:04d}"},
        "meta": {"idempotencyKey": f"idem-{i}"},
    }
    return json.dumps({"data": [item]}, separators=(",", ":")).encode()


def _requests(port: int) -> list[bytes]:
    out = []
    for i in range(64):
        body = _payload(i)
        sig = hmac.new(f"{APP_ID}.{API_KEY}".encode(), body, hashlib.sha256).hexdigest()
        headers = {"Content-Type": "application/json", "x-api-key": API_KEY, "x-hmac-sha256-signature": sig}
        out.append(build_request("127.0.0.1", port, "/bench-target", body, headers))
    return out


def _start(argv: list[str], ready: Path, log: Path) -> tuple[ManagedProcess, int]:
    proc = ManagedProcess(argv, log_path=log)
    proc.wait_ready(ready.exists, timeout_s=20, what=argv[1])
    port = json.loads(ready.read_text()).get("port") or int(
        json.loads(ready.read_text())["url"].rsplit(":", 1)[1]
    )
    return proc, port


@pytest.fixture
def certs_dir(tmp_path: Path) -> tuple[Path, CertBundle]:
    bundle = CertBundle.mint()
    bundle.write(tmp_path / "certs")
    return tmp_path / "certs", bundle


@pytest.mark.bench
def test_mock_throughput_vs_bare_aiohttp(tmp_path: Path, certs_dir: tuple[Path, CertBundle]) -> None:
    directory, bundle = certs_dir
    exe = sys.executable
    bare_argv = [
        exe,
        str(Path(__file__).parent / "_https_load.py"),
        str(directory),
        str(tmp_path / "bare.json"),
    ]
    mock_argv = [exe, "-m", "mock_webhook.cli", "serve", "--port", "0", "--admin-port", "0"]
    mock_argv += ["--certs", str(directory), "--mtls", "required", "--journal", "10000"]
    mock_argv += [
        "--api-key",
        API_KEY,
        "--application-id",
        APP_ID,
        "--ready-file",
        str(tmp_path / "mock.json"),
    ]
    bare, bare_port = _start(bare_argv, tmp_path / "bare.json", tmp_path / "bare.log")
    mock, mock_port = _start(mock_argv, tmp_path / "mock.json", tmp_path / "mock.log")
    client_ctx = bundle.client_ssl_context()
    servers = {"bare": (bare, bare_port), "mock": (mock, mock_port)}
    rps: dict[str, list[float]] = {"bare": [], "mock": []}
    cpu_us: dict[str, list[float]] = {"bare": [], "mock": []}
    try:
        for _, port in servers.values():  # warm-up: imports, first handshakes, caches
            uvloop.run(run_load("127.0.0.1", port, client_ctx, _requests(port), CONCURRENCY, WARMUP_S))
        for _ in range(ROUNDS):  # alternate short rounds so both servers see the same background load
            for name, (proc, port) in servers.items():
                cpu_before = _cpu_s(proc.pid)
                res = uvloop.run(
                    run_load("127.0.0.1", port, client_ctx, _requests(port), CONCURRENCY, ROUND_S)
                )
                assert res.ok == res.completed, f"{name}: {res.completed - res.ok} non-200 responses"
                rps[name].append(res.rps)
                cpu_us[name].append(1e6 * (_cpu_s(proc.pid) - cpu_before) / res.completed)
    finally:
        mock.close()
        bare.close()
    ratios = [m / b for b, m in zip(rps["bare"], rps["mock"], strict=True)]
    ratio = statistics.median(ratios)
    mock_rps = statistics.median(rps["mock"])
    print(
        f"\nbare aiohttp HTTPS (mTLS required): median {statistics.median(rps['bare']):,.0f} req/s, "
        f"server CPU {statistics.median(cpu_us['bare']):.1f} us/req"
    )
    print(
        f"mock (mTLS required, HMAC verify, journal on): median {mock_rps:,.0f} req/s, "
        f"server CPU {statistics.median(cpu_us['mock']):.1f} us/req"
    )
    print(f"per-round req/s bare={[round(r) for r in rps['bare']]} mock={[round(r) for r in rps['mock']]}")
    print(
        f"ratio mock/bare (median of paired rounds): {ratio:.2f} "
        f"(floor {RATIO_FLOOR:.2f}); mock >= 5,000 req/s"
    )
    assert ratio >= RATIO_FLOOR
    assert mock_rps >= 5_000


def _cpu_s(pid: int) -> float:
    """User + system CPU seconds of a process (Linux /proc), to show cost per request beside throughput."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
