"""The demo case, end to end, in a real headless Chromium: each person signs in through the
local issuer's page (authorization code + PKCE) and does their part from the console.

Saves screenshots of the main pages to docs/screenshots/ (the README shows them).
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

from dueprocess.domain.rules.collection import notices_owed
from dueprocess.domain.streams import case_stream
from dueprocess.store.projections import case_state_from
from playwright.async_api import Browser, Locator, Page, async_playwright

from .conftest import CHROMIUM_ARGS, Console, chromium

SHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
Fields = dict[str, str | bool | tuple[str, str]]  # ("select", value) picks an option


async def _sign_in(browser: Browser, console: Console, subject: str) -> Page:
    page = await browser.new_page(viewport={"width": 1280, "height": 900})
    await page.goto(console.url + "/console/work")  # no session: sent to sign in
    await page.click("#sign-in")
    await page.wait_for_selector(f"button[value='{subject}']")
    if not (SHOTS / "signin.png").exists() or subject == console.story.p.case_officer:
        await page.screenshot(path=str(SHOTS / "signin.png"))
    async with page.expect_navigation(url="**/console/work"):
        await page.click(f"button[value='{subject}']")
    assert await page.text_content("#who-subject") == subject
    return page


async def _sign_out(page: Page) -> None:
    async with page.expect_navigation():
        await page.click("button:text('Sign out')")
    await page.close()


async def _act(page: Page, name: str, fields: Fields, *, ok: bool = True) -> None:
    box = page.locator(f"#action-{name}")
    if await box.get_attribute("open") is None:  # a form with errors is open already
        await box.locator("summary").click()
    form = box.locator("form")
    await _fill(form, fields)
    async with page.expect_navigation():
        await form.locator("button[type=submit]").click()
    if ok:
        done = await page.text_content("#done")
        assert done is not None and name in done, await page.text_content("main")


async def _fill(form: Locator, fields: Fields) -> None:
    for field, value in fields.items():
        control = form.locator(f"[name='{field}']")
        if isinstance(value, bool):
            await (control.check() if value else control.uncheck())
        elif isinstance(value, tuple):
            await control.select_option(value[1])
        else:
            await control.fill(value)


async def _case(page: Page, console: Console, case_id: str) -> None:
    await page.goto(f"{console.url}/console/cases/{case_id}")


async def _file(console: Console) -> str:
    report = await console.story.build_report()
    body = report.model_dump(mode="json", exclude={"actor", "policy"})
    token = console.issuer.mint(console.story.p.intake, ["intake"], system=True)
    response = await console.http.post("/cases", json=body, headers={
        "Authorization": f"Bearer {token}", "Idempotency-Key": f"console-{console.story.run}"})
    assert response.status_code == 201, response.text
    case_id: str = response.json()["case_id"]
    return case_id


async def _owed(console: Console, case_id: str) -> dict[str, list[str]]:
    state = case_state_from(await console.store.read_stream(case_stream(case_id)), case_id)
    owed: dict[str, list[str]] = {}
    for item in notices_owed(state):
        owed.setdefault(item.subject_id, []).append(item.evidence_id)
    return owed


async def test_the_demo_case_end_to_end_in_the_browser(console: Console) -> None:
    executable = chromium()
    SHOTS.mkdir(parents=True, exist_ok=True)
    p = console.story.p
    rb = "rulebook"
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        try:
            # given a report the complainant files in the console
            case_id = await _report(browser, console)
            await console.project()
            await _walk(browser, console, case_id, p, rb)
        finally:
            await browser.close()


async def _report(browser: Browser, console: Console) -> str:
    """The complainant files the demo's report from the console; returns the case id."""
    report = await console.story.build_report()
    page = await _sign_in(browser, console, report.complainant.person_id)
    await page.click("#file-report")
    c, r = report.complainant, report.respondent
    fields: Fields = {
        "authority": report.authority, "complainant.kind": ("select", str(c.kind)),
        "complainant.name": c.name.text(), "respondent.person_id": r.person_id,
        "respondent.name": r.name.text(), "good_faith_declaration": True}
    for i, a in enumerate(report.allegations):
        fields |= {f"allegations.{i}.allegation_id": a.allegation_id,
                   f"allegations.{i}.rule_id": a.rule_id,
                   f"allegations.{i}.conduct_date": a.conduct_date.isoformat(),
                   f"allegations.{i}.particulars": a.particulars.text()}
    for i, e in enumerate(report.evidence):
        fields |= {f"evidence.{i}.evidence_id": e.evidence_id,
                   f"evidence.{i}.description": e.description.text(),
                   f"evidence.{i}.source_kind": ("select", str(e.source_kind)),
                   f"evidence.{i}.captured_by": e.captured_by,
                   f"evidence.{i}.captured_at": e.captured_at.strftime("%Y-%m-%dT%H:%M:%S"),
                   f"evidence.{i}.captured_from": e.captured_from,
                   f"evidence.{i}.content_hash": e.content_hash}
        if e.witness_id:
            fields[f"evidence.{i}.witness_id"] = e.witness_id
    form = page.locator("#action-FileReport")
    await _fill(form, fields)
    await page.mouse.wheel(0, -100_000)  # back to the top of the form
    await page.wait_for_function("window.scrollY === 0")
    await page.screenshot(path=str(SHOTS / "file-report.png"))
    async with page.expect_navigation():
        await form.locator("button[type=submit]").click()
    errors = await page.locator(".error, .problem").all_text_contents()
    assert not errors, errors
    assert "FileReport" in (await page.text_content("#done") or "")
    case_id = page.url.split("/cases/", 1)[1].split("?", 1)[0]
    assert await page.text_content("#stage") == "reported"  # where the report stands
    await _sign_out(page)
    return case_id


