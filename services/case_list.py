"""The case list as both clients return it (issue 15): each case's stage, how long it has
been in it, its next deadline and whether that has passed, read from the case_list read
model (store/projections.py; no personal data), filtered and paged by case id.

Stage age and ``overdue`` are judged at read time (``now``), as `dueprocess cases` does:
the projection holds only what the events say. ``overdue_sql`` is the one SQL form of the
domain's ``overdue_at`` (domain/case/deadlines.py), which every reader of the case list
uses: the next deadline has passed, or a deadline whose miss is on the record is still
outstanding (``overdue_since``), so a case stays overdue after its escalation.
"""

from __future__ import annotations

import base64
import binascii
from datetime import datetime

from pydantic import BaseModel

from ..domain import case as dc
from ..domain.base import InvalidInput
from ..store.db import Connection, Database

MAX_PAGE = 1000


def overdue_sql(now: str) -> str:
    """Whether a case_list row is overdue at ``now`` (an SQL expression or parameter):
    ``domain.case.overdue_at`` over the row's stored terms. least() skips NULLs."""
    return f"coalesce(least(next_deadline_at, overdue_since) < {now}, false)"


class CaseSummary(BaseModel):
    case_id: str
    stage: str
    respondent_id: str | None
    complainant_id: str | None
    next_deadline_kind: str | None
    next_deadline_at: datetime | None
    opened_at: datetime | None
    version: int
    # When the case entered its current stage (its age is now minus this); null for rows
    # projected before the column existed, until the case's next event or a rebuild.
    stage_entered_at: datetime | None = None
    stage_age_seconds: float | None = None  # at read time; null when stage_entered_at is
    stage_age_days: int | None = None  # whole days of the above
    # Since when a deadline whose miss is on the record has been outstanding (the case
    # waits for the step it was due for); null when none is.
    overdue_since: datetime | None = None
    # A deadline had passed at read time and is still outstanding, escalated or not.
    overdue: bool = False
    held_until: datetime | None = None  # a held report's hold end (DSA Art 23)


class CasePage(BaseModel):
    items: list[CaseSummary]
    next_cursor: str | None  # pass as ?cursor= for the next page; null: no more


def encode_cursor(case_id: str) -> str:
    return base64.urlsafe_b64encode(case_id.encode()).decode().rstrip("=")


def decode_cursor(text: str | None) -> str | None:
    if text is None:
        return None
    try:
        padded = text.encode("ascii") + b"=" * (-len(text) % 4)
        return base64.b64decode(padded, altchars=b"-_", validate=True).decode("utf-8")
    except (binascii.Error, UnicodeError, ValueError):
        raise InvalidInput("cursor: not a cursor this service gave out",
                             rule="valid-cursor", field="cursor") from None


LIST_SQL = f"""
    SELECT case_id, stage, respondent_id, complainant_id, next_deadline_kind,
           next_deadline_at, opened_at, version, stage_entered_at, overdue_since, held_until,
           greatest(extract(epoch FROM $8::timestamptz - stage_entered_at), 0)::float8
               AS stage_age_seconds,
           {overdue_sql("$8::timestamptz")} AS overdue
      FROM case_list
     WHERE ($1::text IS NULL OR stage = $1)
       AND (NOT $2 OR {overdue_sql("$8::timestamptz")})
       AND ($3::text IS NULL OR $3 = ANY(people))
       AND ($4::text IS NULL OR ($4 = 'respondent' AND respondent_id = $5)
                             OR ($4 = 'complainant' AND complainant_id = $5))
       AND ($6::text IS NULL OR case_id > $6)
     ORDER BY case_id LIMIT $7"""


async def list_cases(
    pool: Database | Connection, now: datetime, *, stage: dc.CaseStage | str | None = None,
    overdue: bool = False, person_id: str | None = None, party: str | None = None,
    party_id: str | None = None, cursor: str | None = None, limit: int = 50,
) -> CasePage:
    """One page of the case list: ``stage``; ``overdue`` (a deadline passed by ``now`` and
    still outstanding);
    ``person_id`` (cases the person has any part in); ``party`` with ``party_id`` (cases
    where that person is the respondent or complainant)."""
    if not 1 <= limit <= MAX_PAGE:
        raise InvalidInput(f"limit: between 1 and {MAX_PAGE}", rule="page-limit",
                           field="limit")
    rows = await pool.fetch(LIST_SQL, None if stage is None else str(stage), overdue,
                            person_id, party, party_id, decode_cursor(cursor), limit + 1, now)
    items = [_summary(dict(r)) for r in rows]
    page = items[:limit]
    more = len(items) > len(page)
    return CasePage(items=page,
                    next_cursor=encode_cursor(page[-1].case_id) if more and page else None)


def _summary(row: dict[str, object]) -> CaseSummary:
    age = row["stage_age_seconds"]
    days = int(age // 86400) if isinstance(age, float) else None
    return CaseSummary.model_validate({**row, "stage_age_days": days})
