"""Client ``ssl.SSLContext`` per TLS identity (SPEC G.3, P3, P11).

- TLS 1.2 or newer, certificate and hostname verification always on.
- A configured CA (and any extra trusted CA PEM) is *added* to the system trust store, unless
  ``replace_system_trust`` is asked for (the reference replaced it, N17).
- The client certificate is loaded only into the context of targets with ``mtls.enabled``.

The private key goes to OpenSSL through an anonymous in-memory file (``memfd``) where the OS has one,
else a private temporary file that is removed at once; it is never written anywhere else.
"""

from __future__ import annotations

import contextlib
import os
import ssl
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass

from delivery.models import TlsIdentity
from delivery.transport.material import TlsMaterial, TlsMaterialError


def build_client_context(
    *,
    ca_pem: str = "",
    replace_system_trust: bool = False,
    cert_pem: str = "",
    key_pem: str = "",
) -> ssl.SSLContext:
    """A verifying client context; presents ``cert_pem``/``key_pem`` when both are given."""
    if replace_system_trust and not ca_pem:
        raise TlsMaterialError("replacing the system trust store needs a CA (MTLS_CA_FILE or MTLS_CA_S3_KEY)")
    if replace_system_trust:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)  # check_hostname + CERT_REQUIRED, empty store
    else:
        ctx = ssl.create_default_context(ssl.Purpose.SERVER_AUTH)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    if ca_pem:
        try:
            ctx.load_verify_locations(cadata=ca_pem)
        except ssl.SSLError as exc:
            raise TlsMaterialError(f"CA PEM cannot be loaded: {exc.reason or exc}") from None
    if cert_pem and key_pem:
        _load_chain(ctx, cert_pem, key_pem)
    return ctx


def _load_chain(ctx: ssl.SSLContext, cert_pem: str, key_pem: str) -> None:
    with _private_pem_path(cert_pem + key_pem) as path:
        try:
            ctx.load_cert_chain(path)
        except ssl.SSLError as exc:
            raise TlsMaterialError(
                f"client certificate and private key cannot be loaded (do they match?): {exc.reason or exc}"
            ) from None


@contextlib.contextmanager
def _private_pem_path(text: str) -> Iterator[str]:
    data = text.encode("utf-8")
    if hasattr(os, "memfd_create"):
        fd = os.memfd_create("callbacks-tls", 0)
        try:
            os.write(fd, data)
            yield f"/proc/self/fd/{fd}"
        finally:
            os.close(fd)
        return
    fd, path = tempfile.mkstemp(prefix="callbacks-tls-", suffix=".pem")  # mode 0600
    try:
        os.write(fd, data)
        os.close(fd)
        yield path
    finally:
        os.unlink(path)


@dataclass(frozen=True, slots=True)
class ContextEntry:
    identity: TlsIdentity
    version: int  # changes whenever the material (and so the context) is rebuilt
    context: ssl.SSLContext


class SslContexts:
    """One context per identity (client cert presented or not), rebuilt when the material changes."""

    def __init__(self, *, extra_ca_pem: str = "", replace_system_trust: bool = False) -> None:
        self._extra_ca_pem = extra_ca_pem
        self._replace = replace_system_trust
        self._entries: dict[bool, tuple[TlsMaterial | None, ContextEntry]] = {}
        self._versions = 0

    def get(self, material: TlsMaterial | None, *, present_client_cert: bool) -> ContextEntry:
        cached = self._entries.get(present_client_cert)
        if cached is not None and cached[0] is material:
            return cached[1]
        entry = self._build(material, present_client_cert)
        self._entries[present_client_cert] = (material, entry)
        return entry

    def _build(self, material: TlsMaterial | None, present_client_cert: bool) -> ContextEntry:
        if present_client_cert and (material is None or not material.has_client_cert):
            raise TlsMaterialError("mTLS is enabled but no client certificate and key were loaded")
        ca_pem = "".join(p for p in ((material.ca_pem if material else ""), self._extra_ca_pem) if p)
        ctx = build_client_context(
            ca_pem=ca_pem,
            replace_system_trust=self._replace,
            cert_pem=material.cert_pem if material and present_client_cert else "",
            key_pem=material.key_pem if material and present_client_cert else "",
        )
        self._versions += 1
        source = material.source if material else "system"
        name = f"mtls:{source}" if present_client_cert else f"server-auth:{source}"
        return ContextEntry(TlsIdentity(name, present_client_cert), self._versions, ctx)
