"""harness — pytest plugin, environments and the embedded local stack for end-to-end scenarios.

Public names are imported lazily (``harness.LocalStack`` pulls in boto3; the pytest plugin must stay cheap for
unit-test sessions).
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "ClientQueues": "harness.environment",
    "Environment": "harness.environment",
    "LocalStack": "harness.local_stack",
    "StackOptions": "harness.local_stack",
    "MockAdmin": "harness.mock_admin",
    "Scenario": "harness.scenarios",
    "eventually": "harness.waits",
    "WaitTimeout": "harness.waits",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'harness' has no attribute {name!r}")
    return getattr(importlib.import_module(_EXPORTS[name]), name)
