"""AWS Signature Version 4 for one shape of request: ``POST /`` with an AWS JSON 1.0 body (what
``sqs_wire`` sends). Pure: hashlib and hmac only. botocore's general signer costs ~100-350 us a call (it
builds and canonicalises a whole ``AWSRequest``); this one costs a few hashes, and its signing key is
derived once per day and credentials. ``tests/queue/test_sigv4.py`` checks it against botocore's signer.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from functools import lru_cache

CONTENT_TYPE = "application/x-amz-json-1.0"
ALGORITHM = "AWS4-HMAC-SHA256"


@dataclass(frozen=True, slots=True)
class SigningKeys:
    access_key: str
    secret_key: str
    token: str | None = None


@lru_cache(maxsize=16)
def _signing_key(secret_key: str, day: str, region: str, service: str) -> bytes:
    key = ("AWS4" + secret_key).encode()
    for part in (day, region, service, "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    return key


def signed_json_headers(
    keys: SigningKeys, *, region: str, service: str, host: str, target: str, body: bytes, amz_date: str
) -> dict[str, str]:
    """The headers of a signed ``POST /`` (``amz_date``: ``YYYYMMDDTHHMMSSZ``, UTC)."""
    headers = {"content-type": CONTENT_TYPE, "host": host, "x-amz-date": amz_date}
    if keys.token:
        headers["x-amz-security-token"] = keys.token
    headers["x-amz-target"] = target
    names = sorted(headers)
    signed = ";".join(names)
    canonical = "\n".join(
        ("POST", "/", "", *(f"{n}:{headers[n]}" for n in names), "", signed, hashlib.sha256(body).hexdigest())
    )
    day = amz_date[:8]
    scope = f"{day}/{region}/{service}/aws4_request"
    to_sign = f"{ALGORITHM}\n{amz_date}\n{scope}\n{hashlib.sha256(canonical.encode()).hexdigest()}"
    signature = hmac.new(
        _signing_key(keys.secret_key, day, region, service), to_sign.encode(), hashlib.sha256
    )
    authorization = f"{ALGORITHM} Credential={keys.access_key}/{scope}, SignedHeaders={signed}, Signature="
    out = {"Content-Type": CONTENT_TYPE, "X-Amz-Date": amz_date, "X-Amz-Target": target}
    if keys.token:
        out["X-Amz-Security-Token"] = keys.token
    out["Authorization"] = authorization + signature.hexdigest()
    return out
