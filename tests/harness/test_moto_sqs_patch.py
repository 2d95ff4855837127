"""The patched moto SQS (``harness.moto_sqs_patch``, the default of every moto server here) keeps moto's
semantics: old receipt handles still delete, deleting twice is quiet, a bad handle is an error per entry,
the 12 h visibility limit holds, and the queue counts stay right."""

from __future__ import annotations

import uuid

import boto3
import pytest
from botocore.exceptions import ClientError

from harness.moto_server import MotoServer


def _queue(client: object) -> str:
    return client.create_queue(QueueName=f"patch-{uuid.uuid4().hex[:12]}")["QueueUrl"]  # type: ignore[attr-defined]


def _client_args(server: MotoServer) -> dict[str, str]:
    env = server.env()
    return {
        "endpoint_url": server.url,
        "region_name": env["AWS_DEFAULT_REGION"],
        "aws_access_key_id": env["AWS_ACCESS_KEY_ID"],
        "aws_secret_access_key": env["AWS_SECRET_ACCESS_KEY"],
    }


def test_the_default_server_runs_the_patch(moto_server: MotoServer) -> None:
    assert moto_server.sqs == "moto-fast"
    assert "harness.moto_sqs_patch" in moto_server.argv(1)
    with MotoServer(sqs="moto") as stock:  # moto as shipped stays selectable (--sqs moto)
        assert "moto.server" in stock.argv(1)
        sqs = boto3.client("sqs", **_client_args(stock))
        assert _queue(sqs).endswith("/" + sqs.list_queues()["QueueUrls"][0].rsplit("/", 1)[1])
        sqs.close()
    with pytest.raises(ValueError, match="moto-fast, moto"):
        MotoServer(sqs="elasticmq")


def test_handles_counts_and_limits(aws_env: dict[str, str]) -> None:
    sqs = boto3.client("sqs")
    url = _queue(sqs)
    sqs.send_message_batch(QueueUrl=url, Entries=[{"Id": str(i), "MessageBody": f"m{i}"} for i in range(3)])
    got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=0)["Messages"]
    again = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
    assert len(got) == len(again) == 3
    counts = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    attrs = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=counts)["Attributes"]
    assert attrs == {"ApproximateNumberOfMessages": "0", "ApproximateNumberOfMessagesNotVisible": "3"}
    with pytest.raises(ClientError, match="43200"):
        sqs.change_message_visibility(
            QueueUrl=url, ReceiptHandle=again[0]["ReceiptHandle"], VisibilityTimeout=43_201
        )
    entries = [
        {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(got)
    ]  # the older handles
    entries.append({"Id": "bad", "ReceiptHandle": "not-a-handle"})
    reply = sqs.delete_message_batch(QueueUrl=url, Entries=entries)
    assert sorted(s["Id"] for s in reply["Successful"]) == ["0", "1", "2"]
    assert [(f["Id"], f["Code"]) for f in reply["Failed"]] == [("bad", "ReceiptHandleIsInvalid")]
    sqs.delete_message(QueueUrl=url, ReceiptHandle=again[0]["ReceiptHandle"])  # already deleted: quiet
    attrs = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    assert (attrs["ApproximateNumberOfMessages"], attrs["ApproximateNumberOfMessagesNotVisible"]) == (
        "0",
        "0",
    )
    with pytest.raises(ClientError, match="ReceiptHandleIsInvalid"):
        sqs.change_message_visibility(
            QueueUrl=url, ReceiptHandle=again[1]["ReceiptHandle"], VisibilityTimeout=5
        )
    sqs.close()
