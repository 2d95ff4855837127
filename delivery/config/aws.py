"""AWS adapters for client configs (S3 objects) and the applications map (SSM parameter).

boto3/botocore errors are translated here into the ``delivery.config.sources`` error tree.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from delivery.config.sources import (
    CONFIG_SUFFIX,
    DEFAULT_CONFIG_PREFIX,
    ConfigConflict,
    ConfigInvalid,
    ConfigNotFound,
    ConfigUnavailable,
    Versioned,
    _OwnedClient,
    check_client_id,
    dump_app_map,
    parse_app_map,
)

S3_NOT_FOUND_CODES = frozenset({"NoSuchKey", "404", "NotFound"})
# a conditional write lost: 412 (the ETag moved), 409 (a concurrent conditional write is in progress)
S3_CONFLICT_CODES = frozenset({"PreconditionFailed", "412", "ConditionalRequestConflict", "409"})


def error_code(exc: BaseException) -> str:
    if isinstance(exc, ClientError):
        return str(exc.response.get("Error", {}).get("Code", ""))
    return ""


@contextmanager
def unavailable_on_aws_errors(what: str) -> Iterator[None]:
    """Any boto3 error inside becomes ``ConfigUnavailable`` naming ``what`` was attempted."""
    try:
        yield
    except (ClientError, BotoCoreError) as exc:
        raise ConfigUnavailable(f"{what} failed: {exc}") from exc


class S3ConfigStore:
    """Client configs as S3 objects ``s3://<bucket>/<prefix><clientId>.json``."""

    def __init__(self, bucket: str, prefix: str = DEFAULT_CONFIG_PREFIX, client: Any | None = None) -> None:
        self.bucket = bucket
        self.prefix = prefix
        self._client = _OwnedClient("s3", client)

    def key_of(self, client_id: str) -> str:
        return f"{self.prefix}{check_client_id(client_id)}{CONFIG_SUFFIX}"

    def read(self, client_id: str) -> bytes | None:
        key = self.key_of(client_id)
        with unavailable_on_aws_errors(f"Reading s3://{self.bucket}/{key}"):
            try:
                response = self._client.client.get_object(Bucket=self.bucket, Key=key)
            except ClientError as exc:
                if error_code(exc) in S3_NOT_FOUND_CODES:
                    return None
                raise
            body: bytes = response["Body"].read()
        if not body:
            raise ConfigInvalid(f"S3 response body was empty for client '{client_id}'")
        return body

    def read_versioned(self, client_id: str) -> Versioned:
        """The object and its ETag (S3's version for a conditional write)."""
        key = self.key_of(client_id)
        with unavailable_on_aws_errors(f"Reading s3://{self.bucket}/{key}"):
            try:
                response = self._client.client.get_object(Bucket=self.bucket, Key=key)
            except ClientError as exc:
                if error_code(exc) in S3_NOT_FOUND_CODES:
                    return Versioned(None, None)
                raise
            body: bytes = response["Body"].read()
        if not body:
            raise ConfigInvalid(f"S3 response body was empty for client '{client_id}'")
        return Versioned(body, str(response["ETag"]))

    def write(self, client_id: str, data: bytes) -> None:
        key = self.key_of(client_id)
        with unavailable_on_aws_errors(f"Writing s3://{self.bucket}/{key}"):
            self._client.client.put_object(
                Bucket=self.bucket, Key=key, Body=data, ContentType="application/json"
            )

    def write_if(self, client_id: str, data: bytes, version: str | None) -> None:
        """A conditional PUT: ``If-Match: <ETag>``, or ``If-None-Match: *`` when nothing was stored."""
        key = self.key_of(client_id)
        condition = {"IfNoneMatch": "*"} if version is None else {"IfMatch": version}
        with unavailable_on_aws_errors(f"Writing s3://{self.bucket}/{key}"):
            try:
                self._client.client.put_object(
                    Bucket=self.bucket, Key=key, Body=data, ContentType="application/json", **condition
                )
            except ClientError as exc:
                if error_code(exc) in S3_CONFLICT_CODES:
                    raise ConfigConflict(f"s3://{self.bucket}/{key} changed since it was read") from None
                raise

    def list_ids(self) -> list[str]:
        ids: list[str] = []
        with unavailable_on_aws_errors(f"Listing s3://{self.bucket}/{self.prefix}"):
            paginator = self._client.client.get_paginator("list_objects_v2")
            for page in paginator.paginate(Bucket=self.bucket, Prefix=self.prefix):
                ids.extend(_client_id_of(obj["Key"], self.prefix) for obj in page.get("Contents", []))
        return sorted(i for i in ids if i)

    def describe(self) -> str:
        return f"s3://{self.bucket}/{self.prefix}"

    def close(self) -> None:
        self._client.close()


def _client_id_of(key: str, prefix: str) -> str:
    """``<prefix><clientId>.json`` -> clientId; '' for anything else (nested keys, other suffixes)."""
    name = key[len(prefix) :]
    if not name.endswith(CONFIG_SUFFIX) or "/" in name:
        return ""
    return name[: -len(CONFIG_SUFFIX)]


class SsmAppMapStore:
    """The applications map as an SSM parameter holding JSON ``{clientId: applicationId}``."""

    def __init__(self, parameter_name: str, client: Any | None = None) -> None:
        self.parameter_name = parameter_name
        self._client = _OwnedClient("ssm", client)

    def read(self) -> dict[str, str]:
        value = self._get_value()
        if not value:
            raise ConfigNotFound(self._not_found_message())
        return parse_app_map(value, f"SSM parameter '{self.parameter_name}'")

    def write(self, mapping: Mapping[str, str]) -> None:
        exists = self._get_value() is not None
        kwargs: dict[str, Any] = {"Overwrite": True} if exists else {"Type": "SecureString"}
        with unavailable_on_aws_errors(f"Writing SSM parameter '{self.parameter_name}'"):
            self._client.client.put_parameter(Name=self.parameter_name, Value=dump_app_map(mapping), **kwargs)

    def update(self, client_id: str, application_id: str) -> dict[str, str]:
        """Read-modify-write. SSM has no conditional put: two updates at the same instant can still race."""
        try:
            mapping = self.read()
        except ConfigNotFound:
            mapping = {}
        mapping[client_id] = application_id
        self.write(mapping)
        return mapping

    def describe(self) -> str:
        return "SSM map"

    def close(self) -> None:
        self._client.close()

    def _not_found_message(self) -> str:
        return f"SSM parameter '{self.parameter_name}' not found or has no value"

    def _get_value(self) -> str | None:
        """The parameter's (decrypted) value, or None when it does not exist."""
        with unavailable_on_aws_errors(f"Reading SSM parameter '{self.parameter_name}'"):
            try:
                response = self._client.client.get_parameter(Name=self.parameter_name, WithDecryption=True)
            except ClientError as exc:
                if error_code(exc) == "ParameterNotFound":
                    return None
                raise
        value = response.get("Parameter", {}).get("Value")
        return value if isinstance(value, str) else None
