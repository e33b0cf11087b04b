"""My work: the cases where the signed-in person has something to do, overdue first.

Fed by the ``case_list`` projection (ids, stage, next deadline, people; no personal
data), the same read model the API's case list uses. Which cases count, by role: a case
officer runs every open case; investigators and panel members the open cases they are
assigned to; a respondent or complainant their own cases; auditors every case.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse

from ..domain import case as dc
from ..domain.case import roles
from ..services.case_list import overdue_sql
from .casepage import done
from .render import render
from .session import ViewerDep
from .state import services
from .timefmt import countdown

router = APIRouter()
PAGE = 200  # most rows shown; the count says how many more there are
ASSIGNED = frozenset({roles.INVESTIGATOR, roles.PANEL_MEMBER, roles.APPEAL_PANEL_MEMBER})
STAGES = [str(s) for s in dc.CaseStage]


@dataclass(frozen=True)
class Row:
    case_id: str
    stage: str
    deadline_kind: str | None
    deadline_at: datetime | None
    countdown: str
    overdue: bool
    soon: bool
    opened_at: datetime | None


def _scope(role: str) -> str:
    """The WHERE clause of the cases a role has something to do in ($1: the person)."""
    if role == roles.CASE_OFFICER:
        return "stage <> 'closed'"
    if role in ASSIGNED:
        return "stage <> 'closed' AND $1 = ANY(people)"
    if role == roles.RESPONDENT:
        return "respondent_id = $1"
    if role == roles.COMPLAINANT:
        return "complainant_id = $1"
    return "TRUE"  # auditors and data-protection officers read every case


async def my_cases(pool: Any, role: str, person: str, stage: str | None,
                   now: datetime) -> tuple[list[Row], int]:
    # $1 typed even where the scope leaves it out (a case officer's every open case).
    where = _scope(role) + " AND ($2::text IS NULL OR stage = $2) AND $1::text IS NOT NULL"
    # Overdue as every case-list reader judges it: escalated misses stay overdue.
    rows = await pool.fetch(
        f"""SELECT case_id, stage, next_deadline_kind, next_deadline_at, opened_at,
                   overdue_since, {overdue_sql("$3")} AS overdue, count(*) OVER () AS total
              FROM case_list WHERE {where}
             ORDER BY overdue DESC, least(next_deadline_at, overdue_since) ASC NULLS LAST,
                      case_id
             LIMIT {PAGE}""", person, stage, now)
    total = int(rows[0]["total"]) if rows else 0
    found = []
    for r in rows:
        due, kind, since = r["next_deadline_at"], r["next_deadline_kind"], r["overdue_since"]
        if since is not None and (due is None or since < due):
            # A miss already escalated, still waiting for its step: the oldest debt shows.
            due, kind = since, "missed (escalated)"
        found.append(Row(
            case_id=r["case_id"], stage=r["stage"], deadline_kind=kind,
            deadline_at=due, countdown=countdown(due, now),
            overdue=bool(r["overdue"]),
            soon=due is not None and now <= due < now + timedelta(days=2),
            opened_at=r["opened_at"]))
    return found, total


@router.get("/work", include_in_schema=False)
async def my_work(
    request: Request, who: ViewerDep,
    stage: Annotated[str | None, Query(max_length=40)] = None,
    role: Annotated[str | None, Query(max_length=64)] = None,
) -> HTMLResponse:
    chosen_role = role if role in who.principal.roles else who.role
    chosen_stage = stage if stage in STAGES else None
    now = datetime.now(UTC)
    rows, total = await my_cases(services(request).pool, chosen_role, who.subject,
                                 chosen_stage, now)
    return render(request, who, "work.html", rows=rows, total=total, stages=STAGES,
                  stage=chosen_stage, role=chosen_role, now=now,
                  officer=chosen_role == roles.CASE_OFFICER == who.role,
                  done=done(request))
