"""The console's session, CSRF and headers, over real HTTP (given / when / then)."""

from __future__ import annotations

import re
from html import unescape

import httpx
from dueprocess.services.records import RecordsClient

from .conftest import Console
from .test_browser import _file


async def _signed_in(console: Console, http: httpx.AsyncClient, subject: str,
                     role: str | None = None) -> str:
    """Sign in through the local issuer (by id and ``role`` when given: someone the page
    does not list); returns the session's CSRF token."""
    start = await http.get(f"{console.url}/console/signin", params={"start": "1"})
    page = await http.get(start.headers["location"])
    form = {k: unescape(v) for k, v in re.findall(r'name="([^"]+)" value="([^"]*)"',
                                                   page.text)}
    picked = {"subject": subject} | ({"role": role} if role else {})
    back = await http.post(f"{console.issuer.url}/authorize", data=form | picked)
    done = await http.get(back.headers["location"])
    assert done.status_code == 303 and done.headers["location"] == "/console/work"
    cookie = done.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=lax" in cookie and "secure" not in cookie
    work = await http.get(f"{console.url}/console/work")
    found = re.search(r'name="csrf" value="([^"]+)"', work.text)
    assert found is not None
    return found.group(1)


async def test_pages_need_a_session_and_carry_a_strict_policy(console: Console) -> None:
    async with httpx.AsyncClient() as http:
        # when a page is asked for without a session
        response = await http.get(f"{console.url}/console/work")
    # then it sends the browser to sign in, with the security headers
    assert response.status_code == 303 and response.headers["location"] == "/console/signin"
    policy = response.headers["content-security-policy"]
    assert "default-src 'none'" in policy and "frame-ancestors 'none'" in policy
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["cache-control"] == "no-store"


async def test_a_form_without_the_session_csrf_token_is_refused(console: Console) -> None:
    async with httpx.AsyncClient() as http:
        # given a signed-in case officer
        csrf = await _signed_in(console, http, "staff-amira")
        before = int(await console.pool.fetchval("SELECT count(*) FROM events"))
        # when a form comes without the token, or with another
        url = f"{console.url}/console/cases/c-1/act/AcknowledgeReport"
        missing = await http.post(url, data={"authority": "rulebook s.3.2"})
        forged = await http.post(url, data={"authority": "rulebook s.3.2", "csrf": "x"})
        # then both are refused and nothing is recorded
        assert missing.status_code == forged.status_code == 403
        assert "CSRF" in missing.text
        assert int(await console.pool.fetchval("SELECT count(*) FROM events")) == before
        # and signing out ends the session
        out = await http.post(f"{console.url}/console/signout", data={"csrf": csrf})
        assert out.status_code == 303
        again = await http.get(f"{console.url}/console/work")
        assert again.status_code == 303 and again.headers["location"] == "/console/signin"


async def test_unassigned_staff_read_only_by_stating_why_and_are_flagged(
        console: Console) -> None:
    # given a case, and an investigator not assigned to it
    case_id = await _file(console)
    async with httpx.AsyncClient() as http:
        csrf = await _signed_in(console, http, "staff-zed", role="investigator")
        # when they open it, they are asked why
        page = await http.get(f"{console.url}/console/cases/{case_id}")
        assert page.status_code == 403 and "break-glass" in page.text
        # and when they state a purpose, they read it
        read = await http.post(f"{console.url}/console/cases/{case_id}/break-glass",
                               data={"csrf": csrf, "purpose": "covering for a colleague"})
        assert read.status_code == 200 and "Timeline" in read.text
    # then the read is on the record, flagged, with its purpose
    log = await RecordsClient(console.store, console.pool).access_log(case_id)
    glass = [e for e in log if e.reader.id == "staff-zed"]
    assert len(glass) == 1 and glass[0].flagged and glass[0].basis == "break-glass"
    assert glass[0].purpose == "covering for a colleague"
