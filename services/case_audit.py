"""A case's audit as the auditor reads it: the due-process checks over its record
(domain/audit), and whether that record is as it was written.

The checks judge what the stored events say; a row altered in the database (by whoever
runs it) still reads, so on its own the audit would pass a tampered case. So the case's
own streams' hash chains are re-checked (store/verify.verify_streams, what `dueprocess
verify` does for the whole log) and the result is one more check, ``stored-record-intact``,
failing with what was found. A stream re-chained consistently after an edit holds its
chain: only `dueprocess verify` against the signed heads (store/witness.py) shows that.
"""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from ..domain.audit import audit_case
from ..domain.audit.model import CaseAudit, CheckResult, CheckStatus, EventRef
from ..domain.streams import case_stream, notification_stream
from ..store.db import Database
from ..store.errors import UnreadableEvent, stored_data
from ..store.eventstore import EventStore
from ..store.verify import verify_streams

RECORD_CHECK = "stored-record-intact"
RECORD_TITLE = "The case's stored events chain as written (hash chains)"


async def audit_stored_case(store: EventStore, db: Database, case_id: str,
                            now: datetime) -> CaseAudit | None:
    """The case's audit with the record check (None: no such case). Stored data the audit
    cannot read is a finding (``stored-record-readable`` fails), never an error: the CLI,
    the API and the console report it alike."""
    try:
        events = await store.read_stream(case_stream(case_id))
        if not events:
            return None
        notes = await store.read_stream(notification_stream(case_id))
        with stored_data(f"case {case_id}'s audit"):  # odd data, typed; bugs stay bugs
            audit = audit_case(events, notes, now=now)
    except UnreadableEvent as err:  # never an outage or a missing key: those propagate
        audit = unauditable(case_id, err)
    return await with_record_check(db, audit, case_id)


def unauditable(case_id: str, err: Exception) -> CaseAudit:
    return CaseAudit(case_id=case_id, as_of=None, timeline=[], ok=False, checks=[CheckResult(
        check_id="stored-record-readable", title="The stored record can be audited",
        status=CheckStatus.FAIL,
        explanation=f"the stored record cannot be audited: {type(err).__name__}: {err}")])


async def with_record_check(db: Database, audit: CaseAudit, case_id: str) -> CaseAudit:
    """``audit`` with the ``stored-record-intact`` check over the streams of ``case_id``
    (the id the case was read by, not one its events state: those may be what changed)."""
    streams = [case_stream(case_id), notification_stream(case_id)]
    async with db.acquire() as conn:
        report = await verify_streams(conn, streams)
    if report.ok:
        check = CheckResult(
            check_id=RECORD_CHECK, title=RECORD_TITLE, status=CheckStatus.PASS,
            explanation=f"every event of the case's {report.streams} stream(s) chains to "
                        "its predecessor and its stream's head")
        return audit.model_copy(update={"checks": [*audit.checks, check]})
    known = {str(t.event_id): t for t in audit.timeline}
    offending = [EventRef(event_id=UUID(p.event_id), stream_version=known[p.event_id]
                          .stream_version, event_type=known[p.event_id].event_type)
                 for p in report.problems if p.event_id in known]
    found = "; ".join(f"{p.stream_id} v{p.stream_version}: {p.kind} ({p.detail})"
                      for p in report.problems)
    check = CheckResult(
        check_id=RECORD_CHECK, title=RECORD_TITLE, status=CheckStatus.FAIL,
        explanation=f"the stored record was changed after it was written: {found} "
                    "(`dueprocess verify` checks the whole log)", offending=offending)
    return audit.model_copy(update={"checks": [*audit.checks, check], "ok": False})
