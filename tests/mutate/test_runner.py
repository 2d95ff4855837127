"""The mutation runner's own logic (fast, no stack): stale entries fail loudly, verdicts, score, report."""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import replace
from pathlib import Path

import pytest

from tests.mutate.catalogue import CATALOGUE, Mutant
from tests.mutate.runner import (
    ROOT,
    Result,
    StaleMutant,
    apply_patch,
    baseline,
    check_catalogue,
    killing_test,
    main,
    mutated_copy,
    report,
    score,
    verdict,
)
from tests.readme_commands import readme_command

M = Mutant("m", "area", "delivery/x.py", "a > b", "a >= b", ("tests/integration/test_gate.py",), "why")


def test_patch_replaces_the_one_occurrence() -> None:
    assert apply_patch("if a > b:\n", M) == "if a >= b:\n"


@pytest.mark.parametrize(
    ("text", "says"), [("if a < b:\n", "not found"), ("a > b or a > b", "found 2 times")]
)
def test_patch_fails_loudly_when_the_search_text_is_missing_or_ambiguous(text: str, says: str) -> None:
    with pytest.raises(StaleMutant, match=says) as caught:
        apply_patch(text, M)
    assert "'m'" in str(caught.value)
    assert "delivery/x.py" in str(caught.value)


def test_every_catalogue_entry_applies_to_the_current_tree() -> None:
    assert len(CATALOGUE) >= 20
    check_catalogue(ROOT, CATALOGUE)  # raises StaleMutant naming the entry after a refactor
    assert len({m.area for m in CATALOGUE}) >= 10


def test_a_stale_or_no_op_entry_is_rejected(tmp_path: Path) -> None:
    (tmp_path / "delivery").mkdir()
    (tmp_path / "delivery/x.py").write_text("if a < b:\n", encoding="utf-8")
    with pytest.raises(StaleMutant, match="not found"):
        check_catalogue(tmp_path, [M])
    (tmp_path / "delivery/x.py").write_text("if a > b:\n", encoding="utf-8")
    with pytest.raises(StaleMutant, match="changes nothing"):
        check_catalogue(tmp_path, [replace(M, replace="a > b")])
    with pytest.raises(StaleMutant, match="no test file"):
        check_catalogue(tmp_path, [M])


def test_the_copy_carries_the_mutation_and_the_tree_is_untouched(tmp_path: Path) -> None:
    src, dst = tmp_path / "src", tmp_path / "dst"
    (src / "delivery").mkdir(parents=True)
    (src / "delivery/x.py").write_text("if a > b:\n", encoding="utf-8")
    (src / "README.md").write_text("hi\n", encoding="utf-8")
    mutated_copy(src, ["delivery/x.py", "README.md"], M, dst)
    assert (dst / "delivery/x.py").read_text(encoding="utf-8") == "if a >= b:\n"
    assert (dst / "README.md").read_text(encoding="utf-8") == "hi\n"
    assert (src / "delivery/x.py").read_text(encoding="utf-8") == "if a > b:\n"


def test_the_copy_reaches_the_installed_sqs_emulator(tmp_path: Path) -> None:
    """fauxqs's node_modules is not tracked (``make install`` adds it): without it every stack fails."""
    src, dst = tmp_path / "src", tmp_path / "dst"
    (src / "harness/fauxqs/node_modules/fauxqs").mkdir(parents=True)
    (src / "x.py").write_text("a > b\n", encoding="utf-8")
    mutated_copy(src, ["x.py"], baseline([M]), dst)
    assert (dst / "harness/fauxqs/node_modules").resolve() == (src / "harness/fauxqs/node_modules").resolve()
    assert (dst / "harness/fauxqs/node_modules/fauxqs").is_dir()


def test_verdicts_and_the_killing_test() -> None:
    out = "..F\nFAILED tests/integration/test_gate.py::test_x - AssertionError: above the rate\n1 failed"
    assert killing_test(out) == ("tests/integration/test_gate.py::test_x", "AssertionError: above the rate")
    killed = Result(
        M, "killed", "tests/integration/test_gate.py::test_x", 3.0, "AssertionError: above the rate"
    )
    assert verdict(M, 1, out, 3.0) == killed
    assert killing_test("1 failed") == ("", "")
    assert verdict(M, 0, "3 passed", 1.0).status == "survived"
    broken = verdict(M, 4, "usage: pytest\nerror: bad", 1.0)
    assert broken.status == "error"
    assert "pytest exit 4" in broken.detail


def test_score_counts_only_judged_mutants_and_the_report_names_each() -> None:
    results = [Result(M, "killed", "t::a"), Result(replace(M, name="n"), "survived"), Result(M, "not run")]
    assert score(results) == 0.5
    text = report(results, 12.0)
    assert "t::a" in text
    assert "survived" in text
    assert "mutation score 50%: 1 killed, 1 survived, 1 not run, 0 error of 3 mutants in 12s" in text


def test_unknown_mutant_names_are_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--only", "no-such-mutant"]) == 2
    assert "no-such-mutant" in capsys.readouterr().err


def test_the_baseline_copies_the_tree_unchanged_with_every_selected_scenario(tmp_path: Path) -> None:
    other = replace(M, name="n", tests=("tests/integration/test_tls.py", "tests/integration/test_gate.py"))
    base = baseline([M, other])
    assert base.tests == ("tests/integration/test_gate.py", "tests/integration/test_tls.py")
    (tmp_path / "src").mkdir()
    (tmp_path / "src/x.py").write_text("a > b\n", encoding="utf-8")
    mutated_copy(tmp_path / "src", ["x.py"], base, tmp_path / "dst")
    assert (tmp_path / "dst/x.py").read_text(encoding="utf-8") == "a > b\n"


@pytest.mark.timeout(300)
def test_make_mutate_scores_one_mutant_end_to_end() -> None:
    """The README's ``make mutate`` with its documented knob narrowed to one mutant: the baseline passes on
    the real engine and the planted defect is killed by its scenario (this catches mutant copies without
    the SQS emulator, which once failed every baseline in 3 s)."""
    if shutil.which("make") is None:
        pytest.skip("make is not installed")
    if subprocess.run(["make", "-q", "install"], cwd=ROOT, capture_output=True, timeout=60).returncode != 0:
        pytest.skip("make mutate would first reinstall the venv this suite runs from: run make install")
    line = readme_command("README.md", "make mutate").text
    assert line == "make mutate"
    argv = [*line.split(), "MUTATE_ARGS=--only pin-always-matches --jobs 1 --timeout-s 200"]
    done = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, timeout=280, check=False)
    out = done.stdout + done.stderr
    assert done.returncode == 0, out[-4000:]
    assert "baseline: every selected scenario passes on the real engine" in out, out[-4000:]
    assert "pin-always-matches: killed" in out, out[-4000:]
    assert "mutation score 100%: 1 killed, 0 survived, 0 not run, 0 error of 1 mutants" in out, out[-4000:]
