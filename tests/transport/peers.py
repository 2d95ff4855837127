"""Test peers and helpers for the transport tests: real aiohttp HTTPS servers on 127.0.0.1 (trustme certs)."""

from __future__ import annotations

import asyncio
import datetime as dt
import ipaddress
import ssl
from dataclasses import dataclass, field

import trustme
from aiohttp import web
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from delivery.models import OutgoingRequest
from delivery.transport.spki import spki_pin_of_pem


@dataclass
class Seen:
    path: str
    peer: tuple[str, int]
    body: bytes
    headers: dict[str, str]
    client_cert: bool
    client_subject: str | None = None  # first subjectAltName of the client certificate


@dataclass
class Peer:
    """A running HTTPS peer: ``url(path)``, what it saw, and a release for hanging handlers."""

    base: str
    seen: list[Seen] = field(default_factory=list)
    release: asyncio.Event = field(default_factory=asyncio.Event)

    def url(self, path: str = "ok") -> str:
        return f"{self.base}/{path}"

    @property
    def peers(self) -> set[tuple[str, int]]:
        return {s.peer for s in self.seen}


def server_context(
    leaf: trustme.LeafCert | None = None,
    *,
    client_ca: trustme.CA | None = None,
    chain_pem: bytes | None = None,
) -> ssl.SSLContext:
    """Server context from a trustme leaf (or a raw key+chain PEM); ``client_ca`` => client certs required."""
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    if leaf is not None:
        leaf.configure_cert(ctx)
    elif chain_pem is not None:
        with trustme.Blob(chain_pem).tempfile() as path:
            ctx.load_cert_chain(path)
    if client_ca is not None:
        client_ca.configure_trust(ctx)
        ctx.verify_mode = ssl.CERT_REQUIRED
    return ctx


def make_app(peer: Peer) -> web.Application:
    async def record(request: web.Request) -> Seen:
        body = await request.read()
        transport = request.transport
        assert transport is not None
        cert = transport.get_extra_info("peercert")
        sans = cert.get("subjectAltName", ()) if cert else ()
        seen = Seen(
            request.path,
            transport.get_extra_info("peername")[:2],
            body,
            dict(request.headers),
            bool(cert),
            sans[0][1] if sans else None,
        )
        peer.seen.append(seen)
        return seen

    async def ok(request: web.Request) -> web.Response:
        await record(request)
        return web.Response(text="delivered")

    async def status(request: web.Request) -> web.Response:
        await record(request)
        code = int(request.match_info["code"])
        headers = {"Retry-After": "7"} if code == 429 else {}
        if 300 <= code < 400:
            headers["Location"] = "/ok"
        text = '{"message": "nope"}' + "x" * 10_000 if code >= 400 else ""
        return web.Response(status=code, text=text, headers=headers)

    async def hang(request: web.Request) -> web.Response:
        await record(request)
        await peer.release.wait()
        return web.Response(text="too late")

    app = web.Application()
    app.router.add_post("/ok", ok)
    app.router.add_post("/status/{code}", status)
    app.router.add_post("/hang", hang)
    return app


def request(url: str, **kwargs: object) -> OutgoingRequest:
    defaults: dict[str, object] = {
        "headers": (("Content-Type", "application/json"), ("x-api-key", "k")),
        "body": b'{"data":[{"type":"MessageStatus"}]}',
        "target_id": "target-1",
        "timeout_s": 5.0,
        "connect_timeout_s": 2.0,
    }
    defaults.update(kwargs)
    return OutgoingRequest(url=url, **defaults)  # type: ignore[arg-type]


def pin_of(leaf: trustme.LeafCert) -> str:
    return spki_pin_of_pem(leaf.cert_chain_pems[0].bytes())


def self_signed_pem(host: str = "127.0.0.1") -> bytes:
    """Key + self-signed leaf for ``host`` (an IP), as one PEM."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "self-signed test leaf")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(hours=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address(host))]), critical=False
        )
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return key_pem + cert.public_bytes(serialization.Encoding.PEM)
