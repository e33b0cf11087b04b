"""What the case page shows, built from the API's own reads: the read authorisation and
redaction of api/access.py and services/records.py (respondent_view), the timeline rows
of services/timeline.py, and the access log. Nothing here decides who may see what."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ..api.access import Basis, authority_for, complainant_view
from ..api.deps import ApiServices
from ..domain import case as dc
from ..domain.base import Actor
from ..domain.case import roles
from ..domain.policy import Rule
from ..domain.streams import case_stream, notification_stream
from ..services.records import RecordsClient
from ..services.timeline import timeline_entry

PURPOSE = "case work (console)"
# The deadlines a respondent acts on or lives under (the others are the staff's).
PARTY_DEADLINES = frozenset({dc.DeadlineKind.RESPOND, dc.DeadlineKind.APPEAL_WINDOW,
                             dc.DeadlineKind.INTERIM_SUSPENSION_REVIEW,
                             dc.DeadlineKind.SANCTION_END})


@dataclass
class EvidenceRow:
    evidence_id: str
    description: str
    source_kind: str
    provenance: str  # who captured it, when, from where, its hash
    admissible: str  # "admissible" or "inadmissible: why"
    disclosure: str  # "disclosed 2026-..." / "withheld: why" / "not yet disclosed"
    readers: list[str] = field(default_factory=list)


@dataclass
class AllegationRow:
    allegation_id: str
    rule_id: str
    rule: Rule | None
    version: str
    conduct_date: str
    particulars: str


@dataclass
class CaseView:
    case_id: str
    basis: Basis
    state: dc.CaseState  # as the viewer may see it
    deadlines: list[dc.Deadline]
    evidence: list[EvidenceRow]
    allegations: list[AllegationRow]
    timeline: list[dict[str, Any]] = field(default_factory=list)
    notices: list[dict[str, Any]] = field(default_factory=list)


def _when(at: datetime | None) -> str:
    return at.strftime("%Y-%m-%d %H:%M UTC") if at else "-"


def _disclosure(state: dc.CaseState, evidence_id: str) -> str:
    if evidence_id in state.disclosed_at:
        return f"disclosed {_when(state.disclosed_at[evidence_id])}"
    if evidence_id in state.withheld:
        return f"withheld: {state.withheld[evidence_id]}"
    return "not yet disclosed"


def evidence_rows(state: dc.CaseState, readers: dict[str, set[str]]) -> list[EvidenceRow]:
    rows = []
    for eid, item in sorted(state.evidence.items()):
        why = state.inadmissible.get(eid)
        rows.append(EvidenceRow(
            evidence_id=eid, description=item.description.text(),
            source_kind=str(item.source_kind).replace("_", " "),
            provenance=(f"captured by {item.captured_by} on {_when(item.captured_at)} from "
                        f"{item.captured_from}; {item.content_hash}"),
            admissible=f"inadmissible: {why}" if why else "admissible",
            disclosure=_disclosure(state, eid), readers=sorted(readers.get(eid, set()))))
    return rows


def allegation_rows(full: dc.CaseState, shown: dc.CaseState) -> list[AllegationRow]:
    """Each allegation as charged, with the rule cited in the version in force on the
    conduct date (the rulebook is public; the particulars come from the viewer's state)."""
    report = shown.report
    if report is None:
        return []
    rows = []
    for a in report.allegations:
        cited = full.rule_for(a.allegation_id)
        rows.append(AllegationRow(
            allegation_id=a.allegation_id, rule_id=a.rule_id,
            rule=cited[1] if cited else None, version=cited[0].version if cited else "",
            conduct_date=a.conduct_date.isoformat(), particulars=a.particulars.text()))
    return rows


async def read_view(svc: ApiServices, case_id: str, full: dc.CaseState, reader: Actor,
                    basis: Basis, purpose: str = PURPOSE) -> CaseView:
    """The case as ``reader`` may see it; the read is recorded (services/records.py) with
    ``purpose`` (a break-glass reader's stated one)."""
    deadlines = dc.pending_deadlines(full)
    if reader.role == roles.COMPLAINANT:
        shown = complainant_view(full)
        return CaseView(case_id=case_id, basis=basis, state=shown, deadlines=[], evidence=[],
                        allegations=[])
    records = RecordsClient(svc.store, svc.pool)
    file = await records.read_case_file(case_id, reader, purpose=purpose,
                                        authority=authority_for(basis))
    shown = file.state
    view = CaseView(case_id=case_id, basis=basis, state=shown, deadlines=deadlines,
                    evidence=[], allegations=allegation_rows(full, shown))
    if basis is Basis.PARTY:
        view.evidence = evidence_rows(shown, {})
        view.deadlines = [d for d in deadlines if d.kind in PARTY_DEADLINES]
        return view
    readers: dict[str, set[str]] = {}
    for entry in await records.access_log(case_id):
        for eid in entry.evidence_ids:
            readers.setdefault(eid, set()).add(f"{entry.reader.role} {entry.reader.id}")
    view.evidence = evidence_rows(shown, readers)
    events = await svc.store.read_streams([case_stream(case_id), notification_stream(case_id)])
    view.timeline = [timeline_entry(e) for e in events]
    view.notices = [t for t in view.timeline if t["type"] == "NotificationDispatched"]
    return view
