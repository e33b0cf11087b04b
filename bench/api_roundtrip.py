"""Decision round trip through the HTTP API against the direct (Temporal) client.

    python bench/api_roundtrip.py [--quick] [--json out.json]

Starts a real `dueprocess dev` (embedded PostgreSQL, Temporal dev server, worker, the
API in-process, local issuer) in a temporary data dir, and times staff decisions
(acknowledge, triage, assign an investigator: each an Update that the workflow validates,
appends and answers) sent by ``ApiClient`` with real tokens over HTTP, and by
``DueProcessClient`` straight to Temporal: p50/p95/p99 with one caller (idle), then with
16 concurrent callers, each on cases of its own. Filing the cases is not timed.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

from dueprocess.cli.connect import connect_client
from dueprocess.devstack.demo import Story
from dueprocess.devstack.issuer import LocalIssuer
from dueprocess.domain import case as dc
from dueprocess.domain.base import Actor, ActorKind
from dueprocess.domain.case.values import TriageOutcome
from dueprocess.services.api_client import ApiClient
from dueprocess.services.client import CaseClient, DueProcessClient
from dueprocess.services.policyfile import load_policy_file
from dueprocess.settings import Settings

CONCURRENT = 16


@contextlib.contextmanager
def dev_server(data_dir: Path) -> Iterator[dict[str, Any]]:
    """`dueprocess dev` on ``data_dir``; yields what it announced (api_url, issuer...)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("DUEPROCESS_")}
    env["DUEPROCESS_DATA_DIR"] = str(data_dir)
    proc = subprocess.Popen([sys.executable, "-m", "dueprocess", "dev", "--headless",
                             "--api-port", "0"], env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.time() + 180
        info: dict[str, Any] = {}
        while "api_url" not in info:
            if proc.poll() is not None or time.time() > deadline:
                raise RuntimeError(f"dev did not start: {proc.communicate()[1][-2000:]}")
            time.sleep(0.3)
            with contextlib.suppress(OSError, ValueError):
                info = json.loads((data_dir / "dev.json").read_text())
        yield info
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()


async def _one_case(client: CaseClient, samples: list[float]) -> None:
    story = Story(client, load_policy_file(None))
    await story.file()
    officer = story.officer
    for command in (
        dc.AcknowledgeReport(actor=officer, authority="rulebook s.3.2"),
        dc.TriageCase(actor=officer, authority="rulebook s.3.3",
                      outcome=TriageOutcome.INVESTIGATE, reasons="a case to answer"),
        dc.AssignInvestigator(actor=officer, authority="rulebook s.3.4",
                              investigator_id=story.p.investigator),
    ):
        start = time.perf_counter()
        await story.send(command)
        samples.append(time.perf_counter() - start)


async def _run(client: CaseClient, callers: int, cases_each: int) -> list[float]:
    samples: list[float] = []

    async def caller() -> None:
        for _ in range(cases_each):
            await _one_case(client, samples)

    await asyncio.gather(*(caller() for _ in range(callers)))
    return samples


def _summary(samples: list[float]) -> dict[str, float]:
    cuts = statistics.quantiles(samples, n=100, method="inclusive")
    return {"n": len(samples), "p50_ms": cuts[49] * 1000, "p95_ms": cuts[94] * 1000,
            "p99_ms": cuts[98] * 1000, "mean_ms": statistics.fmean(samples) * 1000}


@contextlib.asynccontextmanager
async def clients(data_dir: Path, info: dict[str, Any]) -> AsyncIterator[dict[str, CaseClient]]:
    issuer = LocalIssuer(data_dir, issuer_url=info["oidc_issuer"])

    def token(actor: Actor | None) -> str:
        who = actor or Actor(id="staff-amira", role="case_officer")
        return issuer.mint(who.id, [who.role], system=who.kind != ActorKind.PERSON)

    settings = Settings(data_dir=data_dir)
    async with connect_client(settings) as temporal, ApiClient(info["api_url"], token) as api:
        yield {"api": api, "direct": DueProcessClient(temporal, info["task_queue"])}


async def bench(quick: bool) -> dict[str, Any]:
    idle_cases, busy_cases = (5, 1) if quick else (20, 3)
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="dp-bench-api-") as tmp, \
            dev_server(Path(tmp) / "data") as info:
        async with clients(Path(tmp) / "data", info) as found:
            await _run(found["direct"], 2, 1)  # warm up both paths (connections, caches)
            await _run(found["api"], 2, 1)
            for mode, callers, cases in (("idle", 1, idle_cases),
                                         (f"{CONCURRENT} callers", CONCURRENT, busy_cases)):
                for name in ("direct", "api"):
                    print(f"  {name}, {mode} ...", file=sys.stderr)
                    results[f"{name} / {mode}"] = _summary(
                        await _run(found[name], callers, cases))
    return results


def markdown(results: dict[str, Any]) -> str:
    lines = ["## Decision round trip: HTTP API vs direct client", "",
             "A staff decision (acknowledge, triage, assign) from send to answer, on "
             "`dueprocess dev` (worker and API in one process); the API with a real ES256 "
             "token verified per request. Milliseconds.", "",
             "| client / load | decisions | p50 | p95 | p99 | mean |", "|---|--:|--:|--:|--:|--:|"]
    for name, r in results.items():
        lines.append(f"| {name} | {r['n']} | {r['p50_ms']:.1f} | {r['p95_ms']:.1f} | "
                     f"{r['p99_ms']:.1f} | {r['mean_ms']:.1f} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    results = asyncio.run(bench(args.quick))
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    print(markdown(results))


if __name__ == "__main__":
    main()
