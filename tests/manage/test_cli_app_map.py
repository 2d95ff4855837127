"""`callbacks applications-map add|get` (local file and SSM via moto) and store selection from env."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest

from delivery.cli.main import main
from tests.manage.helpers import Result, sample_config


@pytest.fixture(params=["file", "ssm"])
def app_map(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[list[str], str]]:
    """(store flags, kind)."""
    if request.param == "file":
        yield ["--app-map-file", str(tmp_path / "apps.json")], "file"
        return
    request.getfixturevalue("aws_env")
    yield ["--parameter", f"/callbacks-test/{uuid.uuid4().hex}/apps"], "ssm"


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> Result:
    capsys.readouterr()
    rc = main(list(argv))
    out = capsys.readouterr()
    return Result(rc, out.out, out.err)


def test_add_get_and_dry_run(app_map: tuple[list[str], str], capsys: pytest.CaptureFixture[str]) -> None:
    flags, _ = app_map
    missing = run(capsys, "applications-map", "get", *flags)
    assert missing.rc == 1
    assert "not found" in missing.err

    assert run(capsys, "applications-map", "add", "--client", "c1", "--application", "app-1", *flags).rc == 0
    added = run(capsys, "applications-map", "add", "--client", "c2", "--application", "app-2", *flags)
    assert added.rc == 0, added.err
    assert "applicationId app-2 mapped for client c2" in added.out

    dry = run(capsys, "applications-map", "add", "--client", "c3", "--application", "x", "--dry-run", *flags)
    assert dry.rc == 0
    assert dry.out.startswith("Dry run: nothing written to ")
    as_json = run(capsys, "applications-map", "get", "--output", "json", *flags)
    assert as_json.json() == {"c1": "app-1", "c2": "app-2"}

    one = run(capsys, "applications-map", "get", "--client", "c2", *flags)
    assert one.out.strip() == "app-2"
    text = run(capsys, "applications-map", "get", *flags)
    assert text.out.splitlines() == ["c1  app-1", "c2  app-2"]
    absent = run(capsys, "applications-map", "get", "--client", "zz", *flags)
    assert absent.rc == 1
    assert "No applicationId found for clientId 'zz'" in absent.err


def test_parameter_from_env(aws_env: dict[str, str], monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    name = f"/callbacks-test/{uuid.uuid4().hex}/apps"
    monkeypatch.setenv("APPLICATIONS_MAP_PARAMETER", name)
    assert run(capsys, "applications-map", "add", "--client", "c1", "--application", "app-1").rc == 0
    ssm = boto3.client("ssm")
    try:
        parameter = ssm.get_parameter(Name=name, WithDecryption=True)["Parameter"]
    finally:
        ssm.close()
    assert parameter["Type"] == "SecureString"
    assert json.loads(parameter["Value"]) == {"c1": "app-1"}


def test_invalid_map_file_is_an_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "apps.json"
    path.write_text("[1, 2]")
    result = run(
        capsys, "applications-map", "add", "--client", "c", "--application", "a", "--app-map-file", str(path)
    )
    assert result.rc == 1
    assert "must hold a JSON object" in result.err
    assert path.read_text() == "[1, 2]"


def test_no_store_given_is_an_error(capsys: pytest.CaptureFixture[str]) -> None:
    result = run(capsys, "clients", "list")
    assert result.rc == 1
    assert "pass --dir DIR or --bucket BUCKET" in result.err
    result = run(capsys, "applications-map", "get")
    assert result.rc == 1
    assert "pass --app-map-file FILE or --parameter NAME" in result.err


def test_bucket_and_prefix_from_env(s3_bucket: str, monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    monkeypatch.setenv("CLIENT_SUBSCRIPTION_CONFIG_BUCKET", s3_bucket)
    monkeypatch.setenv("CLIENT_SUBSCRIPTION_CONFIG_PREFIX", "custom/")
    put = run(capsys, "clients", "put", "--json", json.dumps(sample_config("c1")))
    assert put.rc == 0, put.err
    s3 = boto3.client("s3")
    try:
        keys = [o["Key"] for o in s3.list_objects_v2(Bucket=s3_bucket).get("Contents", [])]
    finally:
        s3.close()
    assert keys == ["custom/c1.json"]
    assert run(capsys, "clients", "list").out.split() == ["c1"]


def test_dir_flag_wins_over_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    monkeypatch.setenv("CLIENT_SUBSCRIPTION_CONFIG_BUCKET", "unused-bucket")
    put = run(capsys, "clients", "put", "--json", json.dumps(sample_config("c1")), "--dir", str(tmp_path))
    assert put.rc == 0, put.err
    assert (tmp_path / "c1.json").exists()
