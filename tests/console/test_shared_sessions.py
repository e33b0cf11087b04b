"""Console sessions shared by API replicas (console/sessions.py, the console_sessions
migration): two API apps on two real uvicorn servers over real HTTP, each with its own
pool logged in as the application role, sharing one real PostgreSQL database and the
session secret; sign-in through the local issuer's form (given / when / then)."""

from __future__ import annotations

import asyncio
import base64
import json
import re
import socket
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from html import unescape
from pathlib import Path

import asyncpg
import httpx
import pytest
import uvicorn
from dueprocess.api.app import create_app
from dueprocess.api.deps import ApiConfig, ApiServices
from dueprocess.console.app import COOKIE
from dueprocess.console.sessions import SessionKeys, Sessions
from dueprocess.console.state import ConsoleConfig
from dueprocess.devstack.cast import staff_cast
from dueprocess.devstack.issuer import LocalIssuer
from dueprocess.services.client import DueProcessClient
from dueprocess.services.identity import TokenVerifier
from dueprocess.services.policyfile import load_policy_file
from dueprocess.store.db import create_pool
from dueprocess.store.eventstore import EventStore
from fixtures.roles import app_login
from playwright.async_api import async_playwright
from temporalio.testing import WorkflowEnvironment

from .conftest import CHROMIUM_ARGS, chromium

SECRET = "the-replicas-shared-console-session-secret"
OFFICER = "staff-amira"


class Site:
    """The replicas' shared ground: the issuer, the database (as the application role)
    and the Temporal client every replica's services use."""

    def __init__(self, issuer: LocalIssuer, app_dsn: str, env: WorkflowEnvironment) -> None:
        self.issuer = issuer
        self.app_dsn = app_dsn
        self.env = env

    @asynccontextmanager
    async def replica(self, secret: str = SECRET) -> AsyncIterator[str]:
        """One API replica (its own pool, app and uvicorn server); yields its URL."""
        assert self.issuer.url is not None
        db = await create_pool(self.app_dsn, max_size=3)
        services = ApiServices(client=DueProcessClient(self.env.client, "shared-sessions"),
                               store=EventStore(db), pool=db, policy=load_policy_file(None))
        app = create_app(services, TokenVerifier(self.issuer.url, "dueprocess"),
                         ApiConfig(timeout_seconds=60),
                         ConsoleConfig(issuer=self.issuer.url, session_secret=secret))
        server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
        sock = socket.create_server(("127.0.0.1", 0))
        serving = asyncio.create_task(server.serve(sockets=[sock]))
        try:
            yield f"http://127.0.0.1:{sock.getsockname()[1]}"
        finally:
            server.should_exit = True
            await serving
            await db.close()


@pytest.fixture
async def site(env: WorkflowEnvironment, pool: asyncpg.Pool, db_dsn: str,
               tmp_path: Path) -> AsyncIterator[Site]:
    issuer = LocalIssuer(tmp_path / "issuer", people=staff_cast())
    await issuer.start()
    try:
        async with app_login(pool, db_dsn) as app_dsn:
            yield Site(issuer, app_dsn, env)
    finally:
        await issuer.stop()


async def _sign_in(http: httpx.AsyncClient, issuer: LocalIssuer, start: str,
                   finish: str) -> None:
    """Sign in as the case officer: the flow starts at replica ``start`` and the issuer's
    redirect back is answered by replica ``finish``."""
    begun = await http.get(f"{start}/console/signin", params={"start": "1"})
    page = await http.get(begun.headers["location"])
    form = {k: unescape(v) for k, v in re.findall(r'name="([^"]+)" value="([^"]*)"',
                                                   page.text)}
    back = await http.post(f"{issuer.url}/authorize", data=form | {"subject": OFFICER})
    callback = back.headers["location"]
    assert callback.startswith(f"{start}/console/callback?")
    done = await http.get(finish + callback.removeprefix(start))
    assert done.status_code == 303 and done.headers["location"] == "/console/work", done.text


async def _signed_in(http: httpx.AsyncClient, replica: str) -> str | None:
    """The session's CSRF token when ``replica`` serves the case officer's page, else None
    (sent to sign in)."""
    page = await http.get(f"{replica}/console/work")
    if page.status_code == 303:
        assert page.headers["location"] == "/console/signin"
        return None
    assert page.status_code == 200 and f'id="who-subject">{OFFICER}<' in page.text
    found = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert found is not None
    return found.group(1)


def _copy(http: httpx.AsyncClient) -> httpx.AsyncClient:
    """Another client holding the same session cookie (a second tab, or a stolen copy)."""
    return httpx.AsyncClient(cookies={COOKIE: http.cookies[COOKIE]})


