"""Message ids carry the run id where the mock's forced statuses allow; EMF lines are read from a mark."""

from __future__ import annotations

import json
import re

from harness import events
from harness.metrics_log import MetricsLog


def test_forced_ids_keep_the_mock_prefix_and_the_run_id() -> None:
    assert re.fullmatch(r"force-500-run9-[0-9a-f]{12}", events.forced_id(500, "run9"))
    assert events.forced_id(429, "run9", "cb").startswith("force-429-cb-run9-")
    assert re.fullmatch(r"force-503-until-123-run9-[0-9a-f]{12}", events.timed_force_id(503, 123, "run9"))


def test_events_and_envelopes_have_the_reference_shape() -> None:
    event = events.message_status_event("client-a", "m-1")
    assert event["data"]["clientId"] == "client-a"
    assert event["datacontenttype"] == "application/json"
    assert events.invalid_event("client-a", "m-2")["data"]["channels"] == [{"channelStatus": "DELIVERED"}]
    body = json.dumps(events.envelope("m-3", "target-1"))
    assert events.message_id_of_body(body) == "m-3"
    assert events.message_id_of_body(json.dumps(event)) == "m-1"
    assert events.message_id_of_body("not json") is None


def test_metrics_log_reads_only_lines_after_the_mark(tmp_path) -> None:
    path = tmp_path / "worker.log"
    emf = {"_aws": {}, "ClientId": "a", "DeliverySuccess": 1.0, "DeliveryDurationMs": [3.0, 4.0]}
    path.write_text(json.dumps(emf) + "\n")
    log = MetricsLog(path)
    mark = log.mark()
    with path.open("a") as handle:
        handle.write("plain text line\n")
        handle.write(json.dumps({"msg": "Admission denied", "reason": "rate_limited"}) + "\n")
        handle.write(json.dumps({**emf, "ClientId": "b"}) + "\n")
        handle.write(json.dumps(emf) + "\n")
    assert log.total("DeliverySuccess", 0) == 3
    assert log.total("DeliverySuccess", mark, {"ClientId": "a"}) == 1
    assert log.total("DeliveryDurationMs", mark) == 14
    assert len(log.logs_since(mark, "Admission denied")) == 1
    assert MetricsLog(tmp_path / "missing.log").emf_since(0) == []
