"""One deployed Lambda function, hosted locally the way the Lambda service runs it on an SQS queue.

``python -m harness.lambda_host`` runs in a child process whose environment is the function's own (read
back from the emulator by ``harness.lambda_runner``) plus the ``LAMBDA_HOST_*`` settings of its event source
mapping. It long-polls the queue for up to ``BatchSize`` records, builds the SQS event exactly as Lambda does,
calls the ``Handler`` (imported from its string), then settles like the service: with
``ReportBatchItemFailures`` every record *not* named in ``batchItemFailures`` is deleted; a handler error or
a malformed response deletes nothing (the records come back after their visibility timeout). Everything the
handler prints goes to stdout, which the runner ships to the function's log group. SIGTERM stops after the
current batch.
"""

from __future__ import annotations

import importlib
import json
import os
import signal
import sys
import traceback
from collections.abc import Callable, Mapping, Sequence
from typing import Any

Handler = Callable[[Mapping[str, Any], Any], Any]


def load_handler(spec: str) -> Handler:
    module, _, attr = spec.rpartition(".")
    return getattr(importlib.import_module(module), attr)  # type: ignore[no-any-return]


def sqs_event(messages: Sequence[Mapping[str, Any]], queue_arn: str, region: str) -> dict[str, Any]:
    """The Lambda SQS event for received messages (camelCase record keys, lower-case attribute values)."""
    return {"Records": [_record(m, queue_arn, region) for m in messages]}


def _record(message: Mapping[str, Any], queue_arn: str, region: str) -> dict[str, Any]:
    attributes = {
        k: v
        for k, v in (message.get("Attributes") or {}).items()
        if k in ("ApproximateReceiveCount", "SentTimestamp", "SenderId", "ApproximateFirstReceiveTimestamp")
    }
    message_attributes = {
        name: {
            "stringValue": value.get("StringValue"),
            "binaryValue": value.get("BinaryValue"),
            "stringListValues": [],
            "binaryListValues": [],
            "dataType": value.get("DataType", "String"),
        }
        for name, value in (message.get("MessageAttributes") or {}).items()
    }
    return {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": message.get("Body", ""),
        "attributes": attributes,
        "messageAttributes": message_attributes,
        "md5OfBody": message.get("MD5OfBody", ""),
        "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn,
        "awsRegion": region,
    }


def records_to_delete(
    messages: Sequence[Mapping[str, Any]], response: object, report_failures: bool
) -> list[Mapping[str, Any]]:
    """What the Lambda service deletes after one invocation that returned ``response``."""
    if not report_failures:
        return list(messages)
    if not isinstance(response, Mapping) or not isinstance(response.get("batchItemFailures", []), list):
        return []  # an unparseable partial-batch response fails the whole batch
    ids = {m["MessageId"] for m in messages}
    failed = set()
    for item in response.get("batchItemFailures", []):
        identifier = item.get("itemIdentifier") if isinstance(item, Mapping) else None
        if not identifier or identifier not in ids:
            return []  # an unknown or empty identifier fails the whole batch, as in Lambda
        failed.add(identifier)
    return [m for m in messages if m["MessageId"] not in failed]


class Host:
    def __init__(self, environ: Mapping[str, str]) -> None:
        import boto3

        self.queue_url = environ["LAMBDA_HOST_QUEUE_URL"]
        self.queue_arn = environ["LAMBDA_HOST_QUEUE_ARN"]
        self.batch_size = int(environ.get("LAMBDA_HOST_BATCH_SIZE", "10"))
        self.report_failures = environ.get("LAMBDA_HOST_REPORT_FAILURES") == "1"
        self.wait_s = int(environ.get("LAMBDA_HOST_WAIT_S", "1"))
        self.region = environ.get("AWS_REGION", "eu-west-2")
        self.handler = load_handler(environ["LAMBDA_HOST_HANDLER"])
        self.sqs = boto3.client("sqs")
        self.running = True

    def poll_once(self) -> int:
        messages = self.sqs.receive_message(
            QueueUrl=self.queue_url,
            MaxNumberOfMessages=min(self.batch_size, 10),
            WaitTimeSeconds=self.wait_s,
            AttributeNames=["All"],
            MessageAttributeNames=["All"],
        ).get("Messages", [])
        if not messages:
            return 0
        try:
            response = self.handler(sqs_event(messages, self.queue_arn, self.region), None)
        except Exception:
            traceback.print_exc(file=sys.stdout)
            return len(messages)
        done = records_to_delete(messages, response, self.report_failures)
        if done:
            entries = [{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(done)]
            self.sqs.delete_message_batch(QueueUrl=self.queue_url, Entries=entries)
        return len(messages)

    def run(self) -> None:
        signal.signal(signal.SIGTERM, self._stop)
        handler_module = sys.modules.get(getattr(self.handler, "__module__", ""), None)
        code = getattr(handler_module, "__file__", None)
        print(json.dumps({"msg": "lambda host started", "queue": self.queue_url, "code": code}), flush=True)
        while self.running:
            self.poll_once()

    def _stop(self, *_: object) -> None:
        self.running = False


def main() -> int:
    Host(os.environ).run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
