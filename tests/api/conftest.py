"""The HTTP API on uvicorn on a loopback port, in front of a real worker on the
time-skipping Temporal server and a fresh real PostgreSQL database; tokens from a real
local issuer, verified by the production verifier."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
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
from dueprocess.devstack.demo import Story
from dueprocess.devstack.issuer import LocalIssuer
from dueprocess.services.client import DueProcessClient
from dueprocess.services.identity import TokenVerifier
from dueprocess.services.notifications import FileSink
from dueprocess.services.policyfile import load_policy_file
from dueprocess.store.eventstore import EventStore
from dueprocess.workflows.case import CaseWorkflow
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Interceptor, Worker
from workflows.conftest import env, test_server_path  # noqa: F401  (fixtures)

QUEUE = "api-tests"
MAX_BODY = 64 * 1024  # small, so the size limit is cheap to exceed


@dataclass
class Api:
    url: str
    issuer: LocalIssuer
    store: EventStore
    pool: asyncpg.Pool
    http: httpx.AsyncClient
    env: WorkflowEnvironment
    services: ApiServices

    def token(self, subject: str, *roles: str, system: bool = False, **claims: Any) -> str:
        return self.issuer.mint(subject, list(roles), system=system, **claims)

    def auth(self, subject: str, *roles: str, system: bool = False,
             role: str | None = None, **headers: str) -> dict[str, str]:
        found = {"Authorization": f"Bearer {self.token(subject, *roles, system=system)}"}
        if role:
            found["X-Dueprocess-Role"] = role
        return found | headers

    async def event_count(self) -> int:
        return int(await self.pool.fetchval("SELECT count(*) FROM events"))

    async def story(self) -> Story:
        async def clock() -> datetime:
            return await self.env.get_current_time()

        return Story(cast(Any, None), load_policy_file(None), clock=clock)


@pytest.fixture
async def issuer(tmp_path: Path) -> AsyncIterator[LocalIssuer]:
    local = LocalIssuer(tmp_path / "issuer")
    await local.start()
    yield local
    await local.stop()


@asynccontextmanager
async def serving(
    environment: WorkflowEnvironment, temporal: Client, pool: asyncpg.Pool, tmp_path: Path,
    rulebook_activities: Sequence[Any], issuer: LocalIssuer, *,
    interceptors: Sequence[Interceptor] = (),
    config: ApiConfig | None = None, **services: Any,
) -> AsyncIterator[Api]:
    """The API on uvicorn over ``temporal`` (a client of ``environment``), with a worker on the
    same client (``rulebook_activities``: the conftest's load_rulebook and
    load_reporter_record); ``services`` are further ApiServices fields (codec, meter)."""
    store = EventStore(pool)
    outbox = FileSink(tmp_path / "outbox")
    notes = NotificationActivities(pool, store, outbox, "test@localhost")
    activities = EventStoreActivities(store)
    assert issuer.url is not None
    given = ApiServices(client=DueProcessClient(temporal, QUEUE), store=store, pool=pool,
                        policy=load_policy_file(None), sinks=[outbox], **services)
    app = create_app(given, TokenVerifier(issuer.url, "dueprocess"),
                     config or ApiConfig(max_body_bytes=MAX_BODY, timeout_seconds=60))
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning",
                                           lifespan="off"))
    async with Worker(temporal, task_queue=QUEUE, workflows=[CaseWorkflow],
                      activities=[activities.append_events, activities.load_stream,
                                  notes.dispatch_notifications, *rulebook_activities],
                      interceptors=interceptors):
        # Listening before uvicorn starts: connections queue until it accepts them.
        sock = socket.create_server(("127.0.0.1", 0))
        serving = asyncio.create_task(server.serve(sockets=[sock]))
        port = sock.getsockname()[1]
        url = f"http://127.0.0.1:{port}"
        async with httpx.AsyncClient(base_url=url, timeout=60) as http:
            yield Api(url=url, issuer=issuer, store=store, pool=pool, http=http,
                      env=environment, services=given)
        server.should_exit = True
        await serving


@pytest.fixture
async def api(env: WorkflowEnvironment, pool: asyncpg.Pool, tmp_path: Path,  # noqa: F811
              load_rulebook: Any, load_reporter_record: Any, load_respondent_record: Any,
              issuer: LocalIssuer) -> AsyncIterator[Api]:
    async with serving(env, env.client, pool, tmp_path,
                       [load_rulebook, load_reporter_record, load_respondent_record],
                       issuer) as found:
        yield found
