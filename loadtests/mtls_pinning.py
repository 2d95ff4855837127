"""Profile ``mtls-pinning``: mTLS and SPKI pinning on every target (the slowest configuration).

Run it alone with ``locust -f loadtests/mtls_pinning.py``, or pick it among all profiles with
``locust -f loadtests --load-profile mtls-pinning``.
"""

from __future__ import annotations

from loadtests import plugin, profiles
from loadtests.shapes import ProfileShape
from loadtests.users import CallbackPublisher

plugin.install()

__all__ = ["CallbackPublisher", "MtlsPinning"]  # Locust finds the user and the shape in this module


class MtlsPinning(ProfileShape):
    profile = profiles.MTLS_PINNING
