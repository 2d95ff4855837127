"""CloudWatch Embedded Metric Format (EMF) lines: the one small emitter every stage uses.

``EmfEmitter.emit({"DeliverySuccess": 1}, dimensions={...}, properties={...})`` writes one JSON line that
CloudWatch (Lambda, the CloudWatch agent) turns into metrics. Writing never raises: a metrics failure must
never break delivery (it is logged instead). Known secret values are masked (``delivery.observe.scrub``).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from delivery.observe.encode import line_encoder
from delivery.observe.output import STDOUT
from delivery.observe.scrub import KNOWN_SECRETS

UNITS: Mapping[str, str] = {"DeliveryDurationMs": "Milliseconds"}
_log = logging.getLogger(__name__)


_dumps = line_encoder(ensure_ascii=True, check_circular=False)  # documents we build: no cycles
_BLOCKS: dict[tuple[str, tuple[str, ...], tuple[str, ...]], str] = {}  # serialised ``CloudWatchMetrics``
MAX_BLOCKS = 1024


def _stdout_line(line: str) -> None:
    """One line on stdout: at once, or with its batch inside an ``output.buffered()`` scope."""
    STDOUT.add(line)


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
            fields = {**props, **dims, **metrics}
            timestamp = self.clock_ms()
            if "_aws" in fields or type(timestamp) is not int:  # never in practice: the general form
                self.write(_dumps(self._document(timestamp, dims, metrics, fields)))
                return
            # == _dumps(self._document(...)): the ``_aws`` block is serialised once per metric/dimension set
            block = self._block(tuple(dims), tuple(metrics))
            rest = _dumps(fields)[1:]
            self.write(f'{{"_aws": {{"Timestamp": {timestamp}, "CloudWatchMetrics": {block}}}, {rest}')
        except Exception:  # never let metrics break delivery
            _log.exception("metrics emit failed")

    def _block(self, dimension_names: tuple[str, ...], metric_names: tuple[str, ...]) -> str:
        key = (self.namespace, dimension_names, metric_names)
        block = _BLOCKS.get(key)
        if block is None:
            if len(_BLOCKS) >= MAX_BLOCKS:
                _BLOCKS.clear()
            block = _BLOCKS[key] = _dumps(_metric_block(self.namespace, dimension_names, metric_names))
        return block

    def _document(
        self, timestamp: Any, dims: Mapping[str, Any], metrics: Mapping[str, float], fields: dict[str, Any]
    ) -> dict[str, Any]:
        aws = {"Timestamp": timestamp, "CloudWatchMetrics": _metric_block(self.namespace, dims, metrics)}
        return {"_aws": aws, **fields}


def _metric_block(namespace: str, dims: Iterable[str], metrics: Iterable[str]) -> list[dict[str, Any]]:
    return [
        {
            "Namespace": namespace,
            "Dimensions": [list(dims)],
            "Metrics": [{"Name": n, "Unit": UNITS.get(n, "Count"), "StorageResolution": 1} for n in metrics],
        }
    ]
