"""Server render time of the console's pages with 10,000 cases in the projections.

    python bench/console_render.py [--quick] [--cases N] [--requests N] [--json out.json]

Starts its own PostgreSQL (embedded, default settings) in a temporary directory, migrates
it, and seeds N cases (10,000; 1,000 with ``--quick``) through the event store and the
case-list projection, as a running system would: one case is decided command by command
by the domain's ``decide`` (the tests' happy path: report, acknowledgement, triage,
investigator, notice, disclosure, response, panel, hearing, decision, appeal window,
sanction, closure), then each case is a prefix of that history (so cases sit at every
stage, 30% closed) with its own case id, respondent, investigator (one of 20) and panel
(one of 10), moved in time so it was reported 0-60 days ago; every event is appended with
``EventStore.append`` (personal data sealed per subject) and ``ProjectionRunner`` folds
the case list and the statistics read model. The API with the console is then served by
uvicorn on loopback, the benchmark signs in through the local issuer's page (authorization
code + PKCE) and asks for each page in turn, one request at a time.

Measured: the server's time per request (from the request reaching the ASGI app to the
last byte of the response leaving it: routing, session and token check, queries,
template), and the time seen by the client over loopback HTTP. p50 / p95 / max over the
timed requests after a warm-up. Markdown to stdout, progress to stderr.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import socket
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, cast
from urllib.parse import parse_qsl, urlsplit

import httpx
import uvicorn
from _console_seed import OFFICER, log, seed
from dueprocess.api.app import create_app
from dueprocess.api.deps import ApiConfig, ApiServices
from dueprocess.devstack.issuer import LocalIssuer
from dueprocess.devstack.issuer_login import Person
from dueprocess.domain.statistics import case_statistics
from dueprocess.services.case_list import overdue_sql
from dueprocess.services.client import DueProcessClient
from dueprocess.services.identity import TokenVerifier
from dueprocess.services.policyfile import load_policy_file
from dueprocess.services.statistics import case_streams
from dueprocess.store.db import create_pool
from dueprocess.store.eventstore import EventStore
from dueprocess.store.migrations import migrate
from dueprocess.store.projections import (
    CaseListProjection,
    CaseStatisticsProjection,
    ProjectionRunner,
)
from eventstore import Server  # bench/eventstore.py: our own PostgreSQL

INVESTIGATOR = "inv-3"


# -- timing ------------------------------------------------------------------------------


class Timed:
    """ASGI wrapper: the server's time per request, to the last byte of the response."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.last: float | None = None

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()

        async def timed_send(message: Any) -> None:
            await send(message)
            if message["type"] == "http.response.body" and not message.get("more_body"):
                self.last = time.perf_counter() - started

        await self.app(scope, receive, timed_send)


async def sign_in(http: httpx.AsyncClient, subject: str) -> None:
    """The browser's way in: the console sends us to the issuer's page, we pick a person."""
    page = await http.get("/console/signin?start=1", follow_redirects=True)
    fields = dict(parse_qsl(urlsplit(str(page.url)).query))
    back = await http.post(str(page.url).split("?")[0], data=fields | {"subject": subject},
                           follow_redirects=True)
    assert back.status_code == 200 and back.url.path == "/console/work", back.text[:300]


