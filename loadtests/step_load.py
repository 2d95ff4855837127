"""Profile ``step-load``: The rate in four equal steps up to --rate (find the knee of the latency curve).

Run it alone with ``locust -f loadtests/step_load.py``, or pick it among all profiles with
``locust -f loadtests --load-profile step-load``.
"""

from __future__ import annotations

from loadtests import plugin, profiles
from loadtests.shapes import ProfileShape
from loadtests.users import CallbackPublisher

plugin.install()

__all__ = ["CallbackPublisher", "StepLoad"]  # Locust finds the user and the shape in this module


class StepLoad(ProfileShape):
    profile = profiles.STEP
