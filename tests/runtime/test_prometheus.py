"""The opt-in Prometheus endpoint: the pure text render, the in-memory sink, the fan-out, and a real worker
scraped over HTTP after delivering to the HTTPS receiver."""

from __future__ import annotations

import asyncio
import json
import logging
import socket
from collections.abc import Mapping
from typing import Any

import aiohttp
import pytest

from delivery.cli.main import main
from delivery.observe.metrics import FanOutSink
from delivery.observe.prometheus import (
    CONTENT_TYPE,
    Histogram,
    MetricsServer,
    PrometheusSink,
    Snapshot,
    bucket_index,
    escape_label,
    metric_name,
    render,
)
from delivery.runtime.resources import open_resources
from delivery.runtime.settings import Settings
from tests.runtime.conftest import Stack, envelope, wait_until

BUCKETS = (5.0, 10.0)
ONE_SUCCESS = Snapshot({("DeliverySuccess", "acme", "t1"): 3}, {}, BUCKETS)
RENDER_CASES: list[tuple[str, Snapshot, str]] = [
    ("empty", Snapshot({}, {}, BUCKETS), ""),
    (
        "one counter",
        ONE_SUCCESS,
        "# HELP callbacks_delivery_success_total Deliveries the target accepted (2xx).\n"
        "# TYPE callbacks_delivery_success_total counter\n"
        'callbacks_delivery_success_total{client_id="acme",target_id="t1"} 3\n',
    ),
    (
        "series sorted by labels, fractional value, unknown metric gets a generic help",
        Snapshot({("SomethingNew", "b", "t"): 1.5, ("SomethingNew", "a", ""): 2}, {}, BUCKETS),
        "# HELP callbacks_something_new_total SomethingNew events.\n"
        "# TYPE callbacks_something_new_total counter\n"
        'callbacks_something_new_total{client_id="a",target_id=""} 2\n'
        'callbacks_something_new_total{client_id="b",target_id="t"} 1.5\n',
    ),
    (
        "label values escaped",
        Snapshot({("DeliveryAttempt", 'a"b\\c\nd', "t"): 1}, {}, BUCKETS),
        "# HELP callbacks_delivery_attempt_total Delivery attempts (HTTP requests started).\n"
        "# TYPE callbacks_delivery_attempt_total counter\n"
        'callbacks_delivery_attempt_total{client_id="a\\"b\\\\c\\nd",target_id="t"} 1\n',
    ),
    (
        "histogram buckets are cumulative, then +Inf, sum and count",
        Snapshot({}, {("DeliveryDurationMs", "acme", "t1"): Histogram((1, 2, 1), 42.5, 4)}, BUCKETS),
        "# HELP callbacks_delivery_duration_ms Delivery request duration in milliseconds.\n"
        "# TYPE callbacks_delivery_duration_ms histogram\n"
        'callbacks_delivery_duration_ms_bucket{client_id="acme",target_id="t1",le="5"} 1\n'
        'callbacks_delivery_duration_ms_bucket{client_id="acme",target_id="t1",le="10"} 3\n'
        'callbacks_delivery_duration_ms_bucket{client_id="acme",target_id="t1",le="+Inf"} 4\n'
        'callbacks_delivery_duration_ms_sum{client_id="acme",target_id="t1"} 42.5\n'
        'callbacks_delivery_duration_ms_count{client_id="acme",target_id="t1"} 4\n',
    ),
]


@pytest.mark.parametrize(("case", "snapshot", "expected"), RENDER_CASES, ids=[c[0] for c in RENDER_CASES])
def test_render(case: str, snapshot: Snapshot, expected: str) -> None:
    assert render(snapshot) == expected


@pytest.mark.parametrize(
    ("emf_name", "counter", "expected"),
    [
        ("DeliveryAttempt", True, "callbacks_delivery_attempt_total"),
        ("DeliveryServerRateLimited", True, "callbacks_delivery_server_rate_limited_total"),
        ("CircuitBreakerOpen", True, "callbacks_circuit_breaker_open_total"),
        ("DeliveryDurationMs", False, "callbacks_delivery_duration_ms"),
    ],
)
def test_metric_name(emf_name: str, counter: bool, expected: str) -> None:
    assert metric_name(emf_name, counter=counter) == expected


@pytest.mark.parametrize(("value", "index"), [(0.0, 0), (5.0, 0), (5.01, 1), (10.0, 1), (10.5, 2)])
def test_bucket_upper_bounds_are_inclusive(value: float, index: int) -> None:
    assert bucket_index(value, BUCKETS) == index


def test_escape_label() -> None:
    assert escape_label('x\\"\n') == 'x\\\\\\"\\n'


