"""``make mutate``: plant each catalogued engine defect in a throwaway copy of the tree and run the scenarios.

For every mutant (tests/mutate/catalogue.py): copy the git-tracked tree into a temporary directory, apply the
one search/replace patch (the search text must occur exactly once, else the run stops: a stale catalogue is an
error, never a silent no-op), and run ``pytest -x -m integration`` on the mutant's scenario files from inside
the copy with ``PYTHONPATH`` pointing at it. The local stack's children (``callbacks worker``, ``callbacks
router``, ``mock-webhook``) inherit that environment (harness/children.py keeps every variable but AWS_*,
PYTEST_* and CALLBACKS_ENV), so they import the mutated engine too; the Lua scripts are read from the copy's
package. A mutant is *killed* when a scenario fails, *survived* when every selected scenario passed, and
*not run* when the time budget ran out first. Mutants run ``--jobs`` at a time (each session starts its own
local stack on free ports, so they never share state).

    .venv/bin/python -m tests.mutate.runner [--budget-s 1500] [--jobs 2] [--only NAME,...] [--min-score 0.95]

First the unmutated copy runs every selected scenario file (``--no-baseline`` skips it): if that fails, no
kill would mean anything and the run stops.

Exit status: 0 when the score (killed / (killed + survived)) reaches ``--min-score`` and every mutant ran,
1 otherwise, 2 for a stale catalogue entry or a bad argument.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from tests.mutate.catalogue import CATALOGUE, Mutant

ROOT = Path(__file__).resolve().parents[2]
FAILED_LINE = re.compile(r"^(?:FAILED|ERROR) (\S+)(?: - (.*))?", re.M)


class StaleMutant(ValueError):
    """The mutant's search text does not occur exactly once in its file."""


def apply_patch(text: str, mutant: Mutant) -> str:
    """``text`` with the mutant's search text replaced; the search text must occur exactly once."""
    count = text.count(mutant.search)
    if count != 1:
        where = "not found" if count == 0 else f"found {count} times"
        raise StaleMutant(
            f"mutant {mutant.name!r}: search text {where} in {mutant.path} "
            f"(update tests/mutate/catalogue.py): {mutant.search!r}"
        )
    return text.replace(mutant.search, mutant.replace)


def check_catalogue(root: Path, mutants: Sequence[Mutant]) -> None:
    """Every mutant applies to the tree at ``root`` and changes it; names are unique."""
    names = [m.name for m in mutants]
    if len(set(names)) != len(names):
        raise StaleMutant(f"duplicate mutant names: {sorted({n for n in names if names.count(n) > 1})}")
    for mutant in mutants:
        text = (root / mutant.path).read_text(encoding="utf-8")
        if apply_patch(text, mutant) == text:
            raise StaleMutant(f"mutant {mutant.name!r} changes nothing")
        for test in mutant.tests:
            if not (root / test).is_file():
                raise StaleMutant(f"mutant {mutant.name!r}: no test file {test}")


@dataclass(frozen=True, slots=True)
class Result:
    mutant: Mutant
    status: str  # "killed" | "survived" | "not run" | "error"
    killed_by: str = ""
    seconds: float = 0.0
    detail: str = ""


def killing_test(output: str) -> tuple[str, str]:
    """The first failing test pytest's short summary names (``-rfE``) and its reason, else ('', '')."""
    found = FAILED_LINE.search(output)
    return (found.group(1), (found.group(2) or "")[:160]) if found else ("", "")


def verdict(mutant: Mutant, returncode: int, output: str, seconds: float) -> Result:
    """pytest exit 0: survived; 1 (tests failed): killed; anything else: the run itself broke."""
    if returncode == 0:
        return Result(mutant, "survived", seconds=seconds)
    if returncode == 1:
        test, reason = killing_test(output)
        return Result(mutant, "killed", test or "(failure outside a test)", seconds, reason)
    tail = " | ".join(output.strip().splitlines()[-3:])
    return Result(mutant, "error", seconds=seconds, detail=f"pytest exit {returncode}: {tail}")


NODE_MODULES = Path("harness", "fauxqs", "node_modules")


def tracked_files(root: Path) -> list[str]:
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=root, capture_output=True, check=True,
    ).stdout  # fmt: skip
    return [p for p in listed.decode().split("\0") if p and (root / p).is_file()]


def baseline(mutants: Sequence[Mutant]) -> Mutant:
    """The unmutated tree against every selected scenario file: it must pass, or no kill means anything."""
    tests = tuple(dict.fromkeys(t for m in mutants for t in m.tests))
    return Mutant("(baseline: no mutation)", "-", "", "", "", tests, "the suite passes on the real engine")


