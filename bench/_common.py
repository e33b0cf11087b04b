"""Shared by the scale, lag, append, decision and memory benchmarks: the embedded
PostgreSQL, the machine, timing helpers, and a log of real cases grown by concurrent
``EventStore.append`` calls (not a script by itself: run.py skips ``_`` modules)."""

from __future__ import annotations

import asyncio
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
# Test data (cases decided by the domain) lives in tests/fixtures; the benchmarks reuse it.
sys.path.insert(0, str(BENCH.parent / "tests"))

import asyncpg  # noqa: E402
from dueprocess.domain.envelope import NewEvent  # noqa: E402
from dueprocess.domain.streams import case_stream, member_stream  # noqa: E402
from dueprocess.store.db import Pool  # noqa: E402
from dueprocess.store.eventstore import EventStore  # noqa: E402
from fixtures.caselog import CLOSED, OPEN, case_appends, joined  # noqa: E402


def mib(n: float) -> str:
    """Bytes as MiB, for the tables."""
    return f"{n / 2**20:,.0f}"


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def machine_text() -> str:
    """``lscpu`` (the lines that matter) and ``free -h``, as run on this machine."""
    keep = ("Model name", "CPU(s):", "Thread(s) per core", "Core(s) per socket", "L3 cache",
            "Hypervisor vendor")
    try:
        cpu = [line for line in subprocess.run(["lscpu"], capture_output=True, text=True,
                                               check=False).stdout.splitlines()
               if line.strip().startswith(keep)]
        mem = subprocess.run(["free", "-h"], capture_output=True, text=True,
                             check=False).stdout.splitlines()
    except OSError:
        return "lscpu/free not available"
    return "\n".join([*cpu, *mem])


def load_average() -> str:
    one, five, fifteen = os.getloadavg()
    return f"{one:.1f} / {five:.1f} / {fifteen:.1f}"


def rss_bytes(pid: int | str = "self") -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return 0


class PeakRss:
    """Peak resident set of this process while the block runs (Linux: the high-water mark
    is reset on entry through /proc/self/clear_refs, so nothing before counts)."""

    def __enter__(self) -> PeakRss:
        self.before = rss_bytes()
        try:
            Path("/proc/self/clear_refs").write_text("5")
        except OSError:
            pass
        return self

    def __exit__(self, *exc: object) -> None:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                self.peak = int(line.split()[1]) * 1024
        self.after = rss_bytes()


def percentile(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    k = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[k]


def summary_ms(seconds: Sequence[float]) -> dict[str, float]:
    ms = [s * 1000 for s in seconds]
    return {"n": len(ms), "p50": statistics.median(ms), "p95": percentile(ms, 95),
            "p99": percentile(ms, 99), "max": max(ms)}


async def timed(call: Callable[[], Awaitable[Any]]) -> tuple[float, Any]:
    start = time.perf_counter()
    result = await call()
    return time.perf_counter() - start, result


async def generation_pool(dsn: str, size: int = 16) -> Pool:
    """Connections that commit without waiting for the WAL flush (generation only: what
    they write is exactly what a durable commit writes)."""
    pool: Pool = await asyncpg.create_pool(
        dsn, min_size=0, max_size=size, server_settings={"synchronous_commit": "off"})
    return pool


# -- a growing log of real cases ---------------------------------------------------------


def case_people(n: int) -> dict[str, str]:
    """Member m-n is the respondent of case n, the complainant of case n-1 and the witness
    of case n-2: every member is in three cases, however long the log."""
    return {"respondent": f"m-{n}", "complainant": f"m-{n + 1}", "witness": f"m-{n + 2}"}


def is_open(n: int) -> bool:
    return n % 10 == 0  # one case in ten still open (waiting for its hearing)


def erasable(n: int) -> bool:
    """m-n's three cases (n, n-1, n-2) are all closed."""
    return n >= 2 and not any(is_open(k) for k in (n, n - 1, n - 2))


@dataclass
class CaseLog:
    """Cases 0, 1, 2, ... each with its respondent's member stream, ``writers`` cases at a
    time. ``store`` should write through a pool with ``synchronous_commit=off``
    (``generation_pool``): the same rows, without waiting on a WAL flush per commit
    (about 20 ms each on this shared VM)."""

    store: EventStore
    next_case: int = 0
    events: int = 0
    appends: int = 0
    seconds: float = 0.0
    per_case: list[int] = field(default_factory=list)

    def plan(self, n: int) -> list[tuple[str, list[NewEvent]]]:
        """The member's join, then the whole case in one append (the bulk path: the same
        events, chain and person index as one append per decision, 14 times fewer
        commits)."""
        template = OPEN if is_open(n) else CLOSED
        case_id = f"c-{n:07d}"
        steps = case_appends(template, case_id, case_people(n), timedelta(minutes=n))
        return [(member_stream(f"m-{n}"), joined(f"m-{n}")),
                (case_stream(case_id), [e for events in steps for e in events])]

    async def grow_to(self, target_events: int, writers: int = 16) -> None:
        start = time.perf_counter()
        reported = self.events

        async def writer() -> None:
            nonlocal reported
            while self.events < target_events:
                n = self.next_case
                self.next_case += 1
                versions: dict[str, int] = {}
                for stream, events in self.plan(n):
                    version = versions.get(stream, 0)
                    await self.store.append(stream, version, events)
                    versions[stream] = version + len(events)
                    self.events += len(events)
                    self.appends += 1
                if self.events - reported >= 50_000:
                    reported = self.events
                    rate = (self.events) / (self.seconds + time.perf_counter() - start)
                    log(f"  log: {self.events:,} events ({rate:,.0f} events/s)")

        await asyncio.gather(*(writer() for _ in range(writers)))
        self.seconds += time.perf_counter() - start
