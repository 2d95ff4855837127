"""The tree shows the architecture, and stays that way: stage folders, no import circles, a pure core."""

from __future__ import annotations

import ast
import json
import subprocess
import sys

import pytest

from tests.layout.imports import ROOT, closure, cycles, external_imports, import_graph, module_files

IO_LIBRARIES = frozenset({"aiohttp", "boto3", "botocore", "redis"})
PURE_MODULES = (
    "delivery.models",
    "delivery.errors",
    "delivery.envelope",
    "delivery.jsjson",
    "delivery.signing",
    "delivery.classify",
    "delivery.backoff",
    "delivery.verdicts",
    "delivery.dead_letter",
    "delivery.stages",
    "delivery.routing",
    "delivery.config.client",
    "delivery.config.rules",
    "delivery.config.json_types",
    "delivery.config.inputs",
    "delivery.gate.reply",
    "delivery.transport.spki",
    "delivery.transport.egress",
    "delivery.manage.edits",
    "delivery.observe.logs",
    "delivery.observe.metrics",
    "delivery.observe.emf",
    "delivery.observe.encode",
    "delivery.observe.scrub",
    "delivery.router.vocabulary",
    "delivery.router.events",
    "delivery.router.fields",
    "delivery.router.validation",
    "delivery.router.wire",
    "delivery.router.payload",
    "delivery.router.matching",
    "delivery.router.plan",
    "delivery.queue.sqs_limits",
    "delivery.queue.names",
    "delivery.queue.sigv4",
    "delivery.queue.batches",
    "delivery.runtime.pacing",
    "delivery.deploy.requirements",
    "delivery.deploy.archive",
    "delivery.deploy.infra",
    "delivery.deploy.resources",
    "delivery.deploy.template",
)
STAGES = ("cli", "config", "deploy", "gate", "manage", "observe", "queue", "router", "runtime", "transport")
MAX_TOP_LEVEL_MODULES = 15


def test_no_import_circles_among_the_project_modules() -> None:
    assert cycles(import_graph(module_files())) == []


def test_the_circle_check_can_fail() -> None:
    graph = {"a.x": {"a.y"}, "a.y": {"a.z"}, "a.z": {"a.x"}, "a.w": {"a.x"}}
    assert cycles(graph) == [["a.x", "a.y", "a.z"]]


@pytest.mark.parametrize("module", PURE_MODULES)
def test_pure_module_reaches_no_io_library(module: str) -> None:
    """Read from the source, lazy imports included: nothing the module can reach imports an I/O library."""
    files = module_files()
    graph = import_graph(files)
    external = external_imports(files)
    reached = closure(graph, module)
    offenders = {m: sorted(external[m] & IO_LIBRARIES) for m in reached if external[m] & IO_LIBRARIES}
    assert offenders == {}


def test_the_pure_check_can_fail() -> None:
    files = module_files()
    graph, external = import_graph(files), external_imports(files)
    reached = closure(graph, "delivery.runtime.service")
    assert any(external[m] & IO_LIBRARIES for m in reached)


def test_pure_modules_import_no_io_library_when_run() -> None:
    code = (
        "import importlib, json, sys\n"
        f"for name in {PURE_MODULES!r}:\n"
        "    importlib.import_module(name)\n"
        f"print(json.dumps(sorted(m for m in {sorted(IO_LIBRARIES)!r} if m in sys.modules)))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert json.loads(done.stdout) == []


def test_delivery_top_level_is_the_pipeline_and_the_rest_sits_in_stage_folders() -> None:
    top = sorted(p.name for p in (ROOT / "delivery").glob("*.py"))
    assert len(top) <= MAX_TOP_LEVEL_MODULES, top
    folders = sorted(p.name for p in (ROOT / "delivery").iterdir() if (p / "__init__.py").exists())
    assert folders == sorted(STAGES)


@pytest.mark.parametrize("stage", STAGES)
def test_each_stage_says_what_it_owns_and_no_module_repeats_its_folder(stage: str) -> None:
    folder = ROOT / "delivery" / stage
    docstring = ast.get_docstring(ast.parse((folder / "__init__.py").read_text(encoding="utf-8")))
    assert docstring, f"delivery/{stage}/__init__.py needs a docstring"
    repeats = [p.name for p in folder.glob("*.py") if p.stem.startswith(f"{stage}_") or p.stem == stage]
    assert repeats == []
