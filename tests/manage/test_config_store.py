"""Raw stores: local directory and S3 (moto) for client configs; environment-based selection."""

from __future__ import annotations

import json
from pathlib import Path

import boto3
import pytest

from delivery.config.store import (
    ConfigError,
    ConfigInvalid,
    ConfigUnavailable,
    LocalDirStore,
    S3ConfigStore,
    config_store_from_env,
)
from tests.manage.helpers import sample_config


def test_local_store_round_trip_and_listing(tmp_path: Path) -> None:
    store = LocalDirStore(tmp_path / "nested" / "dir")
    assert store.list_ids() == []
    assert store.read("c1") is None
    store.write("c2", b"{}")
    store.write("c1", b'{"a": 1}')
    (tmp_path / "nested" / "dir" / "notes.txt").write_text("ignored")
    assert store.read("c1") == b'{"a": 1}'
    assert store.list_ids() == ["c1", "c2"]
    assert (tmp_path / "nested" / "dir" / "c1.json").exists()
    assert store.describe() == str(tmp_path / "nested" / "dir")
    assert sorted(p.name for p in (tmp_path / "nested" / "dir").iterdir()) == [
        ".c1.json.lock",  # the exclusive write locks; no temporary file is left behind
        ".c2.json.lock",
        "c1.json",
        "c2.json",
        "notes.txt",
    ]


@pytest.mark.parametrize("bad_id", ["", ".", "..", "../escape", "a/b", "a\\b"])
def test_local_store_refuses_path_tricks(tmp_path: Path, bad_id: str) -> None:
    store = LocalDirStore(tmp_path)
    with pytest.raises(ConfigInvalid, match="Invalid client id"):
        store.write(bad_id, b"{}")
    assert list(tmp_path.iterdir()) == []


def test_local_store_io_error_is_unavailable(tmp_path: Path) -> None:
    not_a_dir = tmp_path / "file"
    not_a_dir.write_text("x")
    store = LocalDirStore(not_a_dir)
    with pytest.raises(ConfigUnavailable, match="Could not read client config"):
        store.read("c1")
    with pytest.raises(ConfigUnavailable, match="Could not write client config"):
        store.write("c1", b"{}")


def test_s3_store_keys_listing_and_missing(s3_bucket: str) -> None:
    with_prefix = S3ConfigStore(s3_bucket)
    other = S3ConfigStore(s3_bucket, prefix="elsewhere/")
    try:
        assert with_prefix.read("c1") is None
        with_prefix.write("c1", json.dumps(sample_config("c1")).encode())
        with_prefix.write("c0", b"{}")
        other.write("zz", b"{}")
        s3 = boto3.client("s3")
        try:
            s3.put_object(Bucket=s3_bucket, Key="client_subscriptions/deeper/x.json", Body=b"{}")
            s3.put_object(Bucket=s3_bucket, Key="client_subscriptions/readme.txt", Body=b"hi")
            body = s3.get_object(Bucket=s3_bucket, Key="client_subscriptions/c1.json")
            assert body["ContentType"] == "application/json"
            body["Body"].close()
        finally:
            s3.close()
        assert json.loads(with_prefix.read("c1") or b"") == sample_config("c1")
        assert with_prefix.list_ids() == ["c0", "c1"]
        assert other.list_ids() == ["zz"]
        assert with_prefix.describe() == f"s3://{s3_bucket}/client_subscriptions/"
    finally:
        with_prefix.close()
        other.close()


def test_s3_empty_body_is_an_error(s3_bucket: str) -> None:
    store = S3ConfigStore(s3_bucket)
    try:
        store.write("empty", b"")
        with pytest.raises(ConfigInvalid, match=r"^S3 response body was empty for client 'empty'$"):
            store.read("empty")
    finally:
        store.close()


def test_s3_missing_bucket_is_unavailable(aws_env: dict[str, str]) -> None:
    store = S3ConfigStore("no-such-bucket-for-this-test")
    try:
        with pytest.raises(ConfigUnavailable, match="no-such-bucket-for-this-test"):
            store.read("c1")
        with pytest.raises(ConfigUnavailable):
            store.list_ids()
        with pytest.raises(ConfigUnavailable):
            store.write("c1", b"{}")
    finally:
        store.close()


def test_store_from_env(tmp_path: Path, aws_env: dict[str, str]) -> None:
    local = config_store_from_env({"CLIENT_SUBSCRIPTION_CONFIG_DIR": str(tmp_path)})
    assert isinstance(local, LocalDirStore)
    s3 = config_store_from_env(
        {"CLIENT_SUBSCRIPTION_CONFIG_BUCKET": "b1", "CLIENT_SUBSCRIPTION_CONFIG_PREFIX": "p/"}
    )
    try:
        assert s3.describe() == "s3://b1/p/"
    finally:
        assert isinstance(s3, S3ConfigStore)
        s3.close()
    default = config_store_from_env({"CLIENT_SUBSCRIPTION_CONFIG_BUCKET": "b1"})
    try:
        assert default.describe() == "s3://b1/client_subscriptions/"
    finally:
        assert isinstance(default, S3ConfigStore)
        default.close()
    with pytest.raises(ConfigError, match=r"^CLIENT_SUBSCRIPTION_CONFIG_BUCKET is required$"):
        config_store_from_env({})
