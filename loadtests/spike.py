"""Profile ``spike``: A 20% baseline, the full --rate in the middle fifth of the run, then the baseline again.

Run it alone with ``locust -f loadtests/spike.py``, or pick it among all profiles with
``locust -f loadtests --load-profile spike``.
"""

from __future__ import annotations

from loadtests import plugin, profiles
from loadtests.shapes import ProfileShape
from loadtests.users import CallbackPublisher

plugin.install()

__all__ = ["CallbackPublisher", "Spike"]  # Locust finds the user and the shape in this module


class Spike(ProfileShape):
    profile = profiles.SPIKE
