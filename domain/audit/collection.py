"""GDPR Art 14 in the audit: each item about a person obtained from someone else, its
notice deadline, and whether it was met (notice or exemption), escalated, or overdue at
``now``. "Owed" and "due" are the rule's (domain/rules/collection.py)."""

from __future__ import annotations

from typing import Any

from ..case.events import (
    DataCollectionNoticeExempted,
    DataCollectionNoticeGiven,
    DataCollectionNoticeMissed,
    EvidenceAdded,
    ReportFiled,
)
from ..case.state import evolve
from ..rules.collection import notice_due, obtained_elsewhere
from .context import Entry, History
from .deadlines import Deadline, deadline_faults, first_of
from .model import CheckResult
from .results import iso, not_applicable

CHECK_ID = "data-collection-notice"


def _covering(h: History, kind: type[Any], evidence_id: str) -> Entry[Any] | None:
    return first_of([e for e in h.of(kind) if evidence_id in e.event.evidence_ids])


def collection_deadlines(h: History) -> list[Deadline]:
    deadlines = []
    arrivals: list[Entry[ReportFiled] | Entry[EvidenceAdded]] = [
        *h.of(ReportFiled), *h.of(EvidenceAdded)]
    for arrival in arrivals:
        after = evolve(arrival.before, arrival.event)  # the case as the item reached it
        for item in arrival.event.evidence:
            due = notice_due(after, item.evidence_id)
            if due is None or not obtained_elsewhere(item):
                continue
            met = first_of([e for kind in (DataCollectionNoticeGiven, DataCollectionNoticeExempted)
                            if (e := _covering(h, kind, item.evidence_id)) is not None])
            missed = _covering(h, DataCollectionNoticeMissed, item.evidence_id)
            subject = item.description.subject_id
            deadlines.append(Deadline(
                f"data-collection notice to {subject!r} for {item.evidence_id!r}", due,
                arrival, met, missed))
    return deadlines


def data_collection_notice(h: History) -> CheckResult:
    deadlines = collection_deadlines(h)
    if not deadlines:
        return not_applicable(CHECK_ID, "no evidence about a person came from someone else")
    faults = deadline_faults(deadlines, h.clock)
    as_of = f" as of {iso(h.clock)}" if h.clock else ""
    return faults.result(CHECK_ID, f"{len(deadlines)} notice(s) owed{as_of}: each given or "
                                   "exempted in time, escalated on the record, or not yet due")
