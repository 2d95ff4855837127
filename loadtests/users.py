"""``CallbackPublisher``: the one Locust user of every profile. It publishes delivery-queue messages at a
fixed per-user rate (``--user-rate``); the profile's shape decides how many publishers run."""

from __future__ import annotations

import random
from collections.abc import Callable

from locust import User, constant_throughput, task

from loadtests import plugin
from loadtests.run import PublishContext

plugin.install()


class CallbackPublisher(User):
    """Single sends and SendMessageBatch calls to the profile's lanes (drawn by weight)."""

    def on_start(self) -> None:
        self.publishing: PublishContext = plugin.current_publish_context()
        self.rand = random.Random()
        self._pace: Callable[[User], float] = constant_throughput(self.publishing.tasks_per_user_s)

    def wait_time(self) -> float:
        return self._pace(self)

    @task
    def publish(self) -> None:
        self.publishing.publish(self.rand)
