"""One load run, seen from each kind of Locust process.

``PublishContext`` (standalone and worker processes): the lanes a user picks from and the shared
``SqsPublishClient``. ``Coordinator`` (master and standalone): the environment, the journal poller, the
fault scripts, the drain at the end and the SLO verdict.
"""

from __future__ import annotations

import json
import logging
import random
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import gevent
from locust.env import Environment as LocustEnvironment
from locust.runners import WorkerRunner
from locust.stats import CSV_STATS_INTERVAL_SEC

from harness.environment import Environment
from harness.mock_admin import MockAdmin, MockAdminError
from loadtests import environments, names, slo, verdict
from loadtests.deliveries import DeliveryTracker
from loadtests.e2e_rows import OutsideTotal
from loadtests.journal_poller import JournalPoller, latest_seq
from loadtests.message_ids import new_run_id
from loadtests.profiles import FaultPlan, Lane, Profile, faults_for, lanes_for, schedule_of
from loadtests.publisher import MAX_BATCH, SqsPublishClient
from loadtests.schedules import task_rate_per_user
from loadtests.shapes import ProfileShape
from loadtests.targets import LoadTarget, select_targets

logger = logging.getLogger("loadtests")
WORKER_SEQ_STRIDE = 1_000_000_000  # message sequence numbers of worker i start at i * stride


def lanes_of(environment: Environment, profile: Profile, options: Any) -> list[Lane]:
    targets = environments.load_targets(environment)
    wanted = [t.strip() for t in (options.targets or "").split(",") if t.strip()]
    return lanes_for(profile, select_targets(targets, profile.target_set, wanted), targets)


@dataclass
class PublishContext:
    lanes: list[Lane]
    client: SqsPublishClient
    sqs: Any
    batch_size: int
    batch_share: float
    user_rate_msgs_s: float

    def __post_init__(self) -> None:
        if not 1 <= self.batch_size <= MAX_BATCH:
            raise ValueError(f"--batch-size must be 1..{MAX_BATCH}, got {self.batch_size}")
        if not 0 <= self.batch_share <= 1:
            raise ValueError(f"--batch-share must be 0..1, got {self.batch_share}")
        self._weights = [lane.weight for lane in self.lanes]

    @classmethod
    def create(
        cls, locust_env: LocustEnvironment, env: Environment, lanes: list[Lane], run_id: str
    ) -> PublishContext:
        options: Any = locust_env.parsed_options
        sqs = environments.aws_client("sqs", env)
        runner = locust_env.runner
        offset = runner.worker_index * WORKER_SEQ_STRIDE if isinstance(runner, WorkerRunner) else 0
        client = SqsPublishClient(sqs, locust_env.events.request, run_id, seq_offset=offset)
        return cls(lanes, client, sqs, options.batch_size, options.batch_share, options.user_rate)

    @classmethod
    def for_worker(cls, locust_env: LocustEnvironment, profile: Profile) -> PublishContext:
        options: Any = locust_env.parsed_options
        env = environments.load_environment_file(options.callbacks_env)
        return cls.create(locust_env, env, lanes_of(env, profile, options), options.load_run_id)

    @property
    def mean_msgs_per_task(self) -> float:
        share = self.batch_share if self.batch_size > 1 else 0.0
        return share * self.batch_size + (1 - share)

    @property
    def tasks_per_user_s(self) -> float:
        return task_rate_per_user(self.user_rate_msgs_s, self.mean_msgs_per_task)

    def publish(self, rand: random.Random) -> None:
        """One task: a single send or a batch, to a lane drawn by weight."""
        lane = rand.choices(self.lanes, weights=self._weights)[0]
        if self.batch_size > 1 and rand.random() < self.batch_share:
            self.client.send_batch(lane, self.batch_size)
        else:
            self.client.send_one(lane)

    def close(self) -> None:
        self.sqs.close()


