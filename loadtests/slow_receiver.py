"""Profile ``slow-receiver``: the first target answers 750 ms late (a mock fault script); the others
must not slow down.

Run it alone with ``locust -f loadtests/slow_receiver.py``, or pick it among all profiles with
``locust -f loadtests --load-profile slow-receiver``.
"""

from __future__ import annotations

from loadtests import plugin, profiles
from loadtests.shapes import ProfileShape
from loadtests.users import CallbackPublisher

plugin.install()

__all__ = ["CallbackPublisher", "SlowReceiver"]  # Locust finds the user and the shape in this module


class SlowReceiver(ProfileShape):
    profile = profiles.SLOW_RECEIVER
