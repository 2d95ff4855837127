"""Raw storage of client configs and the applications map: local files, S3 objects, SSM parameters.

Errors (from ``delivery.errors``; each message is fit for a log line or a CLI error): ``ConfigNotFound``
(nothing stored under that name; never cached), ``ConfigInvalid`` (stored, but not valid JSON / not a valid
config), ``ConfigUnavailable`` (I/O failed: S3/SSM/file system; worth retrying later).

Every client-config write can be conditional (optimistic concurrency): ``read_versioned`` returns the bytes
with a version (a SHA-256 of the file for ``LocalDirStore``, the ETag for ``S3ConfigStore``; ``None`` when
nothing is stored) and ``write_if(client_id, data, version)`` writes only if the stored version is still
``version``, else raises ``ConfigConflict``. ``LocalDirStore`` checks and writes under an exclusive
``fcntl`` lock (``<root>/.<clientId>.json.lock``), writing a temporary file then renaming it over the old.

Stores return bytes (client configs) or a ``{clientId: applicationId}`` dict (applications map); parsing and
caching live in ``delivery.config.cache``. boto3 clients are created plainly (``boto3.client("s3")``) so the
standard ``AWS_ENDPOINT_URL`` variable applies. A store that created its own client closes it in ``close()``.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from delivery.config.inputs import DuplicateKeyError, id_problem, loads_unique
from delivery.errors import ConfigConflict, ConfigError, ConfigInvalid, ConfigNotFound, ConfigUnavailable

DEFAULT_CONFIG_PREFIX = "client_subscriptions/"
CONFIG_SUFFIX = ".json"

__all__ = [
    "CONFIG_SUFFIX",
    "DEFAULT_CONFIG_PREFIX",
    "AppMapStore",
    "ConfigConflict",
    "ConfigError",
    "ConfigInvalid",
    "ConfigNotFound",
    "ConfigStore",
    "ConfigUnavailable",
    "LocalAppMapStore",
    "LocalDirStore",
    "Versioned",
    "check_client_id",
    "dump_app_map",
    "parse_app_map",
]


@dataclass(frozen=True, slots=True)
class Versioned:
    """A stored document and its version (``None``/``None``: nothing stored)."""

    data: bytes | None
    version: str | None


class ConfigStore(Protocol):
    def read(self, client_id: str) -> bytes | None: ...
    def read_versioned(self, client_id: str) -> Versioned: ...
    def write(self, client_id: str, data: bytes) -> None: ...
    def write_if(self, client_id: str, data: bytes, version: str | None) -> None:
        """Write only if the stored version is still ``version`` (None: none stored); else ConfigConflict."""
        ...

    def list_ids(self) -> list[str]: ...
    def describe(self) -> str: ...


class AppMapStore(Protocol):
    def read(self) -> dict[str, str]: ...
    def write(self, mapping: Mapping[str, str]) -> None: ...
    def update(self, client_id: str, application_id: str) -> dict[str, str]:
        """Map one client (read-modify-write, as safely as the store allows); returns the new map."""
        ...

    def describe(self) -> str: ...


def check_client_id(client_id: str) -> str:
    """A client id becomes a file/object name: only the safe id set (``delivery.config.inputs``)."""
    problem = id_problem(client_id)
    if problem is not None:
        raise ConfigInvalid(f"Invalid client id: {problem}")
    return client_id


def parse_app_map(raw: str | bytes, source: str) -> dict[str, str]:
    """Pure: JSON text -> ``{clientId: applicationId}``; ``source`` names the origin in error messages."""
    try:
        value = loads_unique(raw)
    except DuplicateKeyError as exc:
        raise ConfigInvalid(f"{source} contains duplicate keys: {exc}") from exc
    except (ValueError, UnicodeDecodeError) as exc:
        raise ConfigInvalid(f"{source} contains invalid JSON") from exc
    if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
        raise ConfigInvalid(f"{source} must hold a JSON object mapping clientId to applicationId")
    return dict(value)


def dump_app_map(mapping: Mapping[str, str]) -> str:
    return json.dumps(dict(sorted(mapping.items())), indent=2) + "\n"


def _write_atomic(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def content_version(data: bytes | None) -> str | None:
    return None if data is None else hashlib.sha256(data).hexdigest()


@contextmanager
def _exclusive(lock_path: Path) -> Iterator[None]:
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    with lock_path.open("a") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


class LocalDirStore:
    """One ``<root>/<clientId>.json`` file per client."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)

    def path_of(self, client_id: str) -> Path:
        return self.root / f"{check_client_id(client_id)}{CONFIG_SUFFIX}"

    def read(self, client_id: str) -> bytes | None:
        path = self.path_of(client_id)
        try:
            return path.read_bytes()
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise ConfigUnavailable(f"Could not read client config {path}: {exc}") from exc

    def read_versioned(self, client_id: str) -> Versioned:
        data = self.read(client_id)
        return Versioned(data, content_version(data))

    def write(self, client_id: str, data: bytes) -> None:
        path = self.path_of(client_id)
        try:
            with _exclusive(path.with_name(f".{path.name}.lock")):
                _write_atomic(path, data)
        except OSError as exc:
            raise ConfigUnavailable(f"Could not write client config {path}: {exc}") from exc

    def write_if(self, client_id: str, data: bytes, version: str | None) -> None:
        path = self.path_of(client_id)
        try:
            with _exclusive(path.with_name(f".{path.name}.lock")):
                if content_version(self.read(client_id)) != version:
                    raise ConfigConflict(f"client config {path} changed since it was read")
                _write_atomic(path, data)
        except OSError as exc:
            raise ConfigUnavailable(f"Could not write client config {path}: {exc}") from exc

    def list_ids(self) -> list[str]:
        try:
            return sorted(p.stem for p in self.root.glob(f"*{CONFIG_SUFFIX}") if p.is_file())
        except OSError as exc:
            raise ConfigUnavailable(f"Could not list {self.root}: {exc}") from exc

    def describe(self) -> str:
        return str(self.root)

    def close(self) -> None:
        pass


