"""Harness options: command line over env var over default, every bad value reported."""

from __future__ import annotations

import pytest

from harness.options import OptionError, resolve
from harness.wiring import DEFAULT_SQS


def _no_flags(_dest: str) -> object:
    return None


def test_defaults() -> None:
    opts = resolve(_no_flags, {})
    assert opts.is_local
    assert opts.timeout_scale == 1.0
    assert opts.state_dir is None


def test_env_var_fallback_and_flag_precedence() -> None:
    environ = {"CALLBACKS_ENV": "envs/staging.toml", "CALLBACKS_TIMEOUT_SCALE": "2"}
    opts = resolve(_no_flags, environ)
    assert opts.env == "envs/staging.toml"
    assert opts.scaled(10) == 20
    flags = {"callbacks_env": "local", "callbacks_timeout_scale": 0.5}
    opts = resolve(lambda dest: flags.get(dest), environ)
    assert opts.is_local
    assert opts.timeout_scale == 0.5


def test_bad_values_are_all_reported() -> None:
    environ = {
        "CALLBACKS_ENV": "no spaces/allowed",
        "CALLBACKS_TIMEOUT_SCALE": "-1",
        "CALLBACKS_STARTUP_TIMEOUT_S": "x",
    }
    with pytest.raises(OptionError) as info:
        resolve(_no_flags, environ)
    for name in ("callbacks_env", "callbacks_timeout_scale", "callbacks_startup_timeout"):
        assert name in str(info.value)


def test_a_name_refers_to_the_environments_directory(tmp_path) -> None:
    assert (
        resolve(_no_flags, {"CALLBACKS_ENV": "staging"}).environment_file(tmp_path)
        == tmp_path / "staging.toml"
    )
    opts = resolve(_no_flags, {"CALLBACKS_ENV": "/x/y.toml"})
    assert str(opts.environment_file(tmp_path)) == "/x/y.toml"


def test_the_local_stacks_sqs_emulator_is_an_option() -> None:
    assert resolve(_no_flags, {}).sqs == DEFAULT_SQS
    assert resolve(_no_flags, {"CALLBACKS_SQS": "moto-fast"}).sqs == "moto-fast"
    assert (
        resolve(lambda dest: {"callbacks_sqs": "moto"}.get(dest), {"CALLBACKS_SQS": "fauxqs"}).sqs == "moto"
    )
    with pytest.raises(
        OptionError, match="callbacks_sqs: expected one of fauxqs, moto-fast, moto, got 'sqlite'"
    ):
        resolve(_no_flags, {"CALLBACKS_SQS": "sqlite"})
