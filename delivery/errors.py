"""Exceptions of the delivery engine: one base class, one tree.

    DeliveryError
    ├── ConfigError                   a client config (or an engine setting) is wrong or cannot be loaded
    │   ├── ConfigValidationError     schema/cross-field problems; ``.issues`` lists every one with its path
    │   ├── ConfigNotFound            no config stored for a client
    │   ├── ConfigInvalid             stored config does not validate (wraps a ConfigValidationError)
    │   ├── ConfigUnavailable         the store could not be read (S3/SSM/disk I/O)
    │   └── ConfigConflict            a conditional write lost a race: the document changed since it was read
    ├── PoisonMessage                 a queue message body can never be delivered (``.code``, ``.reason``)
    │   └── TargetNotFound            the envelope names a target the client config does not have
    ├── SigningError                  a signing secret is missing or malformed
    ├── GateUnavailable               the Redis gate could not be reached or its script failed
    └── TransportError                no usable HTTP response (adapters return TransportFailure values)
        ├── ConnectError              refused / reset / DNS
        ├── TLSError                  handshake, verification or pinning failure
        └── DeliveryTimeout           connect or total deadline passed

Third-party exceptions are translated at the adapter boundary; the pipeline only ever sees these types
(and, after classification, plain ``Outcome`` values).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

PathItem = str | int


class DeliveryError(Exception):
    """Base class of every error raised by the ``delivery`` package."""


class ConfigError(DeliveryError):
    """Configuration is wrong or cannot be obtained."""


@dataclass(frozen=True, slots=True)
class ConfigIssue:
    """One problem in a config document: where (path of keys/indexes) and what (reference message)."""

    path: tuple[PathItem, ...]
    message: str

    def __str__(self) -> str:
        where = ".".join(str(part) for part in self.path) or "(root)"
        return f"{where}: {self.message}"


class ConfigValidationError(ConfigError):
    """Every problem found in one config document; ``str()`` gives one ``path: message`` line per issue."""

    def __init__(self, issues: Iterable[ConfigIssue]) -> None:
        self.issues: tuple[ConfigIssue, ...] = tuple(issues)
        super().__init__("\n".join(str(issue) for issue in self.issues))


class ConfigNotFound(ConfigError):
    """No configuration stored for a client."""


class ConfigInvalid(ConfigError):
    """A stored configuration does not validate."""


class ConfigUnavailable(ConfigError):
    """The configuration store could not be read (transient: retry later)."""


class ConfigConflict(ConfigError):
    """A conditional config write found the stored document changed since it was read (nothing written)."""


class PoisonMessage(DeliveryError):
    """A message that can never be delivered as it is; it goes to the DLQ with ``code`` and ``reason``."""

    code: str = "INVALID_MESSAGE"

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)


class TargetNotFound(PoisonMessage):
    """The envelope's targetId is not in the client's config."""

    code = "TARGET_NOT_FOUND"


class SigningError(DeliveryError):
    """A signing secret is missing (e.g. its environment variable is unset) or malformed."""


class GateUnavailable(DeliveryError):
    """The admission gate (Redis) failed; the message names the operation, never the script source."""


class TransportError(DeliveryError):
    """No usable HTTP response."""


class ConnectError(TransportError):
    """Connection refused, reset, or name resolution failed."""


class TLSError(TransportError):
    """TLS handshake, certificate verification or SPKI pinning failed."""


class DeliveryTimeout(TransportError):
    """The connect timeout or the total deadline of an attempt passed."""


__all__ = [
    "ConfigError",
    "ConfigInvalid",
    "ConfigIssue",
    "ConfigNotFound",
    "ConfigUnavailable",
    "ConfigValidationError",
    "ConnectError",
    "DeliveryError",
    "DeliveryTimeout",
    "GateUnavailable",
    "PathItem",
    "PoisonMessage",
    "SigningError",
    "TLSError",
    "TargetNotFound",
    "TransportError",
]