class Coordinator:
    def __init__(
        self, locust_env: LocustEnvironment, profile: Profile, thresholds: slo.Thresholds, *, publishes: bool
    ):
        self.locust_env = locust_env
        self.options: Any = locust_env.parsed_options
        self.profile = profile
        self.thresholds = thresholds
        self.publishes = publishes
        self.stack: environments.LocalStackHandle | None = None
        self.env: Environment | None = None
        self.lanes: list[Lane] = []
        self.tracker: DeliveryTracker | None = None
        self.poller: gevent.Greenlet | None = None
        self.faults: gevent.Greenlet | None = None
        self.fault_plans: list[FaultPlan] = []
        self.started_at = self.stopped_at = self.draining_since = 0.0
        self.final: dict[str, Any] | None = None

    def verdict(self) -> dict[str, Any]:
        """The SLO table now: provisional while publishing or draining, final after ``finish``."""
        if self.final is not None:
            return self.final
        state = "idle" if not self.started_at else "draining" if self.draining_since else "running"
        if state == "draining" and (self.poller is None or self.poller.dead):
            state = "final"  # every delivery that was going to be read has been read
        return verdict.document(verdict.evaluate(self._summary(), self.thresholds), state)

    def prepare(self) -> None:
        """Resolve the environment and the targets now, so a bad setup fails before any load."""
        if self.options.callbacks_env == environments.LOCAL:
            fixtures = Path(self.options.load_fixtures)
            self.stack = environments.LocalStackHandle(fixtures, self.options.load_sqs)
            logger.info(
                "starting the embedded local stack (fixtures %s, SQS on %s)",
                self.options.load_fixtures,
                self.options.load_sqs,
            )
            self.env = self.stack.start()
            self.options.callbacks_env = str(self.stack.environment_file)  # what workers read
            logger.info("local stack up: %s", self.stack.stack.status_line())
        else:
            self.env = environments.load_environment_file(self.options.callbacks_env)
        if not self.env.mock_admin_url:
            raise environments.LoadEnvironmentError(
                "the environment has no mock_admin_url: e2e latency needs it"
            )
        self.lanes = lanes_of(self.env, self.profile, self.options)
        lanes = ", ".join(f"{lane.target.key}[{lane.prefix}]x{lane.weight:.2f}" for lane in self.lanes)
        logger.info("profile %s: %s; lanes: %s", self.profile.name, self.profile.description, lanes)

    def _follow_shape_choice(self) -> None:
        """The web UI's class picker may have chosen another profile's shape since ``init``."""
        shape = self.locust_env.shape_class
        if isinstance(shape, ProfileShape) and shape.profile != self.profile and self.env is not None:
            self.profile = shape.profile
            self.options.load_profile = shape.profile.name
            self.lanes = lanes_of(self.env, self.profile, self.options)

    def start_test(self) -> PublishContext | None:
        assert self.env is not None
        assert self.env.mock_admin_url
        self._follow_shape_choice()
        run_id = new_run_id()
        self.options.load_run_id = run_id
        self.final = None
        self.tracker = DeliveryTracker(run_id, last_seq=latest_seq(self.env.mock_admin_url))
        poller = JournalPoller(
            self.env.mock_admin_url,
            self.tracker,
            OutsideTotal(self.locust_env.stats),  # deliveries are not publishes: not in the Aggregated row
            interval_s=self.options.poll_interval,
            sleep=gevent.sleep,
            on_error=lambda exc: logger.warning("journal read failed: %s", exc),
        )
        self.started_at, self.draining_since = time.time(), 0.0
        self.poller = gevent.spawn(poller.run, self._drained)
        self._start_faults()
        logger.info("run %s started (profile %s)", run_id, self.profile.name)
        return (
            PublishContext.create(self.locust_env, self.env, self.lanes, run_id) if self.publishes else None
        )

    def _start_faults(self) -> None:
        schedule = schedule_of(self.profile, self.options.run_time, self.options.rate)
        targets: list[LoadTarget] = [lane.target for lane in self.lanes if lane.deliverable]
        self.fault_plans = faults_for(self.profile, targets, schedule.rate_msgs_s, schedule.duration_s)
        if self.fault_plans:
            self.faults = gevent.spawn(self._drive_faults, self.fault_plans)

    def _drive_faults(self, plans: list[FaultPlan]) -> None:
        assert self.env is not None
        assert self.env.mock_admin_url
        admin = MockAdmin(self.env.mock_admin_url)
        steps = sorted([(p.start_s, True, p) for p in plans] + [(p.end_s, False, p) for p in plans],
                       key=lambda step: step[0])  # fmt: skip
        for at_s, apply, plan in steps:
            gevent.sleep(max(0.0, self.started_at + at_s - time.time()))  # a timetable, not a wait
            try:
                if apply:
                    admin.script(plan.path, plan.script)
                    logger.info("fault on %s: %s", plan.path, json.dumps(plan.script))
                else:
                    admin.clear_faults(plan.path)
            except MockAdminError as exc:
                logger.error("fault script on %s failed: %s", plan.path, exc)

    def _clear_faults(self) -> None:
        if self.faults is not None:
            self.faults.kill()
            self.faults = None
        if self.fault_plans and self.env is not None and self.env.mock_admin_url:
            admin = MockAdmin(self.env.mock_admin_url)
            for path in {plan.path for plan in self.fault_plans}:
                try:
                    admin.clear_faults(path)
                except MockAdminError as exc:
                    logger.warning("could not clear fault on %s: %s", path, exc)

    def stop_test(self) -> None:
        self.stopped_at = self.draining_since = time.time()
        self._clear_faults()
        logger.info("publishing stopped; reading deliveries for up to %.0fs", self.options.drain_timeout)

    def _drained(self) -> bool:
        if not self.draining_since or self.tracker is None:
            return False
        if time.time() - self.draining_since >= self.options.drain_timeout:
            return True
        expected = self._summary().published
        return expected > 0 and self.tracker.delivered_count >= expected

    def _summary(self) -> slo.RunSummary:
        stats = self.locust_env.stats
        rows = [
            slo.StatsRow(e.method or "", e.name, e.num_requests, e.num_failures)
            for e in stats.entries.values()
        ]
        e2e = stats.entries.get((names.E2E_DELIVERY, names.E2E_TYPE))
        pcts = tuple(e2e.get_response_time_percentile(q) if e2e and e2e.num_requests else None
                     for q in (0.5, 0.95, 0.99))  # fmt: skip
        end = self.stopped_at or time.time()
        runner = self.locust_env.runner
        exceptions = len(runner.exceptions) if runner is not None else 0
        return slo.summarize(rows, (pcts[0], pcts[1], pcts[2]), duration_s=max(0.0, end - self.started_at),
                             user_exceptions=exceptions)  # fmt: skip

    def finish(self) -> int:
        """Drain, judge, report, tear down. Returns the process exit code."""
        if not self.started_at:  # e.g. the web UI was closed without a run: nothing to judge
            logger.info("no load test ran; the SLO gate has nothing to judge")
            self.close()
            return 0
        if not self.draining_since:
            self.stop_test()
        if self.poller is not None:
            self.poller.join(timeout=self.options.drain_timeout + 10)
            self.poller.kill()
        summary = self._summary()
        violations = slo.check(summary, self.thresholds)
        for line in slo.summary_lines(summary):
            logger.info(line)
        for violation in violations:
            logger.error("SLO breached: %s", violation)
        code = slo.exit_code(violations)
        self.final = verdict.document(verdict.evaluate(summary, self.thresholds), "final")
        (logger.info if code == 0 else logger.error)("%s", self.final["line"])
        self._write_report(summary, violations, code)
        if self.options.csv_prefix:
            gevent.sleep(CSV_STATS_INTERVAL_SEC + 0.25)  # let Locust's CSV writer take the final rows
        self.close()
        return code

    def _write_report(self, summary: slo.RunSummary, violations: list[str], code: int) -> None:
        if not self.options.slo_report:
            return
        doc = {
            "profile": self.profile.name,
            "runId": self.options.load_run_id,
            "summary": asdict(summary),
            "publishRateMsgsS": summary.publish_rate_msgs_s,
            "deliveryRateMsgsS": summary.delivery_rate_msgs_s,
            "deliveredRatio": summary.delivered_ratio,
            "thresholds": asdict(self.thresholds),
            "violations": violations,
            "exitCode": code,
        }
        path = Path(self.options.slo_report)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")

    def close(self) -> None:
        self._clear_faults()
        if self.stack is not None:
            self.stack.stop()
            self.stack = None