def summary(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    p95 = ordered[max(0, round(0.95 * len(ordered)) - 1)]
    return {"n": len(values), "p50_ms": statistics.median(values) * 1000,
            "p95_ms": p95 * 1000, "max_ms": ordered[-1] * 1000}


async def measure(http: httpx.AsyncClient, timed: Timed, paths: Callable[[int], str],
                  requests: int, warmup: int = 5) -> dict[str, Any]:
    server, client = [], []
    for i in range(warmup + requests):
        started = time.perf_counter()
        response = await http.get(paths(i))
        elapsed = time.perf_counter() - started
        if response.status_code != 200:
            log(f"{paths(i)}: {response.status_code} {response.text[:200]}")
            return {"failed": f"HTTP {response.status_code} after {elapsed:.1f} s"}
        if i >= warmup:
            assert timed.last is not None
            server.append(timed.last)
            client.append(elapsed)
    return {"server": summary(server), "client": summary(client)}


# -- main --------------------------------------------------------------------------------


async def run(args: argparse.Namespace, data_dir: Path) -> dict[str, Any]:
    pg = Server(data_dir)
    dsn = pg.start()
    try:
        return await _run(args, dsn, data_dir)
    finally:
        pg.stop()


async def _run(args: argparse.Namespace, dsn: str, data_dir: Path) -> dict[str, Any]:
    pool = await create_pool(dsn, min_size=2, max_size=8)
    async with pool.acquire() as conn:
        await migrate(conn)
    store = EventStore(pool)
    began = time.perf_counter()
    ids = await seed(store, args.cases)
    seeded = time.perf_counter() - began
    log(f"seeded {len(ids)} cases in {seeded:.0f} s; projecting")
    began = time.perf_counter()
    await ProjectionRunner(pool, store,
                           [CaseListProjection(), CaseStatisticsProjection()]).catch_up()
    projected = time.perf_counter() - began
    counts = dict((await pool.fetch(
        f"""SELECT count(*) FILTER (WHERE stage <> 'closed') AS open,
                  count(*) FILTER (WHERE stage <> 'closed' AND {overdue_sql("now()")})
                      AS overdue, (SELECT count(*) FROM events) AS events
             FROM case_list"""))[0])
    log(f"projected in {projected:.0f} s: {counts}")

    issuer = LocalIssuer(data_dir / "issuer", people=[
        Person(OFFICER, ("case_officer",), "Officer"),
        Person(INVESTIGATOR, ("investigator",), "Investigator")])
    await issuer.start()
    assert issuer.url is not None
    services = ApiServices(client=DueProcessClient(cast(Any, None), "bench"), store=store,
                           pool=pool, policy=load_policy_file(None))
    # The API's default request limit is 30 s; the statistics page needs more at this size.
    timed = Timed(create_app(services, TokenVerifier(issuer.url, "dueprocess"),
                             ApiConfig(timeout_seconds=args.timeout)))
    server = uvicorn.Server(uvicorn.Config(timed, host="127.0.0.1", port=0,
                                           log_level="warning", lifespan="off"))
    sock = socket.create_server(("127.0.0.1", 0))
    serving = asyncio.create_task(server.serve(sockets=[sock]))
    url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    rng = random.Random(7)
    open_ids = [r["case_id"] for r in await pool.fetch(
        "SELECT case_id FROM case_list WHERE stage <> 'closed' ORDER BY case_id")]
    pages: dict[str, dict[str, Any]] = {}
    try:
        async with httpx.AsyncClient(base_url=url, timeout=120) as officer, \
                httpx.AsyncClient(base_url=url, timeout=120) as investigator:
            await sign_in(officer, OFFICER)
            await sign_in(investigator, INVESTIGATOR)
            n = args.requests
            plan: list[tuple[str, httpx.AsyncClient, Callable[[int], str], int, int]] = [
                ("My work (case officer: every open case)", officer,
                 lambda i: "/console/work", n, 5),
                ("My work (investigator: assigned cases)", investigator,
                 lambda i: "/console/work", n, 5),
                ("Case page (case officer, a random open case)", officer,
                 lambda i: f"/console/cases/{rng.choice(open_ids)}", n, 5),
                ("Audit of a case (case officer)", officer,
                 lambda i: f"/console/audit/cases/{rng.choice(open_ids)}", n, 5),
                ("Statistics (summed from the case_statistics read model)", officer,
                 lambda i: "/console/stats", n, 5),
            ]
            for name, http, paths, count, warmup in plan:
                log(f"timing {name}: {count} requests")
                pages[name] = await measure(http, timed, paths, count, warmup)
                log(f"{name}: {json.dumps(pages[name])}")
    finally:
        server.should_exit = True
        await serving
        await issuer.stop()
    parts = await statistics_parts(store)
    await pool.close()
    return {"cases": args.cases, "requests": args.requests, "seed_seconds": seeded,
            "projection_seconds": projected, "case_list": counts, "pages": pages,
            "statistics_parts": parts}


async def statistics_parts(store: EventStore) -> dict[str, float]:
    """What the statistics cost from the log (``log_statistics``'s way, which the page
    took before the read model): reading (and decrypting) every case stream, then
    folding them."""
    began = time.perf_counter()
    streams = {stream_id: events async for stream_id, events in case_streams(store)}
    read = time.perf_counter() - began
    began = time.perf_counter()
    case_statistics(streams)
    folded = time.perf_counter() - began
    log(f"statistics: read {read:.1f} s, folded {folded:.1f} s")
    return {"read_seconds": read, "fold_seconds": folded,
            "events": float(sum(len(v) for v in streams.values()))}


def markdown(result: dict[str, Any]) -> str:
    c = result["case_list"]
    rows = "\n".join(_row(name, r) for name, r in result["pages"].items())
    parts = result["statistics_parts"]
    return f"""## Console: server render time

{result['cases']:,} cases seeded through the event store ({c['events']:,} events, in
{result['seed_seconds']:.0f} s) and the projections ({result['projection_seconds']:.0f} s):
{c['open']:,} open, {c['overdue']:,} of them overdue. One request at a time over loopback
HTTP, signed in through the local issuer; times in milliseconds.

| page | requests | server p50 | server p95 | server max | client p95 |
|---|--:|--:|--:|--:|--:|
{rows}

The statistics page sums the case_statistics read model. From the log instead (as it
did before), outside HTTP: reading the {parts['events']:,.0f} case events (decrypted)
{parts['read_seconds']:.1f} s, folding them {parts['fold_seconds']:.1f} s.
"""


def _row(name: str, r: dict[str, Any]) -> str:
    if "failed" in r:
        return f"| {name} | - | - | **{r['failed']}** | - | - |"
    s, c = r["server"], r["client"]
    return (f"| {name} | {s['n']} | {s['p50_ms']:.1f} | **{s['p95_ms']:.1f}** | "
            f"{s['max_ms']:.1f} | {c['p95_ms']:.1f} |")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="1,000 cases, 40 requests")
    parser.add_argument("--cases", type=int, default=None)
    parser.add_argument("--requests", type=int, default=None)
    parser.add_argument("--json", type=Path, help="write every measurement to this file")
    parser.add_argument("--timeout", type=float, default=600.0,
                        help="the API's request limit in seconds (its default is 30)")
    args = parser.parse_args()
    args.cases = args.cases or (1_000 if args.quick else 10_000)
    args.requests = args.requests or (40 if args.quick else 200)
    with tempfile.TemporaryDirectory(prefix="dueprocess-bench-") as tmp:
        result = asyncio.run(run(args, Path(tmp)))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n")
    print(markdown(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
