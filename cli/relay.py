"""`dueprocess relay`: post the notices the workers queue (DUEPROCESS_NOTICE_RELAY=separate),
in a process of its own, so a letter is never composed, written or recorded in a worker's
interpreter between its decisions (services/notice_relay.py). Woken by each queueing
(LISTEN/NOTIFY), it also sweeps every few seconds; run one or more (rows are claimed).
With DUEPROCESS_HEALTH_ADDRESS it serves /livez and /readyz (PostgreSQL answers, not
stopping), as a worker does."""

from __future__ import annotations

import argparse
import contextlib
import sys
from typing import Any

from ..services.health import HealthServer
from ..settings import Settings
from ..worker import relay_for, relay_readiness
from .common import EXTENSIONS, InputError, command, emit, stop_event
from .connect import connect_pool, store_for


@command("relay")
async def _relay(args: argparse.Namespace, settings: Settings) -> int:
    if not 0.1 <= args.every <= 3600:
        raise InputError("--every: must be 0.1-3600 seconds", field="--every", rule="range")
    stop = stop_event()
    async with connect_pool(settings) as pool, contextlib.AsyncExitStack() as stack:
        if settings.health_address:
            host, _, port = settings.health_address.rpartition(":")
            health = HealthServer(host, int(port), lambda: relay_readiness(pool, stop))
            await health.start()
            stack.push_async_callback(health.close)
        relay = relay_for(settings, pool, store_for(pool, settings))
        emit(args, {"channel": relay.channel, "every": args.every},
             f"notice relay posting the {relay.channel} notices workers queue")
        sys.stdout.flush()  # a line a supervisor (or a test) waits for
        await relay.run(stop, every=args.every, listen=True)
    return 0


def _extend(sub: Any, add: Any) -> None:
    relay = add("relay", "post the notices workers queue (DUEPROCESS_NOTICE_RELAY=separate) "
                "until stopped")
    relay.add_argument("--every", type=float, default=5.0,
                       help="seconds between sweeps besides the wake-ups (default 5)")


EXTENSIONS.append(_extend)
