"""Payload bytes are what JavaScript's JSON.stringify writes (SPEC B.4): ECMAScript Number::toString.

Three oracles: a table of documented JavaScript outputs (ECMA-262 Number::toString examples and well-known
results), Hypothesis properties of the ECMAScript rules, and — the independent one — Node.js itself run over a
few thousand generated numbers and over whole envelopes.
"""

from __future__ import annotations

import json
import math
import random
import re
import shutil
import struct
import subprocess
from decimal import Decimal

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from delivery.envelope import decode_envelope, serialise_payload
from delivery.jsjson import js_number, stringify

KNOWN = [
    (1.0, "1"),
    (1, "1"),
    (-0.0, "0"),
    (0.0, "0"),
    (0.1, "0.1"),
    (0.1 + 0.2, "0.30000000000000004"),
    (-1.5, "-1.5"),
    (100.0, "100"),
    (1e-6, "0.000001"),
    (1e-7, "1e-7"),
    (1.5e-7, "1.5e-7"),
    (0.000001234, "0.000001234"),
    (123e-20, "1.23e-18"),
    (1e16, "10000000000000000"),
    (1e20, "100000000000000000000"),
    (1e21, "1e+21"),
    (1.5e300, "1.5e+300"),
    (123456789012345680000.0, "123456789012345680000"),
    (1.7976931348623157e308, "1.7976931348623157e+308"),
    (5e-324, "5e-324"),
    (2**53, "9007199254740992"),
    (2**53 + 1, "9007199254740992"),  # JSON.parse reads the nearest double
    (12345678901234567890, "12345678901234567000"),
    (-(10**21), "-1e+21"),
    (10**400, "Infinity"),
    (math.inf, "Infinity"),
    (-math.inf, "-Infinity"),
    (math.nan, "NaN"),
]


@pytest.mark.parametrize(("value", "text"), KNOWN)
def test_known_javascript_outputs(value: float | int, text: str) -> None:
    assert js_number(value) == text


def test_stringify_layout_and_non_finite_numbers() -> None:
    value = {"b": [1.0, -0.0, 1e-7, math.nan, math.inf, True, None], "a": "é/\n\u2028", "n": {}}
    assert stringify(value) == '{"b":[1,0,1e-7,null,null,true,null],"a":"é/\\n\u2028","n":{}}'


finite = st.floats(allow_nan=False, allow_infinity=False)
_FORM = re.compile(r"-?(?:0|[1-9]\d*)(?:\.\d*[1-9])?(?:e[+-][1-9]\d*)?")


def _ecmascript_reference(x: float) -> str:
    """The ECMA-262 Number::toString steps, with s, k, n taken from ``Decimal`` (independent of the
    string slicing in ``delivery.jsjson``)."""
    if x == 0:
        return "0"
    if x < 0:
        return "-" + _ecmascript_reference(-x)
    _, digits, exponent = Decimal(repr(x)).normalize().as_tuple()
    assert isinstance(exponent, int)
    s = "".join(map(str, digits))
    k = len(s)
    n = exponent + k
    if k <= n <= 21:
        return s + "0" * (n - k)
    if 0 < n <= 21:
        return s[:n] + "." + s[n:]
    if -6 < n <= 0:
        return "0." + "0" * -n + s
    e = f"{'+' if n - 1 > 0 else '-'}{abs(n - 1)}"
    return (s if k == 1 else s[0] + "." + s[1:]) + "e" + e


@given(finite)
@example(1.192092896e-07)
@example(1e-6)
@example(9.99e-7)
@example(9.99e20)
@example(1e21)
def test_round_trips_and_follows_the_ecmascript_steps(x: float) -> None:
    text = js_number(x)
    assert float(text) == x
    assert _FORM.fullmatch(text), text
    assert text == _ecmascript_reference(x)
    uses_exponent = "e" in text
    assert uses_exponent == (x != 0 and not 1e-6 <= abs(x) < 1e21), text


@given(st.integers(min_value=-(2**53), max_value=2**53))
def test_safe_integers_print_as_integers(n: int) -> None:
    assert js_number(n) == str(n)
    assert js_number(float(n)) == str(n)


@given(st.integers(min_value=2**53 + 1, max_value=10**300))
def test_large_integers_are_read_as_the_nearest_double(n: int) -> None:
    assert js_number(n) == js_number(float(n))
    assert float(js_number(n)) == float(n)


