"""Redrive pacing as pure values: slots per key at a rate, the --rate format, defaults from the config."""

from __future__ import annotations

import pytest

from delivery.cli.main import main
from delivery.runtime.pacing import REDRIVE_RATE_SHARE, Pacer, default_rates, parse_rate


def test_slots_are_spaced_by_the_rate_and_never_before_now() -> None:
    pacer = Pacer(rate_per_s=4)
    assert [pacer.slot(10.0) for _ in range(4)] == [10.0, 10.25, 10.5, 10.75]
    assert pacer.slot(20.0) == 20.0  # idle time is not saved up as a burst


@pytest.mark.parametrize(("text", "rate"), [("10/s", 10.0), ("2.5", 2.5), (" 8/s ", 8.0)])
def test_rates_are_read_as_messages_per_second(text: str, rate: float) -> None:
    assert parse_rate(text) == rate


@pytest.mark.parametrize("text", ["0/s", "-1", "fast", "inf", "nan", "10/m"])
def test_a_bad_rate_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match=r"N/s|positive"):
        parse_rate(text)


def test_default_rates_are_a_share_of_each_targets_limit() -> None:
    assert default_rates({"a": 10, "b": 2.5}) == {"a": 10 * REDRIVE_RATE_SHARE, "b": 2.5 * REDRIVE_RATE_SHARE}


def test_a_bad_rate_flag_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["redrive", "--client", "c1", "--rate", "fast"])
    assert exit_info.value.code == 2
    assert "--rate: expected N/s (messages per second), e.g. 10/s, got 'fast'" in capsys.readouterr().err
