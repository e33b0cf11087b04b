"""The auditor and statistics pages in a real headless Chromium (Debian's, driven by
Playwright), against the API and console on uvicorn, a real worker on the time-skipping
Temporal server, a real PostgreSQL, and sign-in through the local issuer's page.

The demo case runs to closure first (interim suspension, eight weeks' suspension, appeal
allowed, reinstatement), and someone with no part in it reads the file by breaking the
glass. Screenshots of the pages go to docs/screenshots/.
"""

from __future__ import annotations

import asyncio
import csv
import io
import os
import shutil
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
import httpx
import pytest
import uvicorn
from dueprocess.api.app import create_app
from dueprocess.api.deps import ApiServices
from dueprocess.console.stats_export import from_csv, from_json
from dueprocess.devstack.demo import MemberRecorder, Story, record_membership
from dueprocess.devstack.issuer import LocalIssuer
from dueprocess.devstack.issuer_login import Person
from dueprocess.domain.membership.member import MemberCommand
from dueprocess.services.client import DueProcessClient
from dueprocess.services.identity import TokenVerifier
from dueprocess.services.members import MemberService
from dueprocess.services.policyfile import load_policy_file
from dueprocess.store.eventstore import EventStore
from dueprocess.store.projections import ProjectionRunner, default_projections
from playwright.async_api import Browser, Page, async_playwright
from temporalio.testing import WorkflowEnvironment
from workflows.conftest import client, env, story, test_server_path  # noqa: F401 (fixtures)

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
AUDITOR = "audit-olu"
OUTSIDER = "inv-outside"  # an investigator with no part in the case

if not Path(CHROMIUM).exists() and os.environ.get("CI") != "true":
    pytest.skip("no Chromium found: apt-get install chromium chromium-driver",
                allow_module_level=True)


@dataclass
class Site:
    url: str
    issuer: LocalIssuer
    http: httpx.AsyncClient


async def _closed_case(story: Story, env: WorkflowEnvironment) -> None:  # noqa: F811
    await story.file()
    await story.acknowledge_and_investigate()
    await story.suspend_pending_hearing()
    await story.notify_and_disclose()
    await story.respond()
    hearing_at = await story.schedule_hearing(timedelta(days=15))
    await env.sleep((hearing_at - await env.get_current_time()).total_seconds() + 60)
    await story.hold_hearing_and_suspend()
    await story.appeal_allowed_and_reinstate()
    await story.close()
    await env.client.get_workflow_handle(story.case_id).result()


@pytest.fixture
async def site(story: Story, client: DueProcessClient, pool: asyncpg.Pool,  # noqa: F811
               store: EventStore, tmp_path: Path) -> AsyncIterator[Site]:
    people = [Person(AUDITOR, ("auditor",), "Olu (auditor)"),
              Person(story.p.respondent, ("respondent",), "Daniel Okafor (respondent)"),
              Person(OUTSIDER, ("investigator",), "Outside (investigator)")]
    issuer = LocalIssuer(tmp_path / "issuer", people=people)
    await issuer.start()
    assert issuer.url is not None
    services = ApiServices(client=client, store=store, pool=pool,
                           policy=load_policy_file(None))
    app = create_app(services, TokenVerifier(issuer.url, "dueprocess"))
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning",
                                           lifespan="off"))
    sock = socket.create_server(("127.0.0.1", 0))
    serving = asyncio.create_task(server.serve(sockets=[sock]))
    url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    async with httpx.AsyncClient(base_url=url, timeout=60) as http:
        yield Site(url=url, issuer=issuer, http=http)
    server.should_exit = True
    await serving
    await issuer.stop()


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    async with async_playwright() as pw:
        found = await pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield found
        await found.close()


async def sign_in(browser: Browser, site: Site, subject: str) -> Page:
    context = await browser.new_context(viewport={"width": 1280, "height": 900})
    page = await context.new_page()
    await page.goto(f"{site.url}/console/signin")
    await page.click("#sign-in")
    await page.click(f'button[name="subject"][value="{subject}"]')
    await page.wait_for_url(f"{site.url}/console/work")
    return page


def _read(path: Path) -> str:
    return path.read_text("utf-8")


async def every_control_is_labelled(page: Page) -> None:
    unlabelled = await page.eval_on_selector_all(
        "input:not([type=hidden]), select, textarea",
        "els => els.filter(e => !e.labels || e.labels.length === 0).map(e => e.name)")
    assert unlabelled == []


def _recorder(service: MemberService) -> MemberRecorder:
    """Membership facts straight into the store (the demo sends them over the API)."""
    async def record(member_id: str, command: MemberCommand) -> object:
        return await service.record(member_id, command, datetime.now(UTC))
    return record


