"""CloudWatch Embedded Metric Format (EMF) lines: the one small emitter every stage uses.

``EmfEmitter.emit({"DeliverySuccess": 1}, dimensions={...}, properties={...})`` writes one JSON line that
CloudWatch (Lambda, the CloudWatch agent) turns into metrics. Writing never raises: a metrics failure must
never break delivery (it is logged instead). Known secret values are masked (``delivery.observe.scrub``).
"""

from __future__ import annotations

import json
import logging
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from delivery.observe.scrub import KNOWN_SECRETS

UNITS: Mapping[str, str] = {"DeliveryDurationMs": "Milliseconds"}
_log = logging.getLogger(__name__)


def _stdout_line(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


@dataclass
class EmfEmitter:
    namespace: str
    dimensions: Mapping[str, str]
    write: Callable[[str], None] = _stdout_line
    clock_ms: Callable[[], int] = field(default=lambda: int(time.time() * 1000))

    def emit(
        self,
        metrics: Mapping[str, float],
        *,
        dimensions: Mapping[str, str] | None = None,
        properties: Mapping[str, Any] | None = None,
    ) -> None:
        if not metrics:
            return
        try:
            # only what callers pass can hold a secret: the metric names and the ``_aws`` block are ours
            dims: dict[str, Any] = KNOWN_SECRETS.scrub_value({**self.dimensions, **(dimensions or {})})
            props: dict[str, Any] = KNOWN_SECRETS.scrub_value(dict(properties)) if properties else {}
            doc: dict[str, Any] = {
                "_aws": {
                    "Timestamp": self.clock_ms(),
                    "CloudWatchMetrics": [
                        {
                            "Namespace": self.namespace,
                            "Dimensions": [list(dims)],
                            "Metrics": [
                                {"Name": n, "Unit": UNITS.get(n, "Count"), "StorageResolution": 1}
                                for n in metrics
                            ],
                        }
                    ],
                },
                **props,
                **dims,
                **metrics,
            }
            self.write(json.dumps(doc, default=str))
        except Exception:  # never let metrics break delivery
            _log.exception("metrics emit failed")
