"""`dueprocess api`: serve the HTTP API (api/) on uvicorn against the configured services,
or those of the `dueprocess dev` running on the same data dir, verifying access tokens
of the configured OIDC issuer (or the dev stack's local issuer).

``serving_api`` is also how `dueprocess dev` and `demo` serve the API in-process.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import errno
import socket
from collections.abc import AsyncIterator, Iterator
from dataclasses import replace
from datetime import timedelta
from typing import Any

import uvicorn

from ..api.app import create_app
from ..api.deps import ApiConfig, ApiServices
from ..console.state import ConsoleConfig
from ..devstack.announce import running_stack
from ..runtime import Runtime
from ..services.client import DueProcessClient
from ..services.health import HealthServer
from ..services.identity import TokenVerifier
from ..services.notifications import FileSink
from ..services.policyfile import load_policy_file
from ..settings import ConfigError, Settings
from ..worker import open_runtime
from ..worker_tasks import metric_meter, readiness
from .common import EXTENSIONS, InputError, command, emit
from .connect import with_running_stack

DEFAULT_PORT = 8080


def _issuer(settings: Settings) -> str:
    issuer = settings.oidc_issuer or running_stack(settings.data_dir).get("oidc_issuer")
    if not issuer:
        raise ConfigError("DUEPROCESS_OIDC_ISSUER: not set and no `dueprocess dev` (whose "
                          f"local issuer would do) is running with data dir {settings.data_dir}")
    return str(issuer)


def verifier_for(settings: Settings, issuer: str) -> TokenVerifier:
    return TokenVerifier(issuer, settings.oidc_audience, role_claim=settings.oidc_role_claim,
                         role_map=settings.role_map())


def api_services(runtime: Runtime, settings: Settings,
                 task_queue: str | None = None) -> ApiServices:
    """What the API acts on: the runtime's client (on ``task_queue``), store and pool."""
    return ApiServices(
        # Retention timers on the main queue even for a demo's own (short-lived) queue.
        client=DueProcessClient(runtime.client, task_queue or settings.task_queue,
                                retention_queue=settings.task_queue),
        store=runtime.store, pool=runtime.pool, policy=load_policy_file(settings.policy_file),
        sinks=[FileSink(settings.data_dir.resolve() / "outbox")],
        codec=runtime.client.data_converter.payload_codec, meter=metric_meter(runtime))


def console_config(settings: Settings, issuer: str, *, dev: bool) -> ConsoleConfig:
    """The console's settings. Outside development the session secret is required: every
    replica must share it, and a random one would sign everyone out at each restart."""
    secret = settings.console_session_secret
    if secret is None and not dev:
        raise ConfigError("DUEPROCESS_CONSOLE_SESSION_SECRET: not set; the console's "
                          "sessions need a secret shared by every API replica (at least 32 "
                          "characters, e.g. `openssl rand -base64 32`)")
    config = ConsoleConfig(issuer=issuer, client_id=settings.console_client_id,
                           session_ttl=timedelta(hours=settings.console_session_hours))
    return config if secret is None else replace(config, session_secret=secret)


def api_config(settings: Settings, args: argparse.Namespace | None = None) -> ApiConfig:
    """The limits from the settings; the command's flags, when given, override them."""
    body = getattr(args, "max_body_bytes", None)
    timeout = getattr(args, "timeout", None)
    body = settings.api_max_body_bytes if body is None else body
    timeout = settings.api_timeout_seconds if timeout is None else timeout
    if body < 1 or timeout <= 0:
        raise InputError("--max-body-bytes and --timeout must be positive",
                         field="--max-body-bytes", rule="positive")
    return ApiConfig(max_body_bytes=body, timeout_seconds=timeout)


