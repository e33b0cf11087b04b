"""Liveness and readiness over HTTP for orchestrators (Kubernetes probes, compose checks).

``GET /livez`` answers 200 while the worker's event loop runs; ``GET /readyz`` answers 200
when every readiness check passes, else 503 with a JSON body naming what failed.

Built on asyncio's own server, not a web framework: the probes need one GET each and a
status code, the worker has no HTTP stack (the API will bring one), and serving on the
worker's own event loop makes a blocked loop fail the liveness probe, as it should.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable

log = logging.getLogger("dueprocess.health")

# name -> None when healthy, else one line saying what is wrong
Checks = Callable[[], Awaitable[dict[str, str | None]]]
_REASONS = {200: "OK", 404: "Not Found", 405: "Method Not Allowed", 503: "Service Unavailable"}


class HealthServer:
    def __init__(self, host: str, port: int, readiness: Checks, *, timeout: float = 5.0) -> None:
        self._host, self._port = host, port
        self._readiness = readiness
        self._timeout = timeout
        self._server: asyncio.Server | None = None

    @property
    def port(self) -> int:
        """The bound port (the one asked for, or the OS's pick for port 0)."""
        assert self._server is not None and self._server.sockets
        return int(self._server.sockets[0].getsockname()[1])

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, self._host, self._port)

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            async with asyncio.timeout(self._timeout):
                request = (await reader.readline()).decode("latin-1").split()
                while (await reader.readline()) not in (b"\r\n", b"\n", b""):
                    pass  # headers: nothing in them matters here
                status, body = await self._answer(request)
            payload = json.dumps(body).encode()
            head = (f"HTTP/1.1 {status} {_REASONS[status]}\r\nContent-Type: application/json\r\n"
                    f"Content-Length: {len(payload)}\r\nConnection: close\r\n\r\n")
            writer.write(head.encode() + payload)
            await writer.drain()
        except (TimeoutError, ConnectionError):
            pass
        finally:
            writer.close()

    async def _answer(self, request: list[str]) -> tuple[int, dict[str, object]]:
        if len(request) < 2 or request[0] not in ("GET", "HEAD"):
            return 405, {"error": "only GET"}
        path = request[1].split("?", 1)[0]
        if path == "/livez":
            return 200, {"status": "alive"}
        if path != "/readyz":
            return 404, {"error": "try /livez or /readyz"}
        try:
            problems = await asyncio.wait_for(self._readiness(), self._timeout - 1)
        except TimeoutError:
            problems = {"checks": "did not finish in time"}
        failed = {name: problem for name, problem in problems.items() if problem}
        if failed:
            log.warning("not ready: %s", failed)
            return 503, {"status": "not ready", "failed": failed}
        return 200, {"status": "ready", "checks": sorted(problems)}
