"""Our SigV4 for ``POST /`` JSON requests gives botocore's signature, byte for byte (same timestamp)."""

from __future__ import annotations

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from delivery.queue.sigv4 import CONTENT_TYPE, SigningKeys, signed_json_headers


@pytest.mark.parametrize("token", [None, "session-token/with+odd=chars"])
@pytest.mark.parametrize("url", ["http://127.0.0.1:4566/", "https://sqs.eu-west-2.amazonaws.com/"])
def test_signature_matches_botocore(token: str | None, url: str) -> None:
    body = b'{"QueueUrl":"https://sqs.eu-west-2.amazonaws.com/1/q","MaxNumberOfMessages":10}'
    target = "AmazonSQS.ReceiveMessage"
    request = AWSRequest(
        "POST", url, data=body, headers={"Content-Type": CONTENT_TYPE, "X-Amz-Target": target}
    )
    SigV4Auth(Credentials("AKIDEXAMPLE", "secret/key+x", token), "sqs", "eu-west-2").add_auth(request)
    amz_date = request.headers["X-Amz-Date"]
    host = url.split("/")[2]
    ours = signed_json_headers(
        SigningKeys("AKIDEXAMPLE", "secret/key+x", token),
        region="eu-west-2", service="sqs", host=host, target=target, body=body, amz_date=amz_date,
    )  # fmt: skip
    assert ours["Authorization"] == request.headers["Authorization"]
    assert ours.get("X-Amz-Security-Token") == request.headers.get("X-Amz-Security-Token")
