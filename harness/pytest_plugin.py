"""pytest plugin entry point (registered through ``pytest11``): hooks and thin fixtures only.

Inert for unit tests: nothing starts unless a test asks for ``callbacks_env`` (directly or through another
fixture below). ``--callbacks-env=local`` (default; env ``CALLBACKS_ENV``) starts the embedded local stack
once per session (once per xdist worker); ``--callbacks-env=PATH.toml`` describes a deployed environment.

Fixtures: ``callbacks_env`` (session), ``callbacks_run_id`` (session), ``scenario`` (session),
``publish_event`` / ``publish`` (factories), ``mock_webhook`` (admin client; fault scripts removed after the
test), ``dlq``, ``redrive``, ``gate_state``, ``metrics_log``. Override point: ``harness_environment``.
Marker: ``@pytest.mark.requires("gate", "mtls", ...)`` skips when the environment lacks a capability.
"""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Callable, Generator, Iterator
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from harness.environment import Environment
    from harness.events import Published
    from harness.gate_view import GateView
    from harness.metrics_log import MetricsLog
    from harness.mock_admin import MockAdmin
    from harness.options import HarnessOptions
    from harness.scenarios import Scenario


def pytest_addoption(parser: pytest.Parser) -> None:
    from harness.options import OPTIONS

    group = parser.getgroup("harness", "enhanced-callbacks scenario harness")
    for opt in OPTIONS:
        group.addoption(opt.flag, dest=opt.dest, default=None, help=f"{opt.help} (env {opt.env_var})")


def pytest_load_initial_conftests(early_config: pytest.Config, args: list[str]) -> None:
    """``--callbacks-env PATH`` (with a space) made pytest miss pyproject.toml: say so before collecting."""
    from harness.usage import space_form_problem

    problem = space_form_problem(args, early_config.inipath)
    if problem is not None:
        raise pytest.UsageError(problem)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "integration: end-to-end scenarios against an environment")
    config.addinivalue_line("markers", "bench: benchmarks (not run by default; run with -m bench)")
    config.addinivalue_line("markers", "requires(*capabilities): skip unless the environment has them")
    from harness.session import ENVIRONMENTS_DIR
    from harness.usage import options_problem

    problem = options_problem(lambda dest: config.getoption(dest, None), os.environ, ENVIRONMENTS_DIR)
    if problem is not None:  # one usage error before collection, not one traceback per scenario
        raise pytest.UsageError(problem)


@pytest.fixture(scope="session")
def callbacks_options(pytestconfig: pytest.Config) -> HarnessOptions:
    from harness.options import resolve

    return resolve(lambda dest: pytestconfig.getoption(dest, None), os.environ)


@pytest.fixture(scope="session")
def callbacks_run_id(request: pytest.FixtureRequest) -> str:
    """Short id put in every message id, queue prefix and attribute this session creates."""
    uid = str(getattr(request.config, "workerinput", {}).get("testrunuid", "")) or uuid.uuid4().hex
    worker = str(getattr(request.config, "workerinput", {}).get("workerid", ""))
    return f"{uid[:6]}{worker.replace('gw', 'w')}{uuid.uuid4().hex[:4]}"


_START_FAILURE = pytest.StashKey[BaseException]()
_OPENED = pytest.StashKey["Environment"]()
_DOWN = pytest.StashKey[str]()


@pytest.fixture(scope="session")
def harness_environment(
    request: pytest.FixtureRequest, callbacks_options: HarnessOptions, callbacks_run_id: str
) -> Iterator[Environment]:
    """Override point: the environment scenarios run against (local stack or a TOML description).

    A failed start is remembered: later tests fail with the same error instead of starting again.
    """
    from harness.probe import down_reason
    from harness.session import open_environment

    failure = request.config.stash.get(_START_FAILURE, None)
    if failure is not None:
        pytest.fail(f"the scenario environment failed to start earlier: {failure}", pytrace=False)
    with contextlib.ExitStack() as opened:
        try:
            env = opened.enter_context(open_environment(callbacks_options, callbacks_run_id))
        except BaseException as exc:
            request.config.stash[_START_FAILURE] = exc
            raise
        down = None if callbacks_options.is_local else down_reason(env)
        if down is not None:  # a described environment that does not answer: named once
            request.config.stash[_START_FAILURE] = RuntimeError(down)
            pytest.fail(down, pytrace=False)
        request.config.stash[_OPENED] = env
        yield env


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """A scenario that failed because its environment went down says so in one line; later ones fail fast."""
    report = yield
    env = item.config.stash.get(_OPENED, None)
    if report.failed and env is not None and "callbacks_env" in getattr(item, "fixturenames", ()):
        from harness.probe import down_reason

        down = item.config.stash.get(_DOWN, None) or down_reason(env)
        if down is not None:
            item.config.stash[_DOWN] = down
            report.longrepr = down
    return report


