"""Concurrent edits lose nothing: 20 `callbacks targets add` processes at once on one client leave exactly the
targets whose command exited 0 (directory store: lock + atomic rename; S3: If-Match / If-None-Match)."""

from __future__ import annotations

import contextlib
import io
import json
import multiprocessing
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import pytest

from delivery.cli.main import main
from delivery.config.sources import LocalDirStore
from delivery.errors import ConfigConflict
from delivery.manage.edits import Refusal
from delivery.manage.persist import EDIT_ATTEMPTS, update_config

WRITERS = 20


def _add(store_flags: list[str], target_id: str) -> tuple[int, str]:
    """One `callbacks targets add` in a forked child process (no interpreter start-up)."""
    args = ["targets", "add", "--client", "c1", "--target", target_id, "--endpoint", f"https://h.example/{target_id}",
            "--api-key", "k-1", "--rate-limit", "5", *store_flags]  # fmt: skip
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        rc = main(args)
    return rc, err.getvalue()


@pytest.fixture(params=["local", "s3"])
def store_flags(request: pytest.FixtureRequest, tmp_path: Path) -> list[str]:
    if request.param == "local":
        return ["--dir", str(tmp_path / "configs")]
    return ["--bucket", request.getfixturevalue("s3_bucket")]


def test_twenty_concurrent_target_adds_keep_every_target_that_was_reported_added(
    store_flags: list[str], aws_env: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    ids = [f"t-{i:02d}" for i in range(WRITERS)]
    with ProcessPoolExecutor(WRITERS, mp_context=multiprocessing.get_context("fork")) as pool:
        results = dict(zip(ids, pool.map(_add, [store_flags] * WRITERS, ids), strict=True))
    added = {target_id for target_id, (rc, _) in results.items() if rc == 0}
    for rc, err in results.values():
        assert rc == 0 or (rc == 1 and "kept changing" in err), err
    assert main(["targets", "list", "--client", "c1", "--output", "json", *store_flags]) == 0
    stored = {t["targetId"] for t in json.loads(capsys.readouterr().out)}
    assert stored == added
    assert len(added) >= WRITERS // 2  # the retries absorb most lost races


def test_a_lost_race_reapplies_the_edit_then_gives_up_with_a_clear_error(tmp_path: Path) -> None:
    store = LocalDirStore(tmp_path)
    calls: list[int] = []

    def edit_racing_another_writer(doc: dict) -> list[str]:  # another process writes between read and write
        calls.append(1)
        other = json.dumps({"clientId": "c1", "subscriptions": [], "targets": []}) + " " * len(calls)
        store.write("c1", other.encode())
        return []

    with pytest.raises(Refusal, match=r"kept changing .* nothing written, run the command again"):
        update_config(store, "c1", edit_racing_another_writer, create=True, dry_run=False)
    assert len(calls) == EDIT_ATTEMPTS
    with pytest.raises(ConfigConflict):
        store.write_if("c1", b"{}", None)  # something is stored: "nothing stored" no longer holds