async def _walk(browser: Browser, console: Console, case_id: str, p: Any, rb: str) -> None:
    # when the case officer signs in, the case is in My work
    page = await _sign_in(browser, console, p.case_officer)
    assert case_id[:12] in (await page.text_content("#work") or "")
    await page.screenshot(path=str(SHOTS / "my-work.png"), full_page=True)
    await _case(page, console, case_id)
    # and a form sent without its authority names the field
    await _act(page, "AcknowledgeReport", {"authority": ""}, ok=False)
    error = await page.text_content("#action-AcknowledgeReport .error")
    assert error is not None and error.startswith("Authority"), error
    await page.screenshot(path=str(SHOTS / "form-error.png"), full_page=True)
    await _act(page, "AcknowledgeReport", {"authority": f"{rb} s.3.2"})
    await _act(page, "TriageCase", {"authority": f"{rb} s.3.3",
                                    "outcome": ("select", "investigate"),
                                    "reasons": "Public posts, named target."})
    # and assigns the investigator from My work
    await page.goto(console.url + "/console/work")
    assign = page.locator(f"#assign-{case_id[:12]}")
    await assign.locator("[name='investigator_id']").fill(p.investigator)
    async with page.expect_navigation(url="**/console/work?done=AssignInvestigator"):
        await assign.locator("button").click()
    await _sign_out(page)
    # the investigator issues the notice
    page = await _sign_in(browser, console, p.investigator)
    await _case(page, console, case_id)
    await _act(page, "IssueNotice", {"authority": f"{rb} s.4.1"})
    await _sign_out(page)
    # then before disclosure the officer sees why a hearing cannot be scheduled yet
    page = await _sign_in(browser, console, p.case_officer)
    await _case(page, console, case_id)
    blocked = await page.text_content("#action-ScheduleHearing")
    assert blocked is not None and "disclosure-before-hearing" in blocked, blocked
    assert await page.locator("#action-ScheduleHearing button[disabled]").count() == 1
    await page.screenshot(path=str(SHOTS / "case-blocked.png"), full_page=True)
    await _sign_out(page)
    # the investigator discloses E1 and E2, withholds E3, and gives the Art 14 notices
    page = await _sign_in(browser, console, p.investigator)
    await _case(page, console, case_id)
    await _act(page, "DiscloseEvidence", {
        "authority": f"{rb} s.4.2", "evidence_ids": "E1, E2",
        "withheld.0.evidence_id": "E3",
        "withheld.0.reason": "inadmissible: private message, no consent"})
    for subject, evidence in (await _owed(console, case_id)).items():
        await _act(page, "GiveDataCollectionNotice", {
            "authority": f"{rb} s.4.2 (GDPR Art 14)", "subject_id": subject,
            "evidence_ids": ", ".join(evidence)})
    await _sign_out(page)
    # the respondent sees exactly the disclosed evidence, and what was withheld and why
    page = await _sign_in(browser, console, p.respondent)
    await _case(page, console, case_id)
    rows = await page.locator("#evidence tbody tr").evaluate_all(
        "rows => rows.map(r => r.id)")
    assert rows == ["evidence-E1", "evidence-E2"], rows
    assert "E3" in (await page.text_content("#withheld") or "")
    assert "R1" in (await page.text_content("#allegation-A1") or "")
    await page.screenshot(path=str(SHOTS / "respondent-portal.png"), full_page=True)
    await _act(page, "SubmitResponse", {
        "authority": f"{rb} s.4.3",
        "statement": "The posts quoted a satirical sketch; no member was meant."})
    await _sign_out(page)
    await _hearing_and_decision(browser, console, case_id, p, rb)


