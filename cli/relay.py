"""`dueprocess relay`: post the notices the workers queue (DUEPROCESS_NOTICE_RELAY=separate),
in a process of its own, so a letter is never composed, written or recorded in a worker's
interpreter between its decisions (services/notice_relay.py). Woken by each queueing
(LISTEN/NOTIFY, on a connection of its own), it also sweeps every few seconds. One relay
posts each case's letters in the order decided; more share the work, but letters of one
case queued within moments of each other may then go out in another order.
With DUEPROCESS_HEALTH_ADDRESS it serves /livez and /readyz (PostgreSQL answers, a sweep
completed lately, not stopping), as a worker does."""

from __future__ import annotations

import argparse
import contextlib
import sys
from typing import Any

import asyncpg

from ..services.health import HealthServer
from ..settings import Settings
from ..store.db import create_pool
from ..worker import relay_for, relay_readiness, setup_telemetry
from .common import EXTENSIONS, InputError, command, emit, stop_event
from .connect import database_dsn, store_for


@command("relay")
async def _relay(args: argparse.Namespace, settings: Settings) -> int:
    if not 0.1 <= args.every <= 3600:
        raise InputError("--every: must be 0.1-3600 seconds", field="--every", rule="range")
    setup_telemetry(settings)
    stop = stop_event()
    async with database_dsn(settings) as dsn, contextlib.AsyncExitStack() as stack:
        pool = await create_pool(dsn, min_size=1, max_size=4)
        stack.push_async_callback(pool.close)
        relay = relay_for(settings, pool, store_for(pool, settings))
        if settings.health_address:
            host, _, port = settings.health_address.rpartition(":")
            health = HealthServer(host, int(port), lambda: relay_readiness(pool, stop, relay))
            await health.start()
            stack.push_async_callback(health.close)
        emit(args, {"channel": relay.channel, "every": args.every},
             f"notice relay posting the {relay.channel} notices workers queue")
        sys.stdout.flush()  # a line a supervisor (or a test) waits for
        await relay.run(stop, every=args.every, listen=lambda: asyncpg.connect(dsn))
    return 0


def _extend(sub: Any, add: Any) -> None:
    relay = add("relay", "post the notices workers queue (DUEPROCESS_NOTICE_RELAY=separate) "
                "until stopped")
    relay.add_argument("--every", type=float, default=5.0,
                       help="seconds between sweeps besides the wake-ups (default 5)")


EXTENSIONS.append(_extend)
