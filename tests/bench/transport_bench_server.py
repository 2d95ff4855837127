"""Bench peer: a bare aiohttp HTTPS server requiring client certificates (run as a child process).

``python transport_bench_server.py CERTS_DIR READY_FILE`` serves ``POST /<anything>`` with ``200 ok`` on
127.0.0.1 (port 0) and writes ``{"port": N}`` to READY_FILE once listening. CERTS_DIR holds ``ca.pem`` and
``server.pem`` (key + chain). Runs until terminated.
"""

from __future__ import annotations

import asyncio
import json
import ssl
import sys
from pathlib import Path

from aiohttp import web


async def _serve(certs_dir: Path, ready_file: Path) -> None:
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(certs_dir / "server.pem")
    ctx.load_verify_locations(certs_dir / "ca.pem")
    ctx.verify_mode = ssl.CERT_REQUIRED

    async def handle(request: web.Request) -> web.Response:
        await request.read()
        return web.Response(text="ok")

    app = web.Application()
    app.router.add_post("/{tail:.*}", handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=ctx, backlog=1024)
    await site.start()
    tmp = ready_file.with_suffix(".tmp")
    tmp.write_text(json.dumps({"port": runner.addresses[0][1]}))
    tmp.rename(ready_file)
    await asyncio.Event().wait()


def main() -> None:
    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvloop is a project dependency on Linux
        asyncio.run(_serve(Path(sys.argv[1]), Path(sys.argv[2])))
    else:
        uvloop.run(_serve(Path(sys.argv[1]), Path(sys.argv[2])))


if __name__ == "__main__":
    main()
