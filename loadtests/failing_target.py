"""Profile ``failing-target``: 20% of messages go to a circuit-breaker target that always answers
500 (``force-500`` message ids); the other targets must keep flowing.

Run it alone with ``locust -f loadtests/failing_target.py``, or pick it among all profiles with
``locust -f loadtests --load-profile failing-target``.
"""

from __future__ import annotations

from loadtests import plugin, profiles
from loadtests.shapes import ProfileShape
from loadtests.users import CallbackPublisher

plugin.install()

__all__ = ["CallbackPublisher", "FailingTarget"]  # Locust finds the user and the shape in this module


class FailingTarget(ProfileShape):
    profile = profiles.FAILING_TARGET