def test_sink_aggregates_emf_events_per_client_and_target() -> None:
    sink = PrometheusSink(buckets_ms=BUCKETS)
    dims = {"ClientId": "acme"}
    batch: Mapping[str, Any] = {"DeliverySuccess": 2, "DeliveryDurationMs": [3.0, 7.0]}
    sink.emit(batch, dimensions=dims, properties={"targetId": "t1"})
    sink.emit(
        {"DeliverySuccess": 1, "DeliveryDurationMs": 12.0}, dimensions=dims, properties={"targetId": "t1"}
    )
    sink.emit({"DeliveryDeadLettered": 1}, dimensions=dims)  # no target (undecodable body)
    snap = sink.snapshot()
    assert snap.counters == {("DeliverySuccess", "acme", "t1"): 3, ("DeliveryDeadLettered", "acme", ""): 1}
    assert snap.histograms == {("DeliveryDurationMs", "acme", "t1"): Histogram((1, 1, 1), 22.0, 3)}


class _Broken:
    def emit(self, metrics: Mapping[str, float], **_kw: Any) -> None:
        raise RuntimeError("sink down")


def test_a_failing_sink_never_stops_the_others(caplog: pytest.LogCaptureFixture) -> None:
    good = PrometheusSink()
    fan = FanOutSink((_Broken(), good))
    with caplog.at_level(logging.ERROR, logger="delivery.observe.metrics"):
        fan.emit({"DeliveryAttempt": 1}, dimensions={"ClientId": "c"}, properties={"targetId": "t"})
    assert good.snapshot().counters == {("DeliveryAttempt", "c", "t"): 1}
    assert any(r.getMessage() == "Metrics sink failed" for r in caplog.records)


def _sample(text: str, series: str) -> float:
    """The value of one exact series line (``name{labels}``) in a scrape; 0 when absent."""
    for line in text.splitlines():
        if line.startswith(series + " "):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


async def test_worker_metrics_scraped_over_http_match_what_the_receiver_got(stack: Stack) -> None:
    target = stack.add_target()
    prometheus = PrometheusSink()
    resources = open_resources(
        Settings.from_env(stack.env), stack.env, metrics_sink=FanOutSink((stack.sink, prometheus))
    )
    resources.rand = lambda: 0.0
    server = await MetricsServer(prometheus).start()
    labels = f'{{client_id="{stack.client_id}",target_id="{target}"}}'
    success = f"callbacks_delivery_success_total{labels}"
    sent = 4
    try:
        async with aiohttp.ClientSession() as http:

            async def scrape() -> str:
                async with http.get(f"http://127.0.0.1:{server.port}/metrics") as resp:
                    assert resp.status == 200
                    assert resp.headers["Content-Type"] == CONTENT_TYPE
                    return await resp.text()

            async def all_counted() -> bool:
                return _sample(await scrape(), success) >= sent

            await stack.send(*(envelope(target) for _ in range(sent)))
            async with stack.running(resources):
                await wait_until(all_counted)
            text = await scrape()
            async with http.get(f"http://127.0.0.1:{server.port}/health") as resp:
                assert resp.status == 200
    finally:
        await server.stop()
    received = len(stack.receiver.requests(f"/{target}"))
    assert received == sent
    assert _sample(text, success) == received
    assert _sample(text, f"callbacks_delivery_duration_ms_count{labels}") == received
    inf_bucket = f'callbacks_delivery_duration_ms_bucket{labels[:-1]},le="+Inf"}}'
    assert _sample(text, inf_bucket) == received
    assert _sample(text, f"callbacks_delivery_attempt_total{labels}") == stack.sink.total("DeliveryAttempt")
    assert stack.sink.total("DeliverySuccess") == received  # EMF lines still flow unchanged


async def test_cli_worker_with_metrics_port_still_writes_emf_lines(
    stack: Stack, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    target = stack.add_target()
    await stack.send(envelope(target, "m-cli"))
    for key, value in stack.env.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("LOG_LEVEL", "INFO")
    argv = ["worker", "--client", stack.client_id, "--queue-prefix", "callbacks-test"]
    argv += ["--burst", "--wait-s", "1", "--metrics-port", "0"]
    assert await asyncio.to_thread(main, argv) == 0
    out, err = capsys.readouterr()
    emf = [json.loads(line) for line in out.splitlines() if line.startswith('{"_aws"')]
    assert sum(doc.get("DeliverySuccess", 0) for doc in emf) == 1
    assert "Metrics endpoint listening" in err
    assert [s.message_id for s in stack.receiver.requests(f"/{target}")] == ["m-cli"]


def test_cli_worker_reports_a_busy_metrics_port(
    stack: Stack, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for key, value in stack.env.items():
        monkeypatch.setenv(key, value)
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        argv = ["worker", "--client", stack.client_id, "--queue-prefix", "callbacks-test", "--burst"]
        assert main([*argv, "--metrics-port", str(port)]) == 2
    assert f"--metrics-port: cannot listen on 127.0.0.1:{port}" in capsys.readouterr().err
