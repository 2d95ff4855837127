"""How the scenario suite was invoked (pure): the space form of --callbacks-env and bad environment files."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.evidence import fault_lines, request_lines
from harness.options import HarnessOptions
from harness.usage import environment_problem, space_form_problem


@pytest.mark.parametrize(
    ("args", "inipath", "problem"),
    [
        (
            ["-m", "integration", "--callbacks-env", "/tmp/cb/e.toml"],
            None,
            "write --callbacks-env=/tmp/cb/e.toml",
        ),
        (["-m", "integration", "--callbacks-env=/tmp/cb/e.toml"], None, None),
        (
            ["--callbacks-env", "fixtures/environments/x.toml"],
            Path("pyproject.toml"),
            None,
        ),  # ini still found
        (["--callbacks-env", "-q"], None, None),
    ],
)
def test_the_space_form_is_named_only_when_it_lost_the_ini_file(
    args: list[str], inipath: Path | None, problem: str | None
) -> None:
    found = space_form_problem(args, inipath)
    assert (found is None) if problem is None else (found is not None and problem in found)


def test_environment_file_problems_name_the_file(tmp_path: Path) -> None:
    assert environment_problem(HarnessOptions(env="local"), tmp_path) is None
    missing = environment_problem(HarnessOptions(env="staging"), tmp_path)
    assert missing is not None
    assert f"{tmp_path / 'staging.toml'} does not exist" in missing
    bad = tmp_path / "bad.toml"
    bad.write_text('name = "x"\n[clients.a]\ndlq_url = 1\n', encoding="utf-8")
    problem = environment_problem(HarnessOptions(env=str(bad)), tmp_path)
    assert problem is not None
    assert "\n" not in problem
    assert (
        f"{bad}: clients.a.delivery_queue_url: required string; clients.a.dlq_url: required string" in problem
    )


def test_request_and_fault_lines_summarise_what_the_mock_saw() -> None:
    records = [
        {"seq": n, "path": "/t", "messageId": "m", "response": {"status": 503}, "fault": {"step": 0}}
        for n in range(7)
    ]
    lines = request_lines(records, "1 awaited message(s)")
    assert lines[0] == "mock saw 7 request(s) for 1 awaited message(s): 503 x7; last 5:"
    assert lines[-1] == '  #6 /t m -> 503 fault {"step": 0}'
    assert len(lines) == 6
    assert request_lines([], "x") == ["mock saw no request for x"]
    assert fault_lines({}) == ["no fault script active on the mock"]
