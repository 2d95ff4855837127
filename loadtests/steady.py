"""Profile ``steady``: A constant publish rate (--rate msg/s, default 50) to every plain target.

Run it alone with ``locust -f loadtests/steady.py``, or pick it among all profiles with
``locust -f loadtests --load-profile steady``.
"""

from __future__ import annotations

from loadtests import plugin, profiles
from loadtests.shapes import ProfileShape
from loadtests.users import CallbackPublisher

plugin.install()

__all__ = ["CallbackPublisher", "SteadyRate"]  # Locust finds the user and the shape in this module


class SteadyRate(ProfileShape):
    profile = profiles.STEADY