async def test_replicas_share_sessions_and_signing_out_on_one_ends_it_on_both(
        site: Site, pool: asyncpg.Pool) -> None:
    async with site.replica() as one, site.replica() as two, httpx.AsyncClient() as http:
        # given a sign-in begun on one replica and completed on the other
        await _sign_in(http, site.issuer, start=one, finish=two)
        # then both replicas serve the session, with the same CSRF token
        csrf = await _signed_in(http, one)
        assert csrf is not None and await _signed_in(http, two) == csrf
        # and neither the cookie nor the database holds the token or the session id
        body = http.cookies[COOKIE].split(".")[0]
        cookie = json.loads(base64.b64decode(body + "=" * (-len(body) % 4)))
        assert set(cookie) == {"sid"}
        [row] = await pool.fetch("SELECT session_hash, sealed_token FROM console_sessions")
        assert cookie["sid"].encode() not in row["session_hash"] + row["sealed_token"]
        assert b"eyJ" not in row["sealed_token"]  # no JWT in clear
        # and a form without the session's CSRF token is refused by either
        refused = await http.post(f"{two}/console/signout", data={"csrf": "forged"})
        assert refused.status_code == 403
        async with _copy(http) as other_tab:
            # when the person signs out on the second replica
            out = await http.post(f"{two}/console/signout", data={"csrf": csrf})
            assert out.status_code == 303
            # then the session is gone from the database, and a copy of its cookie is
            # refused by both replicas
            assert await pool.fetchval("SELECT count(*) FROM console_sessions") == 0
            assert await _signed_in(other_tab, one) is None
            assert await _signed_in(other_tab, two) is None


async def test_a_browser_signed_in_on_one_replica_is_served_and_signed_out_by_another(
        site: Site) -> None:
    executable = chromium()
    async with site.replica() as one, site.replica() as two, async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        try:
            page = await browser.new_page()
            # given the case officer signed in, in a real browser, on one replica
            await page.goto(f"{one}/console/work")
            await page.click("#sign-in")
            async with page.expect_navigation(url="**/console/work"):
                await page.click(f"button[value='{OFFICER}']")
            # when the browser goes to the other replica, it is signed in there too
            await page.goto(f"{two}/console/work")
            assert await page.text_content("#who-subject") == OFFICER
            # and when it signs out there, the first replica sends it to sign in
            async with page.expect_navigation():
                await page.click("button:text('Sign out')")
            await page.goto(f"{one}/console/work")
            assert page.url == f"{one}/console/signin"
        finally:
            await browser.close()


async def test_an_expired_session_is_refused_by_every_replica(
        site: Site, pool: asyncpg.Pool) -> None:
    async with site.replica() as one, site.replica() as two, httpx.AsyncClient() as http:
        # given a live session
        await _sign_in(http, site.issuer, start=one, finish=one)
        assert await _signed_in(http, two) is not None
        # when its time is up (moved into the past in the database: no waiting)
        await pool.execute(
            "UPDATE console_sessions SET expires_at = now() - interval '1 second'")
        # then neither replica serves it
        assert await _signed_in(http, one) is None and await _signed_in(http, two) is None
        # and the next sign-in clears it away
        async with httpx.AsyncClient() as later:
            await _sign_in(later, site.issuer, start=two, finish=two)
        assert await pool.fetchval("SELECT count(*) FROM console_sessions") == 1


async def test_sessions_outlive_a_restart_of_every_replica_but_not_a_new_secret(
        site: Site) -> None:
    async with httpx.AsyncClient() as http:
        # given a session opened on a replica that then stops
        async with site.replica() as before:
            await _sign_in(http, site.issuer, start=before, finish=before)
            csrf = await _signed_in(http, before)
        # when a new replica starts with the same secret, it serves the session
        async with site.replica() as after:
            assert await _signed_in(http, after) == csrf
        # but one configured with another secret does not
        async with site.replica("another-secret-another-secret-another") as stranger:
            assert await _signed_in(http, stranger) is None


async def test_the_database_ends_sessions_as_the_application_role_may_only_ask(
        site: Site) -> None:
    db = await create_pool(site.app_dsn, max_size=1)
    try:
        sessions = Sessions(db, SessionKeys(SECRET), timedelta(hours=8))
        # given a session for a token that expired before it opened, and a live one
        stale = await sessions.open("a.stale.token", time.time() - 60)
        live = await sessions.open("a.live.token", None)
        # then only the live one is there, with its token; another secret opens none
        assert await sessions.get(stale) is None
        found = await sessions.get(live)
        assert found is not None and found.token == "a.live.token" and found.role is None
        other = Sessions(db, SessionKeys("x" * 40), timedelta(hours=8))
        assert await other.get(live) is None
        # and the role picked is kept, until sign-out ends the session
        await sessions.pick_role(live, "investigator")
        assert (await sessions.get(live) or found).role == "investigator"
        await sessions.close(live)
        assert await sessions.get(live) is None
        # and the application role cannot read or write the table itself
        for sql in ("SELECT * FROM console_sessions",
                    "UPDATE console_sessions SET expires_at = now() + interval '1 day'",
                    "DELETE FROM console_sessions"):
            with pytest.raises(asyncpg.InsufficientPrivilegeError):
                await db.execute(sql)
    finally:
        await db.close()