class _Server(uvicorn.Server):
    """uvicorn without its own signal handlers: the command that serves owns Ctrl-C and
    SIGTERM and stops the server in order with everything else."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def bind(host: str, port: int, *, fallback: bool) -> socket.socket:
    """A listening socket on ``port``; with ``fallback``, on a free port when it is taken."""
    try:
        return socket.create_server((host, port))
    except OSError as err:
        if not fallback or err.errno != errno.EADDRINUSE:
            raise
    return socket.create_server((host, 0))


@contextlib.asynccontextmanager
async def serving_api(app: Any, sock: socket.socket, *, stop: asyncio.Event | None = None,
                      drained: asyncio.Event | None = None) -> AsyncIterator[str]:
    """Serve ``app`` on ``sock`` while the block runs; yields the API's URL. With ``stop``:
    once it is set, take no new requests and answer those under way (up to 5 s), then set
    ``drained``: `dueprocess dev` stops its worker only then, so a request already in its
    hands (a filing waiting on its workflow) is answered, not cut off with a 503."""
    host, port = sock.getsockname()[:2]
    server = _Server(uvicorn.Config(app, log_level="warning", server_header=False,
                                    proxy_headers=False, lifespan="auto",
                                    timeout_graceful_shutdown=5))
    task = asyncio.create_task(server.serve(sockets=[sock]))
    if drained is not None:
        task.add_done_callback(lambda _: drained.set())
    watcher = asyncio.create_task(_exit_on(stop, server)) if stop is not None else None
    try:
        while not server.started:
            if task.done():  # it failed to start: say why
                task.result()
                raise ConfigError(f"the API could not be served on {host}:{port}")
            await asyncio.sleep(0.02)
        yield f"http://{host}:{port}"
    finally:
        if watcher is not None:
            watcher.cancel()
        server.should_exit = True
        await task
        sock.close()


async def _exit_on(stop: asyncio.Event, server: uvicorn.Server) -> None:
    await stop.wait()
    server.should_exit = True


def _codec_origins(args: argparse.Namespace, settings: Settings) -> tuple[str, ...]:
    """--codec-origin, or the UI of the `dueprocess dev` stack on this data dir."""
    if args.codec_origin:
        return tuple(args.codec_origin)
    ui = running_stack(settings.data_dir).get("temporal_ui")
    return (str(ui).rstrip("/"),) if ui else ()


@command("api")
async def _api(args: argparse.Namespace, settings: Settings) -> int:
    if not 1 <= args.port <= 65535:
        raise InputError("--port: must be 1-65535", field="--port", rule="port")
    if settings.health_address and settings.health_address.rpartition(":")[2] == str(args.port):
        raise InputError(f"--port: {args.port} is DUEPROCESS_HEALTH_ADDRESS's port (the "
                         "probes); serve the API on another (the image uses 8000)",
                         field="--port", rule="port")
    config = replace(api_config(settings, args), codec_origins=_codec_origins(args, settings))
    settings = with_running_stack(settings)
    if settings.temporal_address is None:
        raise ConfigError("DUEPROCESS_TEMPORAL_ADDRESS: not set and no `dueprocess dev` is "
                          f"running with data dir {settings.data_dir} (the API serves the "
                          "stack's workers; it runs none of its own)")
    verifier = verifier_for(settings, _issuer(settings))
    console = console_config(settings, verifier.issuer, dev=False)
    async with open_runtime(settings) as runtime:
        app = create_app(api_services(runtime, settings), verifier, config, console)
        server = uvicorn.Server(uvicorn.Config(
            app, host=args.host, port=args.port, log_level="warning", server_header=False,
            # Behind a TLS ingress the console must see https (its sign-in callback URL and
            # Secure cookies): uvicorn trusts X-Forwarded-* only from FORWARDED_ALLOW_IPS
            # (default 127.0.0.1), which the deployment sets to its proxies.
            proxy_headers=True, timeout_graceful_shutdown=10))
        emit(args, {"url": f"http://{args.host}:{args.port}", "issuer": verifier.issuer},
             f"dueprocess api on http://{args.host}:{args.port} (docs at /docs; tokens of "
             f"{verifier.issuer}); Ctrl-C to stop")
        health = await start_health(settings, runtime, server)
        try:
            await server.serve()  # uvicorn stops cleanly on SIGINT/SIGTERM
        finally:
            if health is not None:
                await health.close()
    return 0


async def start_health(settings: Settings, runtime: Runtime,
                       server: uvicorn.Server) -> HealthServer | None:
    """/livez and /readyz (Temporal and PostgreSQL answer; not shutting down) on
    DUEPROCESS_HEALTH_ADDRESS, as for the workers, for the orchestrator's probes."""
    if not settings.health_address:
        return None

    async def checks() -> dict[str, str | None]:
        found = await readiness(runtime, asyncio.Event())
        found["shutdown"] = "draining" if server.should_exit else None
        return found

    host, _, port = settings.health_address.rpartition(":")
    health = HealthServer(host, int(port), checks)
    await health.start()
    return health


def _extend(sub: Any, add: Any) -> None:
    api = add("api", "serve the HTTP API (OpenAPI at /openapi.json, docs at /docs)")
    api.add_argument("--host", default="127.0.0.1", help="address to listen on")
    api.add_argument("--port", type=int, default=DEFAULT_PORT, help="port to listen on")
    api.add_argument("--max-body-bytes", type=int,
                     help="largest request body accepted (default DUEPROCESS_API_MAX_BODY_BYTES"
                          ", else 1 MiB)")
    api.add_argument("--timeout", type=float,
                     help="seconds a request may take before it is answered 503 (default "
                          "DUEPROCESS_API_TIMEOUT_SECONDS, else 30)")
    api.add_argument("--codec-origin", action="append", metavar="URL",
                     help="origin of a Temporal UI allowed to call the codec server at "
                          "/codec (CORS), e.g. http://localhost:8233; repeatable")


EXTENSIONS.append(_extend)
