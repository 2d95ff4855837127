"""Every command printed in a README is claimed by the test that runs it (house standard: exactly as printed).

The commands are read by ``tests/readme_commands.py`` (the one reader every README test uses). A README
that gains a command no test claims fails here, as does a claim for a command no longer printed, a claim
naming a test that does not exist, or a claiming test file that does not read that README with the reader.
Three kinds of claim:

- ``AS_PRINTED``: the test runs the command's text through ``bash -c``, unchanged.
- ``EXTENDED``: the test runs the printed text unchanged with arguments appended (the reason says which and
  why); everything the reader prints is still run.
- ``EXEMPT``: not run by the suite, with the reason. Keep it short.

A whole section can be claimed at once (``Section``): the test runs every command of it, in order.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from tests.readme_commands import ROOT, SHELL_LANGUAGES, code_blocks, readme_commands, tracked_readmes

ONE_SCENARIO = "-k test_fanout_client_gets_one_identical_callback"  # as tests/harness/test_readme_try_it.py
READER_CALLS = ("readme_commands", "readme_command")


@dataclass(frozen=True)
class Section:
    name: str  # the heading starts with this


Key = tuple[str, str | Section]  # (README path, command text or a whole section)

TRY_IT = "tests/harness/test_readme_try_it.py"
LOADTESTS = "tests/loadtests/test_readme_lines.py"
MOCK = "tests/mock_webhook/test_readme_walkthrough.py"
LT = "loadtests/README.md"
LOCUST = ".venv/bin/locust -f loadtests"
OUT = "loadtests-out"
STEADY = f"{LOCUST} --headless -t 30s --csv {OUT}/steady"
MW = ".venv/bin/mock-webhook"
MOCK_LINE = f"{MW} certs init ./certs && {MW} serve --certs ./certs --mtls required"

AS_PRINTED: dict[Key, str] = {
    ("README.md", "make demo"):
        "tests/integration/test_demo.py::test_demo_runs_every_scenario_and_summarises",
    ("README.md", ".venv/bin/callbacks local up --state-dir /tmp/cb"):
        f"{TRY_IT}::test_the_scenario_command_runs_as_printed_against_the_running_stack",
    ("README.md", STEADY): f"{TRY_IT}::test_the_locust_command_runs_as_printed",
    (LT, STEADY): f"{TRY_IT}::test_the_locust_command_runs_as_printed",
    ("README.md", MOCK_LINE): f"{TRY_IT}::test_the_mock_webhook_lines_run_as_printed",
    ("README.md", "make lint"):
        "tests/layout/test_readme_lint.py::test_make_lint_as_printed_in_the_readme_passes",
    ("README.md", "make fauxqs"):
        "tests/harness/test_fauxqs.py::test_make_fauxqs_as_printed_in_the_readme_leaves_the_pinned_package",
    (LT, f"{LOCUST} --headless -t 30s --rate 1000 --max-p99-ms 500 --csv {OUT}/bar"):
        "tests/bench/test_steady_load_bench.py::test_local_stack_holds_1000_msg_per_s_three_runs_in_a_row",
    (LT, f"{LOCUST} --headless -t 20s --load-profile spike --rate 200 --max-p95-ms 2000 --csv {OUT}/spike"):
        f"{LOADTESTS}::test_the_headless_lines_run_as_printed",
    (LT, f"{LOCUST}/failing_target.py --headless -t 20s"):
        f"{LOADTESTS}::test_the_headless_lines_run_as_printed",
    (LT, LOCUST): f"{LOADTESTS}::test_the_web_ui_line_serves_on_loopback_and_stops_cleanly",
    (LT, ".venv/bin/python -m loadtests --help"): f"{LOADTESTS}::test_the_help_line_lists_our_flags",
    (LT, Section("Distributed mode")):
        f"{LOADTESTS}::test_the_distributed_lines_run_as_printed",
    ("mock_webhook/README.md", Section("Five minutes")):
        f"{MOCK}::test_the_walkthrough_works_as_written",
    ("mock_webhook/README.md", Section("Command line")):
        f"{MOCK}::test_the_command_line_section_runs_as_printed",
    ("README.md", Section("Deploy to AWS")):
        "tests/deploy/test_readme_deploy.py::test_the_deploy_section_runs_as_printed",
}  # fmt: skip

EXTENDED: dict[Key, tuple[str, str]] = {
    ("README.md", ".venv/bin/pytest -m integration --callbacks-env=/tmp/cb/environment.toml"): (
        f"{TRY_IT}::test_the_scenario_command_runs_as_printed_against_the_running_stack",
        f"+ '-p no:xdist {ONE_SCENARIO}': the printed line runs the whole scenario suite, which the suite "
        "itself already runs; the test proves the line's rootdir, config and environment wiring",
    ),
    ("README.md", ".venv/bin/pytest -m integration -n 2"): (
        f"{TRY_IT}::test_the_xdist_scenario_command_runs_as_printed",
        f"+ '{ONE_SCENARIO}': as above; both xdist workers still start",
    ),
    ("README.md", "make mutate"): (
        "tests/mutate/test_runner.py::test_make_mutate_scores_one_mutant_end_to_end",
        "+ 'MUTATE_ARGS=--only pin-always-matches --jobs 1 ...' (the knob the README documents): one mutant "
        "and its baseline take ~50 s; all 27 take 10-15 min, longer than the whole suite",
    ),
}

SUITE = "tests/integration/README.md"
for _line in ("tests/integration", "tests/integration -n 2",
              "tests/integration --callbacks-env=/tmp/cb/environment.toml"):  # fmt: skip
    EXTENDED[(SUITE, f".venv/bin/pytest -m integration {_line}")] = (
        f"{TRY_IT}::test_the_scenario_suite_readme_lines_run_as_printed",
        f"+ '{ONE_SCENARIO}': the printed line runs the whole scenario suite, which the suite itself runs",
    )
AS_PRINTED[(SUITE, ".venv/bin/callbacks local up --state-dir /tmp/cb")] = AS_PRINTED[
    ("README.md", ".venv/bin/callbacks local up --state-dir /tmp/cb")
]

EXEMPT: dict[Key, str] = {
    # `make test` is the suite: run from inside it, it would run itself. CI (.ci/run) runs exactly this.
    ("README.md", "make test"): "the suite itself; .ci/run runs it as printed on a clean clone",
    # `make bench` runs tests/bench, where a test running it would live: it would run itself. Each
    # benchmark it runs is a test of its own (pytest -m bench tests/bench, the recipe's only command).
    ("README.md", "make bench"): "runs every bench test; a test running it would run itself (recursion)",
    # The last deploy command needs the stack deployed by the lines before it plus live targets;
    # tests/deploy/test_deployed_suite.py runs the same suite against that stack deployed into moto.
    ("README.md", ".venv/bin/pytest -m integration --callbacks-env=dev.toml"):
        "tests/deploy/test_deployed_suite.py runs the suite against the moto-deployed stack (own args)",
    # The example file's endpoints are placeholders (example.internal, account 123456789012) to fill in.
    (SUITE, ".venv/bin/pytest -m integration --callbacks-env=fixtures/environments/example-deployed.toml"):
        "needs a deployed environment; the example file's endpoints are placeholders",
}  # fmt: skip


def printed() -> dict[Key, list[str]]:
    """Every (README, command) printed, and the sections it sits in."""
    out: dict[Key, list[str]] = {}
    for readme in tracked_readmes():
        for command in readme_commands(readme):
            out.setdefault((readme, command.text), []).append(command.section)
    return out


def _section_of(key: Key, claims: dict[Key, str]) -> Key | None:
    readme, _text = key
    for claim in claims:
        owned = claim[0] == readme and isinstance(claim[1], Section)
        if owned and any(s.startswith(claim[1].name) for s in printed()[key]):  # type: ignore[union-attr]
            return claim
    return None


def _claim_test(key: Key) -> str | None:
    if key in AS_PRINTED:
        return AS_PRINTED[key]
    if key in EXTENDED:
        return EXTENDED[key][0]
    if key in EXEMPT:
        return "exempt"
    section = _section_of(key, AS_PRINTED)
    return AS_PRINTED[section] if section else None


@cache
def _reads(test_file: str) -> tuple[frozenset[str], frozenset[tuple[str, str]]]:
    """(test functions, (README, section-or-"") pairs the file reads with the shared reader)."""
    tree = ast.parse((ROOT / test_file).read_text(encoding="utf-8"))
    functions = frozenset(n.name for n in tree.body if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef))
    reads = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and getattr(node.func, "id", None) in READER_CALLS:
            literals = [
                a.value for a in node.args if isinstance(a, ast.Constant) and isinstance(a.value, str)
            ]
            section = [
                k.value for k in node.keywords if k.arg == "section" and isinstance(k.value, ast.Constant)
            ]
            if literals:
                reads.add((literals[0], str(section[0].value) if section else ""))
                if node.func.id == "readme_commands" and len(literals) > 1:  # type: ignore[attr-defined]
                    reads.add((literals[0], literals[1]))
    return functions, frozenset(reads)


def test_every_printed_command_is_claimed() -> None:
    unclaimed = [f"{readme}: {text}" for (readme, text) in printed() if _claim_test((readme, text)) is None]
    assert unclaimed == [], (
        "commands no test runs (claim them in tests/layout/test_readme_commands.py):\n"
        + ("\n".join(unclaimed))
    )


def test_every_claim_names_a_printed_command() -> None:
    commands = printed()
    stale = []
    for key in [*AS_PRINTED, *EXTENDED, *EXEMPT]:
        readme, what = key
        if isinstance(what, Section):
            if not any(
                r == readme and any(s.startswith(what.name) for s in ss) for (r, _), ss in commands.items()
            ):
                stale.append(f"{readme}: section {what.name!r} has no command")
        elif key not in commands:
            stale.append(f"{readme}: {what}")
    assert stale == [], "claims for commands no README prints:\n" + "\n".join(stale)


def test_every_claiming_test_exists_and_reads_its_readme() -> None:
    wrong = []
    for key, test in [*AS_PRINTED.items(), *((k, v[0]) for k, v in EXTENDED.items())]:
        readme, what = key
        test_file, _, name = test.partition("::")
        if not (ROOT / test_file).is_file():
            wrong.append(f"{test}: no such file")
            continue
        functions, reads = _reads(test_file)
        if name not in functions:
            wrong.append(f"{test}: no such test")
        wanted_section = what.name if isinstance(what, Section) else None
        if not any(r == readme and (wanted_section is None or s == wanted_section) for r, s in reads):
            section = f" section {wanted_section!r}" if wanted_section else ""
            wrong.append(f"{test}: does not read {readme}{section} with tests/readme_commands.py")
    assert wrong == [], "\n".join(wrong)


def test_every_code_block_declares_its_language() -> None:
    """An untagged block would hide its commands from this catalogue: shell blocks say sh/bash/console."""
    untagged = [
        f"{r} ({section})" for r in tracked_readmes() for lang, section, _ in code_blocks(r) if not lang
    ]
    assert untagged == []
    assert {"sh", "bash"} <= SHELL_LANGUAGES


def test_the_reader_joins_continuations_and_splits_comments(tmp_path: Path) -> None:
    from tests.readme_commands import block_commands, split_comment

    assert split_comment("make lint   # ruff + mypy") == ("make lint", "ruff + mypy")
    assert split_comment("echo '#not' \"a # b\" x#y # -> out") == ("echo '#not' \"a # b\" x#y", "-> out")
    assert split_comment(r"echo \# # c") == (r"echo \#", "c")
    assert block_commands("a --x \\\n    --y z   # c\n\nb\n") == [("a --x --y z", "c"), ("b", "")]