def mutated_copy(root: Path, files: Sequence[str], mutant: Mutant, into: Path) -> None:
    for rel in files:
        target = into / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(root / rel, target)
    installed = root / NODE_MODULES  # what `make install` adds beside the tracked files: fauxqs (the SQS)
    if installed.is_dir() and not (into / NODE_MODULES).exists():
        (into / NODE_MODULES).parent.mkdir(parents=True, exist_ok=True)
        (into / NODE_MODULES).symlink_to(installed)
    if not mutant.path:  # the baseline
        return
    path = into / mutant.path
    path.write_text(apply_patch(path.read_text(encoding="utf-8"), mutant), encoding="utf-8")


def run_mutant(root: Path, files: Sequence[str], mutant: Mutant, deadline: float, timeout_s: float) -> Result:
    left_s = deadline - time.monotonic()
    if left_s < 30:
        return Result(mutant, "not run", detail="time budget spent")
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix=f"mutant-{mutant.name}-") as tmp:
        copy = Path(tmp)
        mutated_copy(root, files, mutant, copy)
        env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "CALLBACKS_ENV"))}
        env["PYTHONPATH"] = str(copy)
        env["COLUMNS"] = "1000"  # pytest cuts the short summary's reason at the terminal width
        argv = [sys.executable, "-m", "pytest", "-x", "-q", "-rfE", "-p", "no:xdist", "-m", "integration",
                *mutant.tests]  # fmt: skip
        try:
            done = subprocess.run(
                argv, cwd=copy, env=env, capture_output=True, text=True, timeout=min(timeout_s, left_s),
                check=False,
            )  # fmt: skip
        except subprocess.TimeoutExpired:
            return Result(mutant, "error", seconds=time.monotonic() - started, detail="timed out")
    return verdict(mutant, done.returncode, done.stdout + done.stderr, time.monotonic() - started)


def score(results: Sequence[Result]) -> float:
    judged = [r for r in results if r.status in ("killed", "survived")]
    return sum(r.status == "killed" for r in judged) / len(judged) if judged else 0.0


def report(results: Sequence[Result], took_s: float) -> str:
    lines = [f"{'mutant':<32} {'area':<20} {'result':<9} {'s':>5}  killed by / detail"]
    for r in results:
        why = r.killed_by or r.detail or r.mutant.why
        lines.append(f"{r.mutant.name:<32} {r.mutant.area:<20} {r.status:<9} {r.seconds:5.0f}  {why}")
        if r.killed_by and r.detail:
            lines.append(f"{'':<70}  {r.detail}")
    counts = {s: sum(r.status == s for r in results) for s in ("killed", "survived", "not run", "error")}
    lines.append(
        f"mutation score {score(results):.0%}: " + ", ".join(f"{n} {s}" for s, n in counts.items())
        + f" of {len(results)} mutants in {took_s:.0f}s"
    )  # fmt: skip
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="make mutate", description=__doc__.splitlines()[0])
    parser.add_argument("--budget-s", type=float, default=1500, help="stop starting mutants after this long")
    parser.add_argument("--jobs", type=int, default=2, help="mutants run at once (one local stack each)")
    parser.add_argument("--only", default="", help="comma-separated mutant names (default: all)")
    parser.add_argument("--min-score", type=float, default=0.95, help="required killed fraction")
    parser.add_argument("--timeout-s", type=float, default=300, help="per-mutant pytest timeout")
    parser.add_argument("--no-baseline", action="store_true", help="skip the unmutated run")
    args = parser.parse_args(argv)
    wanted = {n for n in args.only.split(",") if n}
    unknown = wanted - {m.name for m in CATALOGUE}
    if unknown or args.jobs < 1:
        print(
            f"--only: unknown mutants {sorted(unknown)}" if unknown else "--jobs: at least 1", file=sys.stderr
        )
        return 2
    mutants = [m for m in CATALOGUE if not wanted or m.name in wanted]
    try:
        check_catalogue(ROOT, mutants)
    except StaleMutant as exc:
        print(f"stale catalogue: {exc}", file=sys.stderr)
        return 2
    files = tracked_files(ROOT)
    started = time.monotonic()
    deadline = started + args.budget_s
    if not args.no_baseline:
        base = run_mutant(ROOT, files, baseline(mutants), deadline, args.timeout_s)
        if base.status != "survived":
            print(
                f"the scenarios fail without any mutant ({base.killed_by or base.detail}): no score",
                flush=True,
            )
            return 1
        print(
            f"baseline: every selected scenario passes on the real engine ({base.seconds:.0f}s)", flush=True
        )
    with ThreadPoolExecutor(max_workers=args.jobs) as pool:
        futures = [pool.submit(run_mutant, ROOT, files, m, deadline, args.timeout_s) for m in mutants]
        results = []
        for future in futures:
            result = future.result()
            print(f"{result.mutant.name}: {result.status} {result.killed_by or result.detail}", flush=True)
            results.append(result)
    print(report(results, time.monotonic() - started), flush=True)
    complete = all(r.status in ("killed", "survived") for r in results)
    return 0 if complete and score(results) >= args.min_score else 1


if __name__ == "__main__":
    raise SystemExit(main())
