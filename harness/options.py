"""Harness options: one table of option -> env var -> default, resolved in one function.

``resolve(get_option, environ)`` is the only place that reads the environment variables; the pytest plugin
passes ``config.getoption`` and ``os.environ`` (STYLE rule 10 and 20).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from harness.wiring import DEFAULT_SQS, SQS_EMULATORS


@dataclass(frozen=True, slots=True)
class Option:
    flag: str  # pytest command-line flag
    dest: str
    env_var: str
    default: str
    help: str


OPTIONS: tuple[Option, ...] = (
    Option(
        "--callbacks-env", "callbacks_env", "CALLBACKS_ENV", "local",
        "environment for scenarios: 'local' (embedded stack), a PATH.toml, or NAME for "
        "fixtures/environments/NAME.toml",
    ),
    Option(
        "--callbacks-timeout-scale", "callbacks_timeout_scale", "CALLBACKS_TIMEOUT_SCALE", "1.0",
        "multiply every scenario wait by this factor (slow deployed environments)",
    ),
    Option(
        "--callbacks-startup-timeout", "callbacks_startup_timeout", "CALLBACKS_STARTUP_TIMEOUT_S", "60",
        "seconds allowed for the local stack to start",
    ),
    Option(
        "--callbacks-keep-state", "callbacks_keep_state", "CALLBACKS_KEEP_STATE", "",
        "directory where the local stack keeps its logs and environment.toml (default: a temp dir)",
    ),
    Option(
        "--callbacks-sqs", "callbacks_sqs", "CALLBACKS_SQS", DEFAULT_SQS,
        f"the local stack's SQS emulator: {', '.join(SQS_EMULATORS)}",
    ),
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class HarnessOptions:
    env: str = "local"
    timeout_scale: float = 1.0
    startup_timeout_s: float = 60.0
    state_dir: str | None = None
    sqs: str = DEFAULT_SQS

    @property
    def is_local(self) -> bool:
        return self.env == "local"

    def environment_file(self, environments_dir: Path) -> Path:
        """The TOML file a non-local ``env`` names: a path, or ``<environments_dir>/<name>.toml``."""
        return Path(self.env) if self.env.endswith(".toml") else environments_dir / f"{self.env}.toml"

    def scaled(self, timeout_s: float) -> float:
        return timeout_s * self.timeout_scale


class OptionError(ValueError):
    pass


def resolve(get_option: Callable[[str], object], environ: Mapping[str, str]) -> HarnessOptions:
    """Command line first, then the env var, then the default; every bad value is reported at once."""
    raw = {}
    for opt in OPTIONS:
        value = get_option(opt.dest)
        raw[opt.dest] = str(value) if value not in (None, "") else environ.get(opt.env_var, opt.default)
    problems = []
    numbers = {}
    for dest in ("callbacks_timeout_scale", "callbacks_startup_timeout"):
        try:
            numbers[dest] = float(raw[dest])
            if numbers[dest] <= 0:
                raise ValueError
        except ValueError:
            problems.append(f"{dest}: expected a positive number, got {raw[dest]!r}")
    env = raw["callbacks_env"].strip() or "local"
    if not re.fullmatch(r"[A-Za-z0-9_.-]+", env) and not env.endswith(".toml"):
        problems.append(f"callbacks_env: expected 'local', a name or a path to a .toml file, got {env!r}")
    sqs = raw["callbacks_sqs"].strip()
    if sqs not in SQS_EMULATORS:
        problems.append(f"callbacks_sqs: expected one of {', '.join(SQS_EMULATORS)}, got {sqs!r}")
    if problems:
        raise OptionError("; ".join(problems))
    return HarnessOptions(
        env=env,
        timeout_scale=numbers["callbacks_timeout_scale"],
        startup_timeout_s=numbers["callbacks_startup_timeout"],
        state_dir=raw["callbacks_keep_state"] or None,
        sqs=sqs,
    )
