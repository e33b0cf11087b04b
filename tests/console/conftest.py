"""The API (with the console mounted) on uvicorn on a loopback port, in front of a real
worker on the time-skipping Temporal server and a fresh real PostgreSQL database; sign-in
through a real local issuer (authorization code + PKCE), tokens verified by the
production verifier; a real headless Chromium (Debian's package) drives the pages."""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, cast

import asyncpg
import httpx
import pytest
import uvicorn
from dueprocess.activities.notifications import NotificationActivities
from dueprocess.activities.store import EventStoreActivities
from dueprocess.api.app import create_app
from dueprocess.api.deps import ApiConfig, ApiServices
from dueprocess.console.state import ConsoleConfig
from dueprocess.devstack.cast import cast as demo_cast
from dueprocess.devstack.demo import Story
from dueprocess.devstack.issuer import LocalIssuer
from dueprocess.services.client import DueProcessClient
from dueprocess.services.identity import TokenVerifier
from dueprocess.services.notifications import FileSink
from dueprocess.services.policyfile import load_policy_file
from dueprocess.store.eventstore import EventStore
from dueprocess.store.projections import ProjectionRunner, default_projections
from dueprocess.workflows.case import CaseWorkflow
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker
from workflows.conftest import env, test_server_path  # noqa: F401  (fixtures)

QUEUE = "console-tests"
CHROMIUM = os.environ.get("DUEPROCESS_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync"]


def chromium() -> str:
    """Debian's Chromium; the test skips without it, except in CI, where it fails."""
    found = shutil.which(CHROMIUM) or (CHROMIUM if Path(CHROMIUM).exists() else None)
    if found is None:
        message = ("no Chromium found for the browser test: apt-get install chromium "
                   "chromium-driver")
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    return found


@dataclass
class Console:
    url: str  # the API's base URL; the console is at url + "/console"
    issuer: LocalIssuer
    store: EventStore
    pool: asyncpg.Pool
    http: httpx.AsyncClient
    env: WorkflowEnvironment
    story: Story

    async def now(self) -> datetime:
        return await self.env.get_current_time()

    async def project(self) -> None:
        """Bring the case_list projection up to date (My work reads it)."""
        await ProjectionRunner(self.pool, self.store,
                               default_projections(load_policy_file(None))).catch_up()


@pytest.fixture
async def console(env: WorkflowEnvironment, pool: asyncpg.Pool, tmp_path: Path,  # noqa: F811
                  load_rulebook: Any, load_reporter_record: Any,
                  load_respondent_record: Any) -> AsyncIterator[Console]:
    issuer = LocalIssuer(tmp_path / "issuer")
    await issuer.start()
    store = EventStore(pool)
    outbox = FileSink(tmp_path / "outbox")
    notes = NotificationActivities(pool, store, outbox, "test@localhost")
    activities = EventStoreActivities(store)
    assert issuer.url is not None
    services = ApiServices(client=DueProcessClient(env.client, QUEUE), store=store, pool=pool,
                           policy=load_policy_file(None), sinks=[outbox])
    app = create_app(services, TokenVerifier(issuer.url, "dueprocess"),
                     ApiConfig(timeout_seconds=60),
                     ConsoleConfig(issuer=issuer.url, clock=env.get_current_time))

    async def clock() -> datetime:
        return await env.get_current_time()

    story = Story(cast(Any, None), load_policy_file(None), clock=clock)
    issuer.login.offer(demo_cast(story.p))
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning",
                                           lifespan="off"))
    async with Worker(env.client, task_queue=QUEUE, workflows=[CaseWorkflow],
                      activities=[activities.append_events, activities.load_stream,
                                  notes.dispatch_notifications, load_rulebook,
                                  load_reporter_record, load_respondent_record]):
        sock = socket.create_server(("127.0.0.1", 0))
        serving = asyncio.create_task(server.serve(sockets=[sock]))
        url = f"http://127.0.0.1:{sock.getsockname()[1]}"
        async with httpx.AsyncClient(base_url=url, timeout=60) as http:
            yield Console(url=url, issuer=issuer, store=store, pool=pool, http=http, env=env,
                          story=story)
        server.should_exit = True
        await serving
    await issuer.stop()
