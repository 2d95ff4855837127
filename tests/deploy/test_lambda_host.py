"""The local Lambda runner's service behaviour (what Lambda deletes after an invocation) and its log path
(lines shipped to CloudWatch Logs, read back by the metrics reader)."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import boto3
import pytest

from harness.cloudwatch_log import CloudWatchMetricsLog
from harness.lambda_host import records_to_delete, sqs_event
from harness.lambda_runner import LogShipper
from harness.moto_server import MotoServer

MESSAGES = [
    {
        "MessageId": f"m{i}",
        "ReceiptHandle": f"r{i}",
        "Body": "{}",
        "Attributes": {"ApproximateReceiveCount": "2", "ApproximateFirstReceiveTimestamp": "1700000000000"},
        "MessageAttributes": {"trace": {"DataType": "String", "StringValue": "t"}},
    }
    for i in range(3)
]


@pytest.mark.parametrize(
    ("response", "report", "deleted"),
    [
        ({"batchItemFailures": [{"itemIdentifier": "m1"}]}, True, ["m0", "m2"]),
        ({"batchItemFailures": []}, True, ["m0", "m1", "m2"]),
        ({"batchItemFailures": [{"itemIdentifier": "elsewhere"}]}, True, []),  # unknown id: whole batch
        ({"batchItemFailures": [{"itemIdentifier": ""}]}, True, []),
        ("not a dict", True, []),
        ({"batchItemFailures": [{"itemIdentifier": "m1"}]}, False, ["m0", "m1", "m2"]),  # not reported: all
    ],
)
def test_what_the_service_deletes_after_an_invocation(
    response: Any, report: bool, deleted: list[str]
) -> None:
    assert [m["MessageId"] for m in records_to_delete(MESSAGES, response, report)] == deleted


def test_the_event_has_lambdas_record_shape() -> None:
    [record, *_] = sqs_event(MESSAGES, "arn:aws:sqs:eu-west-2:1:q", "eu-west-2")["Records"]
    assert record["messageId"] == "m0"
    assert record["receiptHandle"] == "r0"
    assert record["attributes"]["ApproximateFirstReceiveTimestamp"] == "1700000000000"
    assert record["messageAttributes"]["trace"]["stringValue"] == "t"
    assert record["eventSource"] == "aws:sqs"
    assert record["eventSourceARN"] == "arn:aws:sqs:eu-west-2:1:q"


def test_shipped_lines_are_read_back_as_emf(moto_server: MotoServer, tmp_path: Path) -> None:
    logs = boto3.client(
        "logs", region_name="eu-west-2", endpoint_url=moto_server.url,
        aws_access_key_id="testing", aws_secret_access_key="testing",
    )  # fmt: skip
    group = f"/aws/lambda/ship-{time.time_ns()}"
    out = tmp_path / "fn.log"
    shipper = LogShipper(logs)
    shipper.add("fn", out, group)
    reader = CloudWatchMetricsLog([group], logs)
    mark = reader.mark()
    emf = {"_aws": {"CloudWatchMetrics": [{"Namespace": "n", "Metrics": [{"Name": "DeliveryAttempt"}]}]}}
    lines = [
        json.dumps(emf | {"DeliveryAttempt": 1, "ClientId": "c"}),
        "plain text",
        '{"msg": "Admission denied"}',
    ]
    out.write_text("\n".join(lines) + "\n" + '{"partial": ', encoding="utf-8")  # an unfinished line waits
    shipper.ship_once()
    assert reader.total("DeliveryAttempt", mark, {"ClientId": "c"}) == 1
    assert reader.total("DeliveryAttempt", mark, {"ClientId": "other"}) == 0
    assert len(reader.logs_since(mark, "Admission denied")) == 1
    assert all("partial" not in doc for doc in reader.lines_since(mark))
