"""A userspace TCP fault proxy: latency and jitter on one loopback port, changed at run time.

This machine's kernel has no ``sch_netem``, so ``tc netem`` cannot delay loopback traffic;
the embedded target can instead put this proxy in front of a component. Client-to-upstream
bytes pass a delay line: each chunk leaves ``latency_ms`` (+- ``jitter_ms``) after it arrived,
in order, and chunks that arrive together are not delayed one after the other, so a request
is slowed by the injected amount once, as netem would do it. Replies pass undelayed.

The PyPI package ``faulty`` was evaluated first and does not serve: its faults cannot be
changed while it runs, its latency is paid again for every chunk, and it leaves the other
direction's task running when one side closes.

Run it with ``python -m hive_resilience.target.fault_proxy --listen-port 4001 --upstream-port 4002
--admin-port 8791``; faults: ``PUT /admin/faults {"latency_ms": 200, "jitter_ms": 20}``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import random
import time
from dataclasses import dataclass

from aiohttp import web

from hive_resilience.target.faults import FaultAdmin, FaultSettings

LOOPBACK = "127.0.0.1"
CHUNK_BYTES = 65536


@dataclass
class ProxyFaults(FaultSettings):
    """Added delay on the client-to-upstream direction; zero means a transparent proxy."""

    latency_ms: float = 0.0
    jitter_ms: float = 0.0


class FaultProxy:
    """Forwards ``listen_port`` to ``upstream_port`` on loopback, delaying as the faults say."""

    def __init__(self, listen_port: int, upstream_port: int, host: str = LOOPBACK) -> None:
        self.listen_port = listen_port
        self.upstream_port = upstream_port
        self.host = host
        self.admin = FaultAdmin(ProxyFaults)
        self.connections = 0

    def admin_app(self) -> web.Application:
        app = web.Application()
        app.add_routes([web.get("/health", self._health), *self.admin.routes()])
        return app

    async def _health(self, _: web.Request) -> web.Response:
        return web.json_response({"status": "ok", "connections": self.connections, "upstream_port": self.upstream_port})

    async def serve(self) -> asyncio.Server:
        return await asyncio.start_server(self._handle, self.host, self.listen_port)

    async def _handle(self, client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter) -> None:
        try:
            upstream_reader, upstream_writer = await asyncio.open_connection(self.host, self.upstream_port)
        except OSError:
            client_writer.close()
            return
        self.connections += 1
        try:
            await asyncio.gather(
                self._delay_line(client_reader, upstream_writer),
                _copy(upstream_reader, client_writer),
            )
        finally:
            self.connections -= 1
            for writer in (client_writer, upstream_writer):
                writer.close()

    async def _delay_line(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """Forward chunks, each released at its arrival time plus the current delay, in order."""
        queue: asyncio.Queue[tuple[float, bytes]] = asyncio.Queue()

        async def receive() -> None:
            last_release = 0.0
            while chunk := await _read(reader):
                faults = self.admin.faults
                jitter = random.uniform(-faults.jitter_ms, faults.jitter_ms)
                release = time.monotonic() + max(0.0, faults.latency_ms + jitter) / 1000
                last_release = max(last_release, release)  # jitter must not reorder bytes
                queue.put_nowait((last_release, chunk))
            queue.put_nowait((0.0, b""))

        receiver = asyncio.create_task(receive())
        try:
            while True:
                release, chunk = await queue.get()
                if not chunk:
                    break
                await asyncio.sleep(max(0.0, release - time.monotonic()))
                writer.write(chunk)
                await writer.drain()
            with contextlib.suppress(OSError):
                writer.write_eof()
        except (ConnectionError, OSError):
            pass
        finally:
            receiver.cancel()


async def _read(reader: asyncio.StreamReader) -> bytes:
    try:
        return await reader.read(CHUNK_BYTES)
    except (ConnectionError, OSError):
        return b""


async def _copy(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while chunk := await _read(reader):
            writer.write(chunk)
            await writer.drain()
        writer.write_eof()
    except (ConnectionError, OSError):
        pass


async def _run(proxy: FaultProxy, admin_port: int) -> None:
    runner = web.AppRunner(proxy.admin_app(), access_log=None)
    await runner.setup()
    await web.TCPSite(runner, proxy.host, admin_port).start()
    server = await proxy.serve()
    async with server:
        await server.serve_forever()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="TCP fault proxy (latency, jitter) on loopback.")
    parser.add_argument("--listen-port", type=int, required=True, help="port clients connect to")
    parser.add_argument("--upstream-port", type=int, required=True, help="port of the real component")
    parser.add_argument("--admin-port", type=int, required=True, help="port of /health and /admin/faults")
    args = parser.parse_args(argv)
    asyncio.run(_run(FaultProxy(args.listen_port, args.upstream_port), args.admin_port))


if __name__ == "__main__":
    main()