@pytest.fixture(autouse=True)
def _callbacks_env_up(request: pytest.FixtureRequest) -> None:
    """Once the environment was found down, every later scenario fails at once with that reason."""
    down = request.config.stash.get(_DOWN, None)
    if down is not None and "callbacks_env" in request.fixturenames:
        pytest.fail(down, pytrace=False)


@pytest.fixture(scope="session")
def callbacks_env(harness_environment: Environment) -> Environment:
    return harness_environment


@pytest.fixture(autouse=True)
def _callbacks_requires(request: pytest.FixtureRequest) -> None:
    marker = request.node.get_closest_marker("requires")
    if marker is None:
        return
    env: Environment = request.getfixturevalue("callbacks_env")
    missing = sorted(set(marker.args) - env.effective_capabilities())
    if missing:
        pytest.skip(f"environment {env.name!r} lacks {', '.join(missing)}")


@pytest.fixture(scope="session")
def scenario(
    callbacks_env: Environment, callbacks_run_id: str, callbacks_options: HarnessOptions
) -> Iterator[Scenario]:
    from harness.scenarios import Scenario

    opened = Scenario.open(callbacks_env, callbacks_run_id, callbacks_options.timeout_scale)
    yield opened
    opened.close()


@pytest.fixture
def publish_event(scenario: Scenario) -> Callable[..., list[Published]]:
    """``publish_event(client_id, status="DELIVERED", kind="message"|"channel"|"invalid", count=1)``."""
    from harness.session import event_publisher

    return event_publisher(scenario)


@pytest.fixture
def publish(scenario: Scenario) -> Callable[..., list[Published]]:
    """``publish(client_id, target_id=None, count=1, prefix="msg", message_ids=None)``: delivery queue."""
    from harness.session import envelope_publisher

    return envelope_publisher(scenario)


@pytest.fixture
def mock_webhook(scenario: Scenario) -> Iterator[MockAdmin]:
    """The mock's admin client; fault scripts installed through it are removed after the test."""
    from harness.session import ScriptTracking

    tracking = ScriptTracking(scenario.mock)
    yield tracking
    tracking.undo()


@pytest.fixture
def dlq(scenario: Scenario) -> Any:
    """``dlq.read(client)``, ``dlq.wait(client, ids)``, ``dlq.purge(client)`` (this run's messages only)."""
    from harness.session import DlqView

    return DlqView(scenario)


@pytest.fixture
def redrive(scenario: Scenario) -> Callable[..., Any]:
    """``redrive(client_id, *args)`` runs ``callbacks redrive`` and returns the completed process."""
    return scenario.redrive


@pytest.fixture
def gate_state(callbacks_env: Environment) -> Iterator[GateView]:
    """``gate_state.state(target_id)`` -> the gate's Redis hash (requires a redis_url)."""
    if not callbacks_env.redis_url:
        pytest.skip(f"environment {callbacks_env.name!r} has no redis_url")
    from harness.gate_view import GateView

    view = GateView(callbacks_env.redis_url)
    yield view
    view.close()


@pytest.fixture
def metrics_log(callbacks_env: Environment) -> MetricsLog:
    """EMF lines of the delivery worker (local stack: its stdout file; deployed: CloudWatch Logs groups)."""
    if callbacks_env.metrics_log_groups:
        from harness.cloudwatch_log import CloudWatchMetricsLog
        from harness.queues import aws_client

        return CloudWatchMetricsLog(callbacks_env.metrics_log_groups, aws_client(callbacks_env, "logs"))
    if not callbacks_env.metrics_log_path:
        pytest.skip(f"environment {callbacks_env.name!r} has no metrics_log_path nor metrics_log_groups")
    from harness.metrics_log import MetricsLog

    return MetricsLog(callbacks_env.metrics_log_path)
