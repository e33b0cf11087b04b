"""Auditor pages: a case's due-process checks with its timeline and access log, and a
member's standing as of a date, as known on a date, with the picture of their rights
over time.

Everything shown is what ``dueprocess audit`` computes: ``audit_case`` for the checks,
``RecordsClient.access_log`` for the reads (break-glass ones flagged), ``standing`` for
the member. Who may see what is decided by the API's own checks (``api.records``): the
same roles, the same rule ids when refused. Member ids travel in a POSTed form (with the
session's CSRF token), never in a URL.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from markupsafe import Markup

from ..api.cases import CaseId
from ..api.deps import require_actor_role
from ..api.records import ACCESS_LOG_ROLES, AUDIT_ROLES, require_standing_reader
from ..domain.audit import CheckStatus
from ..domain.membership.standing import standing
from ..domain.streams import member_stream
from ..domain.text import ID, text_problem
from ..services.case_audit import audit_stored_case
from ..services.client import NotFound
from ..services.members import case_streams_for
from ..services.records import RecordsClient
from .render import render, url_for
from .rights_timeline import rights_over_time
from .session import Viewer, ViewerDep, checked_form
from .standing_svg import describe, rights_svg
from .state import services

router = APIRouter()
STATUS_TEXT = {CheckStatus.PASS: "Pass", CheckStatus.FAIL: "Fail",
               CheckStatus.NOT_APPLICABLE: "Not applicable"}
MAX_ID = 200


@router.get("/audit", include_in_schema=False)
async def audit_index(request: Request, who: ViewerDep) -> HTMLResponse:
    return render(request, who, "audit_index.html", form=_blank_form(), errors={},
                  audit_roles=sorted(AUDIT_ROLES))


@router.get("/audit/case", include_in_schema=False)
async def audit_case_lookup(
    request: Request, who: ViewerDep,
    case_id: Annotated[str, Query(max_length=MAX_ID)] = "",
) -> Response:
    """The index's "audit a case" form (a GET: case ids are not personal data)."""
    wanted = case_id.strip()
    problem = _id_problem(wanted, "case id")
    if problem:
        return render(request, who, "audit_index.html", status=422, form=_blank_form(),
                      errors={"case_id": problem}, case_value=wanted,
                      audit_roles=sorted(AUDIT_ROLES))
    return RedirectResponse(url_for(request, f"/audit/cases/{wanted}"), status_code=303)


@router.get("/audit/cases/{case_id}", include_in_schema=False)
async def audit_one_case(request: Request, case_id: CaseId, who: ViewerDep) -> HTMLResponse:
    require_actor_role(who.actor, AUDIT_ROLES, "auditing a case")
    svc = services(request)
    audit = await audit_stored_case(svc.store, svc.pool, case_id, datetime.now(UTC))
    if audit is None:
        raise NotFound(case_id)
    access = None
    if who.actor.role in ACCESS_LOG_ROLES:
        access = await RecordsClient(svc.store, svc.pool).access_log(case_id)
    counts = {s: sum(1 for c in audit.checks if c.status is s) for s in CheckStatus}
    return render(request, who, "audit_case.html", audit=audit, access=access,
                  counts=counts, status_text=STATUS_TEXT, CheckStatus=CheckStatus,
                  access_roles=sorted(ACCESS_LOG_ROLES))


@dataclass(frozen=True)
class StandingForm:
    member_id: str
    as_of: str  # as typed (ISO date), shown back in the form
    as_known_on: str


def _blank_form() -> StandingForm:
    return StandingForm(member_id="", as_of="", as_known_on="")


@router.get("/audit/member", include_in_schema=False)
async def member_form(request: Request, who: ViewerDep) -> HTMLResponse:
    return render(request, who, "audit_member.html", form=_blank_form(), errors={},
                  answer=None)


@router.post("/audit/member", include_in_schema=False)
async def member_standing(request: Request, who: ViewerDep) -> HTMLResponse:
    data = await checked_form(request, who)
    form = StandingForm(**{k: str(data.get(k, "")).strip()
                           for k in ("member_id", "as_of", "as_known_on")})
    errors = _standing_errors(form)
    if errors:
        return render(request, who, "audit_member.html", status=422, form=form,
                      errors=errors, answer=None)
    return await _standing_page(request, who, form)


async def _standing_page(request: Request, who: Viewer, form: StandingForm) -> HTMLResponse:
    require_standing_reader(who.actor, form.member_id)
    svc = services(request)
    now = datetime.now(UTC)
    as_of = _day_start(form.as_of) or now
    known = _day_start(form.as_known_on)
    streams = await case_streams_for(svc.pool, form.member_id)
    records = await svc.store.read_streams([member_stream(form.member_id), *streams])
    answer = standing(form.member_id, records, svc.policy, as_of, known)
    picture = rights_over_time(form.member_id, records, svc.policy, until=as_of,
                               as_known_on=known)
    return render(request, who, "audit_member.html", form=form, errors={}, answer=answer,
                  picture=picture, svg=Markup(rights_svg(picture)),  # escaped by ElementTree
                  caption=describe(picture), as_of=as_of, known=known)


def _standing_errors(form: StandingForm) -> dict[str, str]:
    """Field -> what is wrong with it, in one line naming the field and the rule."""
    errors = {}
    problem = _id_problem(form.member_id, "member id")
    if problem:
        errors["member_id"] = problem
    for name, label in (("as_of", "as of"), ("as_known_on", "as known on")):
        try:
            _day_start(getattr(form, name))
        except ValueError:
            errors[name] = f"{label}: must be a date, YYYY-MM-DD (rule iso-date)"
    return errors


def _id_problem(value: str, label: str) -> str | None:
    if not value:
        return f"{label}: required (rule required)"
    if len(value) > MAX_ID or any(c.isspace() or c == "/" for c in value):
        return (f"{label}: at most {MAX_ID} characters, no spaces or slashes "
                "(rule id-shape)")
    problem = text_problem(value, ID)
    return f"{label}: {problem[1]} (rule {problem[0]})" if problem else None


def _day_start(text: str) -> datetime | None:
    """A bare date is 00:00 UTC that day, as ``dueprocess audit member`` reads it."""
    if not text:
        return None
    return datetime.combine(date.fromisoformat(text), time.min, tzinfo=UTC)
