"""Transport throughput: HttpsTransport vs a bare aiohttp keep-alive loop vs a new TLS connection per request.

All three deliver signed requests over mTLS to the same child-process aiohttp server, in one run, interleaved
in rounds (so load from elsewhere on the machine hits every variant alike). Targets: the transport reaches
>= 80 % of bare keep-alive and >= 10x the reference design (new connection per request).
Each variant runs 3 s per event loop (uvloop, then stock asyncio); about 20 s in all.
Run: ``pytest tests/bench/test_transport_bench.py -m bench -p no:xdist -s``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import pytest
import uvloop

from delivery.models import HttpResult, OutgoingRequest
from delivery.transport.egress import EgressPolicy
from delivery.transport.https import HttpsTransport
from delivery.transport.material import TlsSettings
from delivery.transport.provider import TlsProvider
from tests.bench.transport_baseline import (
    BenchPeer,
    LoopResult,
    aiohttp_sender,
    bare_session,
    bench_peer,
    run_for,
    signed_request,
)

ROUNDS = 6
ROUND_S = 0.5  # 3 s per variant in total, in short interleaved rounds (the machine is shared)
CONCURRENCY = 32

LOOPBACK = EgressPolicy.allowing("127.0.0.0/8")  # the tests deliver to peers on 127.0.0.1


def _transport_sender(transport: HttpsTransport, peer: BenchPeer) -> Callable[[int], Awaitable[bool]]:
    requests = []
    for i in range(64):
        body, headers = signed_request(i)
        requests.append(
            OutgoingRequest(
                url=peer.url,
                headers=headers,
                body=body,
                target_id="bench-target",
                mtls=True,
                spki_pins=(peer.server_pin,),
                timeout_s=10.0,
                connect_timeout_s=5.0,
            )
        )

    async def send(i: int) -> bool:
        result = await transport.send(requests[i % len(requests)])
        return isinstance(result, HttpResult) and result.status == 200

    return send


def _sum(results: list[LoopResult]) -> LoopResult:
    return LoopResult(
        sum(r.ok for r in results),
        sum(r.errors for r in results),
        sum(r.elapsed_s for r in results),
        sum(r.cpu_s for r in results),
    )


async def _bench() -> dict[str, LoopResult]:
    async with bench_peer() as peer:
        settings = TlsSettings(
            cert_file=str(peer.client_cert_file),
            key_file=str(peer.client_key_file),
            ca_file=str(peer.ca_file),
        )
        transport = HttpsTransport(
            TlsProvider(settings), max_connections_per_pool=CONCURRENCY, egress=LOOPBACK
        )
        ctx = peer.client_ssl_context()
        runs: dict[str, list[LoopResult]] = {"transport": [], "bare keep-alive": [], "new connection": []}
        try:
            async with (
                bare_session(ctx, concurrency=CONCURRENCY) as keepalive,
                bare_session(ctx, concurrency=CONCURRENCY, keep_alive=False) as fresh,
            ):
                senders = {
                    "transport": _transport_sender(transport, peer),
                    "bare keep-alive": aiohttp_sender(keepalive, peer.url),
                    "new connection": aiohttp_sender(fresh, peer.url),
                }
                order = list(senders)
                for round_no in range(ROUNDS):
                    for name in order[round_no % 3 :] + order[: round_no % 3]:  # rotate who goes first
                        result = await run_for(senders[name], duration_s=ROUND_S, concurrency=CONCURRENCY)
                        runs[name].append(result)
        finally:
            await transport.close()
    return {name: _sum(results) for name, results in runs.items()}


@pytest.mark.bench
@pytest.mark.parametrize("loop", ["uvloop", "asyncio"])
def test_transport_throughput_vs_bare_keepalive_and_new_connection(loop: str) -> None:
    """uvloop is what the worker runs on; the stock asyncio loop is shown for comparison."""
    totals = uvloop.run(_bench()) if loop == "uvloop" else asyncio.run(_bench())
    ours, bare, fresh_conn = (totals[n] for n in ("transport", "bare keep-alive", "new connection"))
    setup = f"mTLS + SPKI pin, concurrency {CONCURRENCY}, {ROUNDS}x{ROUND_S:g}s each"
    print(f"\ntransport benchmark on {loop} ({setup})")
    for name, total in totals.items():
        print(
            f"  {name:16s} {total.rps:9.0f} deliveries/s"
            f"  {total.cpu_us_per_request:6.0f} us CPU/delivery  ({total.ok} ok, {total.errors} errors)"
        )
    print(f"  transport / bare keep-alive = {ours.rps / bare.rps:.2f}  (target >= 0.80)")
    print(f"  transport / new connection  = {ours.rps / fresh_conn.rps:.1f}x (target >= 10x)")
    cpu_ratio = bare.cpu_us_per_request / ours.cpu_us_per_request
    print(f"  client CPU efficiency vs bare = {cpu_ratio:.2f} (less sensitive to other load on the machine)")
    assert ours.errors == bare.errors == 0
    assert ours.rps >= 0.8 * bare.rps
    assert ours.rps >= 10 * fresh_conn.rps