node = pytest.mark.skipif(shutil.which("node") is None, reason="Node.js is the independent oracle")


def _node(script: str, stdin: str) -> str:
    done = subprocess.run(
        ["node", "-e", script], input=stdin, capture_output=True, text=True, check=True, timeout=60
    )
    return done.stdout


def _sample_doubles(count: int) -> list[float]:
    """Random bit patterns (every exponent equally likely), plus the boundaries of the layout rules."""
    rng = random.Random(14)
    out = [1e21, 1e-7, 1e-6, 9.999999999999999e20, 5e-324, 2.0**53, 2.0**53 + 2, 0.1, -0.0]
    while len(out) < count:
        x = struct.unpack("<d", rng.getrandbits(64).to_bytes(8, "little"))[0]
        if math.isfinite(x):
            out.append(x)
    return out


@node
def test_numbers_match_node() -> None:
    values = _sample_doubles(4000)
    script = (
        "let s='';process.stdin.on('data',d=>s+=d).on('end',()=>{"
        "for(const h of s.trim().split('\\n')){const b=Buffer.from(h,'hex');"
        "console.log(String(b.readDoubleLE(0)))}})"
    )
    stdin = "\n".join(struct.pack("<d", v).hex() for v in values)
    expected = _node(script, stdin).splitlines()
    assert [js_number(v) for v in values] == expected


@node
def test_envelope_payload_bytes_match_node_reserialisation() -> None:
    """A reference receiver re-serialising the body we send sees exactly our bytes."""
    numbers = "[1.0, 1e-7, 1E21, -0.0, -0, 12345678901234567890, 1e400, 0.5, 100, 2.50, 1.23e-5, 4.35]"
    raw = (
        '{"payload":{"data":[{"type":"MessageStatus","attributes":{"messageId":"m-1","é/x":"😀 \\u2028",'
        f'"n":{numbers},"o":{{"z":1,"a":[true,false,null]}}}}}}]}},"subscriptionId":"s","targetId":"t"}}'
    )
    env = decode_envelope(raw)
    script = (
        "let s='';process.stdin.on('data',d=>s+=d).on('end',()=>"
        "process.stdout.write(JSON.stringify(JSON.parse(s).payload)))"
    )
    assert env.payload_bytes.decode("utf-8") == _node(script, raw)
    assert b'"n":[1,1e-7,1e+21,0,0,12345678901234567000,null,0.5,100,2.5,0.0000123,4.35]' in env.payload_bytes
    assert json.loads(env.payload_bytes)["data"][0]["attributes"]["o"] == {"z": 1, "a": [True, False, None]}


def test_an_integer_longer_than_pythons_digit_limit_is_a_double() -> None:
    nines = "9" * 5000
    raw = f'{{"payload":{{"data":[{{"n":[{nines},-{nines}]}}]}},"subscriptionId":"s","targetId":"t"}}'
    assert decode_envelope(raw).payload_bytes == b'{"data":[{"n":[null,null]}]}'


_plain_json = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**14) + 1, max_value=10**15 - 1)  # at most 15 characters with the sign
    | st.text(),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(), children, max_size=4),
    max_leaves=20,
)


@given(st.dictionaries(st.text(), _plain_json, max_size=5))
def test_the_c_encoder_writes_what_stringify_writes_for_plain_numbers(payload: dict[str, object]) -> None:
    assert serialise_payload(payload, plain_numbers=True) == serialise_payload(payload)


def test_a_payload_with_other_numbers_is_written_by_stringify_after_a_plain_one() -> None:
    """The decoder's number hooks pick the writer per body: a plain body first, then one whose numbers only
    ``JSON.stringify``'s rules print right (a double, a 16-digit integer beyond 2**53)."""
    shape = '{{"payload":{{"data":[{{"n":{numbers}}}]}},"subscriptionId":"s","targetId":"t"}}'
    plain = decode_envelope(shape.format(numbers="[1,-12345678901234,123456789012345]"))
    assert plain.payload_bytes == b'{"data":[{"n":[1,-12345678901234,123456789012345]}]}'
    other = decode_envelope(shape.format(numbers="[1.0,2.50,9999999999999999,1E21]"))
    assert other.payload_bytes == b'{"data":[{"n":[1,2.5,10000000000000000,1e+21]}]}'
