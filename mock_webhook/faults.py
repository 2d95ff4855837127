"""Fault scripts: what the mock does to the next request on a path, instead of (or on top of) answering.

A script (JSON or YAML; ``PUT /faults/<path>`` or ``--faults FILE``)::

    {"steps": [
        {"status": 503, "times": 2},                               # two 503s
        {"status": 429, "headers": {"Retry-After": "3"}},          # one 429 with Retry-After
        {"delayMs": 1500},                                         # answer normally, 1.5 s late
        {"reset": true},                                           # TCP reset, no response
        {"slowBodyMs": 2000, "status": 200},                       # body trickled over 2 s
        {"status": 500, "probability": 0.25, "times": null}        # forever: 25 % of requests get 500
     ],
     "seed": 7,                      # seeds the probability draws (deterministic runs)
     "loop": false,                  # after the last step: start again (true) or answer normally (false)
     "rateLimit": {"perSecond": 50, "burst": 50, "retryAfterS": 1}}

Step fields: ``times`` (requests the step covers, default 1, null = forever), ``status``, ``headers``,
``body`` (string or JSON value; default ``{"message":"Scripted status <code>"}``), ``delayMs``, ``reset``,
``slowBodyMs``, ``probability`` (0..1, default 1; a request the draw spares is answered normally but still
counts toward ``times``). A step without ``status``/``reset`` answers normally (after any delay). A bare list
is shorthand for ``{"steps": [...]}``. ``rateLimit`` answers 429 + ``Retry-After`` above ``perSecond``
(token bucket of ``burst`` tokens, default ``perSecond``); rate-limited requests do not consume steps.
The path ``*`` holds the script for paths that have none of their own.
"""

from __future__ import annotations

import json
import math
import random
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


class FaultScriptError(ValueError):
    """A script is malformed; ``issues`` lists ``path: message`` for every bad field."""

    def __init__(self, issues: list[str]) -> None:
        super().__init__("; ".join(issues))
        self.issues = issues


@dataclass(frozen=True, slots=True)
class FaultStep:
    times: int | None = 1
    status: int | None = None
    headers: tuple[tuple[str, str], ...] = ()
    body: bytes | None = None
    delay_ms: float = 0.0
    reset: bool = False
    slow_body_ms: float = 0.0
    probability: float = 1.0

    def describe(self) -> str:
        """The step in words: ``answer 503, 2 times``, ``reset the connection``, ``delay 1500 ms``..."""
        what = []
        if self.delay_ms:
            what.append(f"wait {self.delay_ms:g} ms")
        if self.reset:
            what.append("reset the connection (no response)")
        elif self.status is not None:
            what.append(f"answer {self.status}")
        else:
            what.append("answer normally")
        if self.slow_body_ms:
            what.append(f"trickle the body over {self.slow_body_ms:g} ms")
        times = "forever" if self.times is None else f"{self.times} time{'s' if self.times != 1 else ''}"
        chance = f", {self.probability:.0%} of requests" if self.probability < 1 else ""
        return f"{', then '.join(what)} ({times}{chance})"


@dataclass(frozen=True, slots=True)
class RateLimit:
    per_second: float
    burst: float
    retry_after_s: int = 1


@dataclass(frozen=True, slots=True)
class FaultScript:
    steps: tuple[FaultStep, ...] = ()
    seed: int | None = None
    loop: bool = False
    rate_limit: RateLimit | None = None
    source: str = "{}"  # the JSON it was parsed from, shown back by the admin API

    @classmethod
    def from_json(cls, data: object) -> FaultScript:
        return parse_script(data)


@dataclass(frozen=True, slots=True)
class FaultAction:
    """What to do with one request. ``status`` None means: answer normally."""

    label: str
    status: int | None = None
    headers: tuple[tuple[str, str], ...] = ()
    body: bytes | None = None
    delay_s: float = 0.0
    reset: bool = False
    slow_body_s: float = 0.0
    detail: str = ""  # the step in words, for the journal and the inbox


def _number(raw: Mapping[str, Any], key: str, where: str, issues: list[str], low: float = 0.0) -> float:
    value = raw.get(key, 0.0 if key != "probability" else 1.0)
    if isinstance(value, bool) or not isinstance(value, int | float) or value < low:
        issues.append(f"{where}.{key}: must be a number >= {low:g}")
        return 0.0
    return float(value)


def _step_body(raw: Mapping[str, Any], status: int | None) -> bytes | None:
    body = raw.get("body")
    if body is None:
        return (
            None
            if status is None
            else json.dumps({"message": f"Scripted status {status}"}, separators=(",", ":")).encode()
        )
    return body.encode() if isinstance(body, str) else json.dumps(body, separators=(",", ":")).encode()


def _step_status(raw: Mapping[str, Any], where: str, issues: list[str]) -> int | None:
    status = raw.get("status")
    if status is not None and (
        isinstance(status, bool) or not isinstance(status, int) or not 100 <= status <= 599
    ):
        issues.append(f"{where}.status: must be an HTTP status 100..599")
        return None
    return status


def _step_times(raw: Mapping[str, Any], where: str, issues: list[str]) -> int | None:
    times = raw.get("times", 1)
    if times is not None and (isinstance(times, bool) or not isinstance(times, int) or times < 1):
        issues.append(f"{where}.times: must be an integer >= 1 or null (forever)")
        return 1
    return times


