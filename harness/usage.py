"""How the scenario suite was invoked, checked before collection: each mistake is one usage error.

- ``--callbacks-env PATH`` written with a space: pytest chooses its rootdir (and ``pyproject.toml``) before
  plugins add their options, so it takes ``PATH`` for a test path, misses the project's settings and fails
  much later with ``ModuleNotFoundError``. ``--callbacks-env=PATH`` and ``CALLBACKS_ENV=PATH`` cannot be
  mistaken for a path.
- a bad option value or environment file (missing, not TOML, missing fields) is reported once, naming the
  file, instead of once per scenario.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from harness.environment import Environment, EnvironmentInvalid
from harness.options import HarnessOptions, OptionError, resolve

FLAG = "--callbacks-env"


def space_form_problem(args: Sequence[str], inipath: Path | None) -> str | None:
    """The one-line fix when ``--callbacks-env VALUE`` made pytest lose the project's ini file."""
    if inipath is not None:
        return None
    for flag, value in itertools.pairwise(args):
        if flag == FLAG and not value.startswith("-"):
            return (
                f"{FLAG} {value}: pytest took {value} for a test path and missed pyproject.toml; "
                f"write {FLAG}={value} (or set CALLBACKS_ENV={value})"
            )
    return None


def options_problem(
    get_option: Callable[[str], object], environ: Mapping[str, str], environments_dir: Path
) -> str | None:
    """The harness options and the environment file they name, as one line (None when usable)."""
    try:
        options = resolve(get_option, environ)
    except OptionError as exc:
        return f"harness options: {exc}"
    return environment_problem(options, environments_dir)


def environment_problem(options: HarnessOptions, environments_dir: Path) -> str | None:
    if options.is_local:
        return None
    path = options.environment_file(environments_dir)
    where = f"{FLAG} (CALLBACKS_ENV) {options.env!r}"
    if not path.is_file():
        known = sorted(p.stem for p in environments_dir.glob("*.toml"))
        return (
            f"{where}: {path} does not exist (give 'local', a path to a .toml file, or one of {known}; "
            "`callbacks local up --state-dir DIR` writes DIR/environment.toml)"
        )
    try:
        Environment.from_toml(path)
    except EnvironmentInvalid as exc:
        detail = str(exc).replace("invalid environment description:\n", "").replace("\n", "; ")
        return f"{where}: {path}: {detail}"
    except (OSError, UnicodeDecodeError) as exc:
        return f"{where}: cannot read {path}: {exc}"
    return None
