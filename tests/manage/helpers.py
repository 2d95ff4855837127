"""Test data and the in-process ``callbacks`` runner shared by the management tests."""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from delivery.cli.main import main
from delivery.config.store import ConfigStore

TARGET_ID = "7d3c1f0e-2b1a-4c55-9d0e-1a2b3c4d5e6f"
SAMPLE_PIN = "KL/yFsVH+gnkkzdQ+DSlV8xMQOMehksgT6aOqQviOu8="
REFERENCE_CONFIG = Path(__file__).parents[2] / "fixtures" / "reference" / "spec-a4-acme-health.json"

SAMPLE: dict[str, Any] = json.loads(REFERENCE_CONFIG.read_text())  # SPEC A.4, verbatim


def sample_config(client_id: str = "acme-health", **changes: Any) -> dict[str, Any]:
    doc = copy.deepcopy(SAMPLE)
    doc["clientId"] = client_id
    doc.update(changes)
    return doc


def bare_target(target_id: str = "bare-1") -> dict[str, Any]:
    """A target without any ``delivery`` block."""
    return {
        "targetId": target_id,
        "type": "API",
        "invocationEndpoint": "https://bare.example/hook",
        "invocationMethod": "POST",
        "invocationRateLimit": 5,
        "apiKey": {"headerName": "x-api-key", "headerValue": "bare-key"},
    }


@dataclass
class Result:
    rc: int
    out: str
    err: str

    def json(self) -> Any:
        return json.loads(self.out)


@dataclass
class Cli:
    """Runs ``callbacks <argv> <store flags>`` in-process; ``stored(id)`` reads the store directly."""

    capsys: pytest.CaptureFixture[str]
    store_args: list[str]
    store: ConfigStore
    kind: str
    calls: list[list[str]] = field(default_factory=list)

    def __call__(self, *argv: str) -> Result:
        args = [*argv, *self.store_args]
        self.calls.append(args)
        self.capsys.readouterr()
        rc = main(args)
        captured = self.capsys.readouterr()
        return Result(rc, captured.out, captured.err)

    def stored(self, client_id: str) -> dict[str, Any] | None:
        raw = self.store.read(client_id)
        return None if raw is None else json.loads(raw)

    def put(self, doc: dict[str, Any]) -> None:
        self.store.write(doc["clientId"], json.dumps(doc).encode())

    def snapshot(self) -> dict[str, bytes | None]:
        return {cid: self.store.read(cid) for cid in self.store.list_ids()}