async def _hearing_and_decision(browser: Browser, console: Console, case_id: str, p: Any,
                                rb: str) -> None:
    page = await _sign_in(browser, console, p.case_officer)
    await _case(page, console, case_id)
    await _act(page, "AppointPanel", {"authority": f"{rb} s.6.1", **_members(p.panel)})
    hearing_at = (await console.now() + timedelta(days=30)).replace(microsecond=0)
    await _act(page, "ScheduleHearing", {
        "authority": f"{rb} s.6.2", "at": hearing_at.strftime("%Y-%m-%dT%H:%M:%S"),
        "location": "Regional office, room 2"})
    await _sign_out(page)
    await console.env.sleep(timedelta(days=31))  # the hearing is due
    page = await _sign_in(browser, console, p.panel[0])
    await _case(page, console, case_id)
    await _act(page, "RecordHearingHeld", {
        "authority": f"{rb} s.6.3", "attendees": ", ".join([*p.panel, p.respondent]),
        "respondent_attended": True})
    await _act(page, "RecordDecision", {
        "authority": f"{rb} s.6.4", "findings.0.allegation_id": "A1",
        "findings.0.upheld": True,
        "findings.0.findings": "The respondent wrote the posts of 10 May.",
        "findings.0.reasons": "Calling a member 'vermin' is abuse under R1 as defined.",
        "findings.0.relied_on_evidence": "E1, E2",
        "findings.0.sanction.kind": ("select", "suspension"),
        "findings.0.sanction.term": "P8W",
        "how_to_appeal": "Write to the appeals secretary within the appeal window."})
    await _sign_out(page)
    # the respondent reads the decision and appeals
    page = await _sign_in(browser, console, p.respondent)
    await _case(page, console, case_id)
    assert "How to appeal" in (await page.text_content("#decision") or "")
    await _act(page, "LodgeAppeal", {"authority": f"{rb} s.7.1",
                                     "grounds": "The panel ignored that the posts quoted a "
                                                "sketch."})
    await _sign_out(page)
    page = await _sign_in(browser, console, p.case_officer)
    await _case(page, console, case_id)
    await _act(page, "AppointAppealPanel", {"authority": f"{rb} s.7.2",
                                            **_members(p.appeal_panel)})
    await _sign_out(page)
    page = await _sign_in(browser, console, p.appeal_panel[0])
    await _case(page, console, case_id)
    await _act(page, "DecideAppeal", {
        "authority": f"{rb} s.7.3", "outcome": ("select", "allowed"),
        "reasons": "The full thread shows the words quoted a sketch."})
    await _sign_out(page)
    page = await _sign_in(browser, console, p.case_officer)
    await _case(page, console, case_id)
    await _act(page, "Reinstate", {"authority": f"{rb} s.7.4",
                                   "apology": "We are sorry for the suspension."})
    await _act(page, "CloseCase", {"authority": f"{rb} s.8"})
    assert await page.text_content("#stage") == "closed"
    await _sign_out(page)
    # the auditor reads the whole record, with valid and recorded times
    page = await _sign_in(browser, console, "audit-olu")
    await _case(page, console, case_id)
    timeline = await page.text_content("#timeline") or ""
    assert "CaseClosed" in timeline and "EvidenceDisclosed" in timeline
    await page.screenshot(path=str(SHOTS / "auditor-case.png"), full_page=True)
    await _sign_out(page)
    # and the complainant sees where the report stands
    page = await _sign_in(browser, console, p.complainant)
    await _case(page, console, case_id)
    assert await page.text_content("#stage") == "closed"
    await _sign_out(page)


def _members(ids: list[str]) -> Fields:
    found: Fields = {}
    for index, member in enumerate(ids):
        found[f"members.{index}.member_id"] = member
        found[f"members.{index}.declared"] = True
        found[f"members.{index}.interests"] = "none"
    return found
