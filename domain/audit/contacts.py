"""Every contact about the case, either way, surfaced: who, when, which body, what was
shared (EHRC 2020: staff outside the process influenced 23 of 70 files; DSA 17(3)(b):
say when a report came from a state body or trusted flagger)."""

from __future__ import annotations

from ..case.events import InstructionRecorded, ReportFiled
from ..case.values import ComplainantKind, ContactDirection
from .context import History
from .model import CheckResult, CheckStatus, ContactRow
from .results import check_result, event_ref, iso, not_applicable
from .roles import sender_outside

CHECK_ID = "outside-contacts-surfaced"


def contact_rows(h: History) -> list[ContactRow]:
    rows = []
    report = h.first(ReportFiled)
    if report is not None and report.event.complainant.kind is ComplainantKind.OUTSIDE_BODY:
        c = report.event.complainant
        rows.append(ContactRow(
            event=event_ref(report.record), direction=ContactDirection.RECEIVED.value,
            kind="report", outside_body=c.outside_body, sender=f"{c.person_id} (complainant)",
            recipient=None, at=report.at, shared=None,
            shared_evidence_ids=[e.evidence_id for e in report.event.evidence],
            sender_assigned=False))
    for entry in h.of(InstructionRecorded):
        e = entry.event
        recipient = None
        if e.direction is ContactDirection.SENT:
            recipient = f"{e.to_person_id or '-'} ({e.to_role or 'unnamed role'})"
        rows.append(ContactRow(
            event=event_ref(entry.record), direction=e.direction.value, kind=e.kind.value,
            outside_body=e.outside_body, sender=f"{e.from_person_id} ({e.from_role})",
            recipient=recipient, at=e.received_at, shared=e.shared,
            shared_evidence_ids=list(e.shared_evidence_ids),
            sender_assigned=not sender_outside(entry)))
    return rows


def row_text(row: ContactRow) -> str:
    body = f" {row.outside_body}" if row.outside_body else ""
    way = (f"{row.kind} received from {row.sender}{body}" if row.direction == "received"
           else f"{row.kind} sent by {row.sender} to {row.recipient}{body}")
    shared = ", ".join(filter(None, [row.shared, *(f"evidence {i}" for i in
                                                    row.shared_evidence_ids)])) or "nothing"
    return (f"{row.event.event_type} (v{row.event.stream_version}): {way} on {iso(row.at)}; "
            f"shared: {shared}")


def outside_contacts(h: History) -> CheckResult:
    """Surfaces every contact; never fails (what is wrong with one is a transition rule's or
    instructions-on-record's to say), so the list is on every audit that has one."""
    rows = contact_rows(h)
    if not rows:
        return not_applicable(CHECK_ID, "no contact with anyone outside the case is on record")
    result = check_result(CHECK_ID, CheckStatus.PASS,
                          f"{len(rows)} contact(s) on the record: "
                          + "; ".join(row_text(r) for r in rows))
    return result.model_copy(update={"noted": [r.event for r in rows]})