class LocalAppMapStore:
    """The applications map as one JSON file ``{clientId: applicationId}``."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)

    def read(self) -> dict[str, str]:
        try:
            raw = self.path.read_bytes()
        except FileNotFoundError as exc:
            raise ConfigNotFound(f"Applications map file '{self.path}' not found") from exc
        except OSError as exc:
            raise ConfigUnavailable(f"Could not read applications map file '{self.path}': {exc}") from exc
        return parse_app_map(raw, f"Applications map file '{self.path}'")

    def write(self, mapping: Mapping[str, str]) -> None:
        try:
            with _exclusive(self._lock_path()):
                _write_atomic(self.path, dump_app_map(mapping).encode())
        except OSError as exc:
            raise ConfigUnavailable(f"Could not write applications map file '{self.path}': {exc}") from exc

    def update(self, client_id: str, application_id: str) -> dict[str, str]:
        """Read, change and write under the exclusive lock: concurrent updates never lose one another."""
        try:
            with _exclusive(self._lock_path()):
                try:
                    mapping = self.read()
                except ConfigNotFound:
                    mapping = {}
                mapping[client_id] = application_id
                _write_atomic(self.path, dump_app_map(mapping).encode())
        except OSError as exc:
            raise ConfigUnavailable(f"Could not write applications map file '{self.path}': {exc}") from exc
        return mapping

    def _lock_path(self) -> Path:
        return self.path.with_name(f".{self.path.name}.lock")

    def describe(self) -> str:
        return f"applications map file '{self.path}'"

    def close(self) -> None:
        pass


class _OwnedClient:
    """Holds a boto3 client; closes it only if this object created it."""

    def __init__(self, service: str, client: Any | None) -> None:
        if client is None:
            import boto3

            client = boto3.client(service)
            self._owned = True
        else:
            self._owned = False
        self.client: Any = client

    def close(self) -> None:
        if self._owned:
            self.client.close()
            self._owned = False
