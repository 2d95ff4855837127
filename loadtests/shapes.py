"""``ProfileShape``: the ``LoadTestShape`` every profile file subclasses (``profile = <a Profile>``).

``tick()`` reads the clock and the options and asks ``schedules.tick_for`` (pure) for the user count.
"""

from __future__ import annotations

from typing import ClassVar

from locust import LoadTestShape

from loadtests.profiles import Profile, schedule_of
from loadtests.schedules import Schedule, tick_for


class ProfileShape(LoadTestShape):
    abstract = True
    use_common_options = True  # -t/--run-time sets the duration
    profile: ClassVar[Profile]

    def schedule(self) -> Schedule:
        options = self.runner.environment.parsed_options if self.runner else None
        return schedule_of(self.profile, getattr(options, "run_time", None), getattr(options, "rate", None))

    def tick(self) -> tuple[int, float] | None:
        options = self.runner.environment.parsed_options if self.runner else None
        user_rate = float(getattr(options, "user_rate", None) or 10.0)
        tick = tick_for(self.schedule(), self.get_run_time(), user_rate)
        return None if tick is None else (tick.users, tick.spawn_rate)
