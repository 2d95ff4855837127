"""`callbacks subscriptions ...` and --dry-run on every write command."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
import trustme

from tests.manage.helpers import TARGET_ID, Cli, bare_target, sample_config

SUB = ("subscriptions",)


def _subs(cli: Cli, client_id: str = "c1") -> list[dict]:
    doc = cli.stored(client_id)
    assert doc is not None
    return doc["subscriptions"]


def _with_target(cli: Cli) -> None:
    cli.put({"clientId": "c1", "subscriptions": [], "targets": [bare_target("t1"), bare_target("t2")]})


def test_add_message_status_subscription_with_generated_id(cli: Cli) -> None:
    _with_target(cli)
    result = cli(*SUB, "add", "--client", "c1", "--type", "MessageStatus", "--target", "t1", "--target", "t2",
                 "--message-statuses", "DELIVERED", "FAILED", "--output", "json")  # fmt: skip
    assert result.rc == 0, result.err
    sid = result.json()["subscriptionId"]
    assert uuid.UUID(sid).version == 4
    assert _subs(cli) == [
        {"subscriptionId": sid, "subscriptionType": "MessageStatus", "targetIds": ["t1", "t2"],
         "messageStatuses": ["DELIVERED", "FAILED"]}
    ]  # fmt: skip


def test_add_channel_status_subscription(cli: Cli) -> None:
    _with_target(cli)
    result = cli(*SUB, "add", "--client", "c1", "--type", "ChannelStatus", "--target", "t1", "--subscription",
                 "s-ch", "--channel-type", "SMS", "--supplier-statuses", "delivered", "read")  # fmt: skip
    assert result.rc == 0, result.err
    assert "Subscription s-ch added for client c1" in result.out
    assert _subs(cli)[0] == {
        "subscriptionId": "s-ch", "subscriptionType": "ChannelStatus", "targetIds": ["t1"],
        "channelType": "SMS", "channelStatuses": [], "supplierStatuses": ["delivered", "read"],
    }  # fmt: skip


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (("--type", "MessageStatus"), "--message-statuses is required for MessageStatus subscriptions"),
        (("--type", "ChannelStatus", "--channel-statuses", "DELIVERED"), "--channel-type is required"),
        (("--type", "ChannelStatus", "--channel-type", "SMS"), "at least one of --channel-statuses or"),
        (("--type", "MessageStatus", "--message-statuses", "NOPE"), "subscriptions.0.messageStatuses.0:"),
        (("--type", "ChannelStatus", "--channel-type", "FAX", "--channel-statuses", "DELIVERED"),
         "subscriptions.0.channelType:"),
    ],
)  # fmt: skip
def test_add_refuses_incomplete_or_invalid_input(cli: Cli, extra: tuple[str, ...], message: str) -> None:
    _with_target(cli)
    before = cli.snapshot()
    result = cli(*SUB, "add", "--client", "c1", "--target", "t1", *extra)
    assert result.rc == 1
    assert message in result.err
    assert cli.snapshot() == before


def test_add_refuses_unknown_target(cli: Cli) -> None:
    result = cli(*SUB, "add", "--client", "new", "--type", "MessageStatus", "--target", "ghost",
                 "--message-statuses", "DELIVERED")  # fmt: skip
    assert result.rc == 1
    assert 'subscriptions.0.targetIds.0: targetId "ghost" not found in targets' in result.err
    assert cli.snapshot() == {}


def test_add_refuses_duplicate_subscription_id(cli: Cli) -> None:
    cli.put(sample_config("c1"))
    result = cli(*SUB, "add", "--client", "c1", "--type", "MessageStatus", "--target", TARGET_ID,
                 "--subscription", "sub-msg-001", "--message-statuses", "DELIVERED")  # fmt: skip
    assert result.rc == 1
    assert "Subscription 'sub-msg-001' already exists" in result.err


def test_list_and_delete(cli: Cli) -> None:
    cli.put(sample_config("c1"))
    listed = cli(*SUB, "list", "--client", "c1")
    assert listed.out.splitlines() == [
        f"sub-msg-001  MessageStatus  DELIVERED,FAILED  -> {TARGET_ID}",
        f"sub-ch-001  ChannelStatus  SMS channel=DELIVERED supplier=delivered,read  -> {TARGET_ID}",
    ]
    assert [s["subscriptionId"] for s in cli(*SUB, "list", "--client", "c1", "--output", "json").json()] == [
        "sub-msg-001",
        "sub-ch-001",
    ]
    assert cli(*SUB, "del", "--client", "c1", "--subscription", "sub-msg-001").rc == 0
    assert [s["subscriptionId"] for s in _subs(cli)] == ["sub-ch-001"]
    before = cli.snapshot()
    missing = cli(*SUB, "del", "--client", "c1", "--subscription", "sub-msg-001")  # idempotent
    assert (missing.rc, missing.out) == (0, "")
    assert missing.err == "WARNING: Subscription 'sub-msg-001' not found for client 'c1' — nothing deleted\n"
    assert cli.snapshot() == before


def test_set_states(cli: Cli) -> None:
    cli.put(sample_config("c1"))
    ok = cli(
        *SUB, "set-states", "--client", "c1", "--subscription", "sub-msg-001", "--message-statuses", "SENDING"
    )
    assert ok.rc == 0, ok.err
    ch = cli(
        *SUB, "set-states", "--client", "c1", "--subscription", "sub-ch-001", "--channel-statuses", "FAILED"
    )
    assert ch.rc == 0, ch.err
    subs = _subs(cli)
    assert subs[0]["messageStatuses"] == ["SENDING"]
    assert subs[1]["channelStatuses"] == ["FAILED"]
    assert subs[1]["supplierStatuses"] == ["delivered", "read"]


@pytest.mark.parametrize(
    ("sub_id", "extra", "message"),
    [
        ("sub-msg-001", (), "at least one of --message-statuses, --channel-statuses, or --supplier-statuses"),
        ("sub-msg-001", ("--channel-statuses", "FAILED"), "is MessageStatus"),
        ("sub-ch-001", ("--message-statuses", "FAILED"), "is ChannelStatus"),
        ("ghost", ("--message-statuses", "FAILED"), "Subscription 'ghost' not found"),
        ("sub-ch-001", ("--supplier-statuses", "bogus"), "subscriptions.1.supplierStatuses.0:"),
    ],
)
def test_set_states_refusals(cli: Cli, sub_id: str, extra: tuple[str, ...], message: str) -> None:
    cli.put(sample_config("c1"))
    before = cli.snapshot()
    result = cli(*SUB, "set-states", "--client", "c1", "--subscription", sub_id, *extra)
    assert result.rc == 1
    assert message in result.err
    assert cli.snapshot() == before


WRITES: dict[str, tuple[str, ...]] = {
    "clients put": ("clients", "put", "--json", '{"clientId": "c1", "subscriptions": [], "targets": []}'),
    "subscriptions add": (*SUB, "add", "--client", "c1", "--type", "MessageStatus", "--target", TARGET_ID,
                          "--subscription", "s-new", "--message-statuses", "DELIVERED"),
    "subscriptions del": (*SUB, "del", "--client", "c1", "--subscription", "sub-ch-001"),
    "subscriptions set-states": (*SUB, "set-states", "--client", "c1", "--subscription", "sub-ch-001",
                                 "--channel-statuses", "FAILED"),
    "targets add": ("targets", "add", "--client", "c1", "--endpoint", "https://x.example", "--api-key", "k",
                    "--rate-limit", "3", "--target", "t-new"),
    "targets del": ("targets", "del", "--client", "c1", "--target", "t1"),
    "targets set-mtls": ("targets", "set-mtls", "--client", "c1", "--target", TARGET_ID, "--no-enable"),
    "targets set-pinning": ("targets", "set-pinning", "--client", "c1", "--target", TARGET_ID, "--no-enable"),
    "targets set-certificate": ("targets", "set-certificate", "--client", "c1", "--target", TARGET_ID,
                                "--pem"),
}  # fmt: skip


@pytest.mark.parametrize("command", WRITES)
def test_dry_run_writes_nothing(
    cli: Cli, command: str, tls_server_cert: trustme.LeafCert, tmp_path: Path
) -> None:
    doc = sample_config("c1")
    doc["targets"].append(bare_target("t1"))
    cli.put(doc)
    before = cli.snapshot()
    argv = list(WRITES[command])
    if command.endswith("set-certificate"):
        pem = tmp_path / "server.pem"
        tls_server_cert.cert_chain_pems[0].write_to_path(str(pem))
        argv.append(str(pem))
    text = cli(*argv, "--dry-run")
    assert text.rc == 0, text.err
    assert "Dry run, nothing written to" in text.out
    as_json = cli(*argv, "--dry-run", "--output", "json")
    assert as_json.rc == 0, as_json.err
    assert as_json.json()["dryRun"] is True
    assert as_json.json()["config"]["clientId"] == "c1"
    assert cli.snapshot() == before
    real = cli(*argv)
    assert real.rc == 0, real.err
    assert cli.snapshot() != before
    assert cli.stored("c1") == as_json.json()["config"]
