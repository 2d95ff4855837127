"""Fault scripts: parsing (every bad field reported) and the per-path runner (pure, clock passed in)."""

from __future__ import annotations

import pytest

from mock_webhook.faults import FaultScriptError, ScriptRunner, parse_script


def _statuses(runner: ScriptRunner, n: int, now_s: float = 0.0) -> list[int | None]:
    out = []
    for _ in range(n):
        action = runner.next_action(now_s)
        out.append(None if action is None else action.status)
    return out


def test_status_sequence_with_repeat_then_normal_handling() -> None:
    script = parse_script([{"status": 503, "times": 2}, {"status": 429, "headers": {"Retry-After": "3"}}])
    runner = ScriptRunner(script, 0.0)
    actions = [runner.next_action(0.0) for _ in range(4)]
    assert [a.status if a else None for a in actions] == [503, 503, 429, None]
    assert actions[2] is not None
    assert actions[2].headers == (("Retry-After", "3"),)
    assert actions[0] is not None
    assert actions[0].body == b'{"message":"Scripted status 503"}'


def test_loop_and_forever() -> None:
    looping = ScriptRunner(parse_script({"steps": [{"status": 500}, {}], "loop": True}), 0.0)
    assert _statuses(looping, 5) == [500, None, 500, None, 500]
    forever = ScriptRunner(parse_script([{"status": 502, "times": None}]), 0.0)
    assert _statuses(forever, 50) == [502] * 50


def test_seeded_probability_is_deterministic_and_roughly_right() -> None:
    script = parse_script({"steps": [{"status": 500, "probability": 0.3, "times": None}], "seed": 42})
    first, second = ScriptRunner(script, 0.0), ScriptRunner(script, 0.0)
    a, b = _statuses(first, 1000), _statuses(second, 1000)
    assert a == b
    assert 230 <= a.count(500) <= 370
    other = ScriptRunner(
        parse_script({**{"steps": [{"status": 500, "probability": 0.3, "times": None}]}, "seed": 7}), 0
    )
    assert _statuses(other, 1000) != a


def test_probability_draws_still_consume_steps() -> None:
    runner = ScriptRunner(parse_script({"steps": [{"status": 500, "probability": 0.0, "times": 3}]}), 0.0)
    assert _statuses(runner, 4) == [None, None, None, None]


def test_delay_reset_and_slow_body_actions() -> None:
    runner = ScriptRunner(
        parse_script([{"delayMs": 250}, {"reset": True}, {"slowBodyMs": 1000, "status": 200}]), 0
    )
    delay, reset, slow = (runner.next_action(0.0) for _ in range(3))
    assert delay is not None
    assert (delay.delay_s, delay.status, delay.label) == (0.25, None, "step 0")
    assert reset is not None
    assert reset.reset
    assert slow is not None
    assert (slow.slow_body_s, slow.status) == (1.0, 200)


def test_rate_limit_token_bucket() -> None:
    runner = ScriptRunner(parse_script({"rateLimit": {"perSecond": 10, "retryAfterS": 2}}), 0.0)
    assert _statuses(runner, 10, now_s=0.0) == [None] * 10
    limited = runner.next_action(0.0)
    assert limited is not None
    assert limited.status == 429
    assert limited.headers == (("Retry-After", "2"),)
    assert _statuses(runner, 1, now_s=0.1) == [None]  # one token refilled after 100 ms
    assert _statuses(runner, 1, now_s=0.1) == [429]


def test_rate_limited_requests_do_not_consume_steps() -> None:
    runner = ScriptRunner(parse_script({"steps": [{"status": 503}], "rateLimit": {"perSecond": 1}}), 0.0)
    assert _statuses(runner, 3, now_s=0.0) == [503, 429, 429]


def test_every_bad_field_is_reported() -> None:
    with pytest.raises(FaultScriptError) as err:
        parse_script(
            {
                "steps": [{"status": 99, "times": 0}, {"delayMs": -1, "probability": 2, "bogus": 1}, "x"],
                "seed": "s",
                "rateLimit": {"perSecond": 0},
                "extra": True,
            }
        )
    issues = err.value.issues
    for expected in [
        "extra: unknown field",
        "steps.0.status: must be an HTTP status 100..599",
        "steps.0.times: must be an integer >= 1 or null (forever)",
        "steps.1.delayMs: must be a number >= 0",
        "steps.1.probability: must be between 0 and 1",
        "steps.1.bogus: unknown field",
        "steps.2: must be an object",
        "seed: must be an integer",
        "rateLimit.perSecond: must be > 0",
    ]:
        assert expected in issues


@pytest.mark.parametrize(
    ("step", "words"),
    [
        ({"status": 503, "times": 2}, "answer 503 (2 times)"),
        ({"reset": True}, "reset the connection (no response) (1 time)"),
        ({"delayMs": 1500}, "wait 1500 ms, then answer normally (1 time)"),
        ({"slowBodyMs": 2000, "status": 200}, "answer 200, then trickle the body over 2000 ms (1 time)"),
        ({"status": 500, "probability": 0.25, "times": None}, "answer 500 (forever, 25% of requests)"),
    ],
)
def test_each_step_is_described_in_words(step: dict[str, object], words: str) -> None:
    [parsed] = parse_script([step]).steps
    assert parsed.describe() == words