def _step_headers(raw: Mapping[str, Any], where: str, issues: list[str]) -> tuple[tuple[str, str], ...]:
    headers = raw.get("headers", {})
    if not isinstance(headers, dict):
        issues.append(f"{where}.headers: must be an object of header: value")
        return ()
    return tuple((str(k), str(v)) for k, v in headers.items())


_STEP_KEYS = frozenset(
    {"times", "status", "headers", "body", "delayMs", "reset", "slowBodyMs", "probability", "pass"}
)


def parse_step(raw: object, where: str, issues: list[str]) -> FaultStep:
    if not isinstance(raw, dict):
        issues.append(f"{where}: must be an object")
        return FaultStep()
    issues.extend(f"{where}.{key}: unknown field" for key in raw if key not in _STEP_KEYS)
    status = _step_status(raw, where, issues)
    probability = _number(raw, "probability", where, issues)
    if probability > 1:
        issues.append(f"{where}.probability: must be between 0 and 1")
    return FaultStep(
        times=_step_times(raw, where, issues),
        status=status,
        headers=_step_headers(raw, where, issues),
        body=_step_body(raw, status),
        delay_ms=_number(raw, "delayMs", where, issues),
        reset=bool(raw.get("reset", False)),
        slow_body_ms=_number(raw, "slowBodyMs", where, issues),
        probability=min(probability, 1.0),
    )


def parse_rate_limit(raw: object, issues: list[str]) -> RateLimit | None:
    if raw is None:
        return None
    if not isinstance(raw, dict):
        issues.append("rateLimit: must be an object")
        return None
    per_second = _number(raw, "perSecond", "rateLimit", issues)
    if per_second <= 0:
        issues.append("rateLimit.perSecond: must be > 0")
    burst = _number({"burst": raw.get("burst", per_second)}, "burst", "rateLimit", issues)
    retry_after = raw.get("retryAfterS", 1)
    if isinstance(retry_after, bool) or not isinstance(retry_after, int) or retry_after < 0:
        issues.append("rateLimit.retryAfterS: must be an integer >= 0")
        retry_after = 1
    return RateLimit(per_second, max(burst, 1.0), retry_after)


def parse_script(data: object) -> FaultScript:
    """Validate a script, reporting every bad field at once."""
    raw = {"steps": data} if isinstance(data, list) else data
    if not isinstance(raw, dict):
        raise FaultScriptError(["<script>: must be an object or a list of steps"])
    issues = [f"{key}: unknown field" for key in raw if key not in {"steps", "seed", "loop", "rateLimit"}]
    steps_raw = raw.get("steps", [])
    if not isinstance(steps_raw, list):
        issues.append("steps: must be a list")
        steps_raw = []
    steps = tuple(parse_step(step, f"steps.{i}", issues) for i, step in enumerate(steps_raw))
    seed = raw.get("seed")
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
        issues.append("seed: must be an integer")
    rate_limit = parse_rate_limit(raw.get("rateLimit"), issues)
    if issues:
        raise FaultScriptError(issues)
    source = json.dumps(raw, separators=(",", ":"), default=str)
    return FaultScript(steps, seed, bool(raw.get("loop", False)), rate_limit, source)


class ScriptRunner:
    """The live state of one path's script: step position, seeded draws, rate-limit bucket."""

    def __init__(self, script: FaultScript, now_s: float) -> None:
        self.script = script
        self._index = 0
        self._used = 0
        self._rand = random.Random(script.seed)
        limit = script.rate_limit
        self._tokens = limit.burst if limit else 0.0
        self._refilled_s = now_s

    def next_action(self, now_s: float) -> FaultAction | None:
        limited = self._rate_limited(now_s)
        if limited is not None:
            return limited
        taken = self._take_step()
        if taken is None:
            return None
        index, step = taken
        if step.probability < 1.0 and self._rand.random() >= step.probability:
            return None
        return FaultAction(
            label=f"step {index}",
            status=step.status,
            headers=step.headers,
            body=step.body,
            delay_s=step.delay_ms / 1000,
            reset=step.reset,
            slow_body_s=step.slow_body_ms / 1000,
            detail=f"scripted step {index + 1} of {len(self.script.steps)}: {step.describe()}",
        )

    def _take_step(self) -> tuple[int, FaultStep] | None:
        steps = self.script.steps
        if self._index >= len(steps):
            if not (self.script.loop and steps):
                return None
            self._index = 0
        index, step = self._index, steps[self._index]
        self._used += 1
        if step.times is not None and self._used >= step.times:
            self._index += 1
            self._used = 0
        return index, step

    def _rate_limited(self, now_s: float) -> FaultAction | None:
        limit = self.script.rate_limit
        if limit is None:
            return None
        elapsed_s = max(now_s - self._refilled_s, 0.0)
        self._tokens = min(limit.burst, self._tokens + elapsed_s * limit.per_second)
        self._refilled_s = now_s
        if self._tokens >= 1.0:
            self._tokens -= 1.0
            return None
        wait_s = max(limit.retry_after_s, math.ceil((1.0 - self._tokens) / limit.per_second))
        body = b'{"message":"Too Many Requests"}'
        detail = f"rate limit: 429 above {limit.per_second:g} requests/s (burst {limit.burst:g})"
        return FaultAction("rate-limit", 429, (("Retry-After", str(wait_s)),), body, detail=detail)
