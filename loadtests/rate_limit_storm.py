"""Profile ``rate-limit-storm``: in the middle third of the run the mock answers 429 + Retry-After
above half of each target's rate.

Run it alone with ``locust -f loadtests/rate_limit_storm.py``, or pick it among all profiles with
``locust -f loadtests --load-profile rate-limit-storm``.
"""

from __future__ import annotations

from loadtests import plugin, profiles
from loadtests.shapes import ProfileShape
from loadtests.users import CallbackPublisher

plugin.install()

__all__ = ["CallbackPublisher", "RateLimitStorm"]  # Locust finds the user and the shape in this module


class RateLimitStorm(ProfileShape):
    profile = profiles.RATE_LIMIT_STORM