async def test_the_auditor_sees_checks_access_standing_and_statistics(
        story: Story, env: WorkflowEnvironment, store: EventStore,  # noqa: F811
        pool: asyncpg.Pool, site: Site, browser: Browser) -> None:
    # given the demo case closed after an appeal, its respondent a member since 2015
    await record_membership(_recorder(MemberService(store, story.policy)), story)
    await _closed_case(story, env)
    await ProjectionRunner(pool, store, default_projections(story.policy)).catch_up()
    # and an investigator with no part in it who read the file by breaking the glass
    outsider = site.issuer.mint(OUTSIDER, ["investigator"])
    read = await site.http.get(f"/records/cases/{story.case_id}", headers={
        "Authorization": f"Bearer {outsider}",
        "X-Break-Glass-Purpose": "checking a complaint about delay"})
    assert read.status_code == 200, read.text
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    # when the auditor signs in and audits the case
    page = await sign_in(browser, site, AUDITOR)
    await page.goto(f"{site.url}/console/audit")
    await every_control_is_labelled(page)
    await page.fill("#audit-case-id", story.case_id)
    await page.keyboard.press("Enter")  # the form works from the keyboard
    await page.wait_for_url(f"**/console/audit/cases/{story.case_id}")
    # then every check has a written result, and the break-glass read is flagged
    results = await page.locator("#checks tbody tr td:first-child").all_inner_texts()
    assert results and set(results) <= {"Pass", "Fail", "Not applicable"}
    assert "Pass" in results
    verdict = await page.inner_text("#audit-verdict")
    assert ("All checks pass" in verdict) == ("Fail" not in results)
    flagged = page.locator("#access-log tr.flagged")
    assert await flagged.count() == 1
    assert "BREAK-GLASS" in await flagged.inner_text()
    assert "checking a complaint about delay" in await flagged.inner_text()
    # and every offending event links to its row in the timeline
    for href in await page.eval_on_selector_all(
            "#checks a.offending", "links => links.map(a => a.getAttribute('href'))"):
        assert await page.locator(href).count() == 1
    assert await page.locator("#audit-timeline tbody tr").count() >= 10
    await page.screenshot(path=str(SCREENSHOTS / "audit-checks.png"))
    await page.goto(page.url.split("#")[0] + "#access")
    await page.screenshot(path=str(SCREENSHOTS / "audit-access-log.png"))

    # when the auditor asks for the respondent's standing, with a typo first
    await page.goto(f"{site.url}/console/audit/member")
    await every_control_is_labelled(page)
    await page.fill("#standing-member", "two words")
    await page.click("#standing-form button[type=submit]")
    # then the error names the field
    error = await page.inner_text("#standing-member-error")
    assert error.startswith("member id:")
    assert await page.get_attribute("#standing-member", "aria-invalid") == "true"
    await page.fill("#standing-member", story.p.respondent)
    # (the time-skipping server's clock is weeks ahead of the wall clock)
    after = (await env.get_current_time() + timedelta(days=1)).date().isoformat()
    await page.fill("#standing-as-of", after)
    await page.click("#standing-form button[type=submit]")
    # then the member stands as a member with every right: the suspension was voided
    assert await page.inner_text("#standing-status") == "member"
    assert await page.inner_text("#standing-removed") == "none"
    await page.screenshot(path=str(SCREENSHOTS / "audit-standing.png"), full_page=True)
    picture = page.locator("#standing svg[role=img]")
    assert await picture.count() == 1
    # (the appeal was allowed before the sanction took effect: only the interim measure
    # was ever in force; a voided sanction is drawn as tests/console/test_rights_picture.py
    # shows)
    words = await picture.locator("text").all_text_contents()
    assert {"interim measure", "interim suspended", "removed", "held"} <= set(words)
    caption = await page.inner_text("#picture-caption")
    assert "interim suspended, vote, stand for office, attend removed" in caption

    # when the auditor opens the statistics
    await page.click("nav >> text=Statistics")
    # then each chart is an image with its figures written out
    assert await page.locator(".chart svg[role=img]").count() >= 5
    assert "100% (1 of 1)" in await page.inner_text("#stats-appeals-card")
    await page.screenshot(path=str(SCREENSHOTS / "statistics.png"), full_page=True)
    # and the CSV download holds the same figures as the JSON one
    async with page.expect_download() as csv_download:
        await page.click("#stats-csv")
    csv_text = await asyncio.to_thread(_read, await (await csv_download.value).path())
    async with page.expect_download() as json_download:
        await page.click("#stats-json")
    json_text = await asyncio.to_thread(_read, await (await json_download.value).path())
    assert from_csv(csv_text) == from_json(json_text)
    assert ["cases", "", "", "1"] in list(csv.reader(io.StringIO(csv_text)))
    await page.context.close()


async def test_a_respondent_may_not_audit_but_sees_their_own_standing(
        story: Story, env: WorkflowEnvironment, store: EventStore,  # noqa: F811
        site: Site, browser: Browser) -> None:
    # given a filed case
    await record_membership(_recorder(MemberService(store, story.policy)), story)
    await story.file()
    page = await sign_in(browser, site, story.p.respondent)
    # when the respondent opens the case's audit
    response = await page.goto(f"{site.url}/console/audit/cases/{story.case_id}")
    # then it is refused, naming the rule
    assert response is not None and response.status == 403
    assert "role-permission" in await page.inner_text("main")
    # when they ask for their own standing
    await page.goto(f"{site.url}/console/audit/member")
    await page.fill("#standing-member", story.p.respondent)
    await page.click("#standing-form button[type=submit]")
    # then they see it
    assert await page.inner_text("#standing-status") == "member"
    # but not anyone else's
    await page.goto(f"{site.url}/console/audit/member")
    await page.fill("#standing-member", "m-someone-else")
    await page.click("#standing-form button[type=submit]")
    assert "role-permission" in await page.inner_text("main")
    await page.context.close()
