"""EMF lines (``delivery.observe.emf``): the fast path writes exactly what ``json.dumps`` of the documented
document writes, for any metrics, dimensions and properties (the ``_aws`` block is serialised once per
metric/dimension set and spliced in)."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from delivery.observe.emf import UNITS, EmfEmitter

# names that collide across dimensions/metrics/properties, ``_aws``, braces (format syntax), or anything
NAME = st.sampled_from(["Environment", "ClientId", "Sent", "_aws", "{0}", "}{", ""]) | st.text(max_size=12)
SCALAR = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20)
VALUE = st.recursive(
    SCALAR, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(NAME, inner, max_size=3)
)
NUMBER = st.integers(min_value=0, max_value=10**6) | st.integers() | st.floats() | st.booleans()


def reference_line(
    emitter: EmfEmitter, metrics: dict[str, float], dimensions: dict[str, str], properties: dict[str, Any]
) -> str:
    """The document as specified, serialised the plain way (no secrets are registered in this process's
    tests that could match these values: scrubbing is covered in test_scrub)."""
    dims = {**emitter.dimensions, **dimensions}
    doc = {
        "_aws": {
            "Timestamp": emitter.clock_ms(),
            "CloudWatchMetrics": [
                {
                    "Namespace": emitter.namespace,
                    "Dimensions": [list(dims)],
                    "Metrics": [
                        {"Name": n, "Unit": UNITS.get(n, "Count"), "StorageResolution": 1} for n in metrics
                    ],
                }
            ],
        },
        **properties,
        **dims,
        **metrics,
    }
    return json.dumps(doc, default=str)


@given(
    st.dictionaries(NAME, NUMBER, min_size=1, max_size=4),
    st.dictionaries(NAME, st.sampled_from(["client-1", "client-2", "é"]) | st.text(max_size=12), max_size=3),
    st.dictionaries(NAME, VALUE, max_size=3) | st.just({}),
    st.text(max_size=8),
    st.integers(min_value=0, max_value=2**53) | st.floats(allow_nan=False),
)
def test_line_is_json_dumps_of_the_document(
    metrics: dict[str, float],
    dimensions: dict[str, str],
    properties: dict[str, Any],
    namespace: str,
    timestamp: float,
) -> None:
    lines: list[str] = []
    emitter = EmfEmitter(namespace, {"Environment": "t"}, write=lines.append, clock_ms=lambda: timestamp)
    emitter.emit(metrics, dimensions=dimensions, properties=properties)
    emitter.emit(metrics, dimensions=dimensions, properties=properties)  # second time: the cached block
    expected = reference_line(emitter, metrics, dimensions, properties)
    assert lines == [expected, expected]


def test_a_caller_key_named_aws_still_overrides_as_in_a_plain_dict() -> None:
    lines: list[str] = []
    emitter = EmfEmitter("ns", {"Environment": "t"}, write=lines.append, clock_ms=lambda: 7)
    emitter.emit({"Sent": 1}, properties={"_aws": "mine"})
    assert lines == [reference_line(emitter, {"Sent": 1}, {}, {"_aws": "mine"})]
    assert json.loads(lines[0])["_aws"] == "mine"


def test_unserialisable_values_are_written_as_text_and_failures_never_raise() -> None:
    lines: list[str] = []
    emitter = EmfEmitter("ns", {"Environment": "t"}, write=lines.append, clock_ms=lambda: 7)
    emitter.emit({"Sent": 1}, properties={"when": object})
    assert json.loads(lines[0])["when"] == str(object)
    circular: list[Any] = []
    circular.append(circular)
    emitter.emit({"Sent": 1}, properties={"loop": circular})  # logged, not raised
    assert len(lines) == 1


def test_dimension_values_of_any_type_and_non_text_metric_names_are_written_as_json_dumps_writes_them() -> (
    None
):
    lines: list[str] = []
    emitter = EmfEmitter("ns", {"Environment": "t"}, write=lines.append, clock_ms=lambda: 7)
    odd: list[tuple[dict[Any, Any], dict[str, Any]]] = [
        ({"Sent": 1}, {"ClientId": ["a", "b"]}),  # unhashable dimension value
        ({"Sent": 1}, {"ClientId": 3}),
        ({1: 1, "Sent": 2}, {}),  # a number as a metric name
        ({"Sent": 1}, {}),
    ]
    for metrics, dimensions in odd:
        emitter.emit(metrics, dimensions=dimensions)
        assert lines[-1] == reference_line(emitter, metrics, dimensions, {})
