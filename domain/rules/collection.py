"""GDPR Art 14: a person whose data reached the case from someone else is told so (with
the source) within the policy's period, or an exemption is recorded with its legal basis.

One notion of "owed" serves everyone: the decider (which notices it accepts, which
misses the timer records), the workflow's timers (``case/deadlines.py``) and the audit
(``audit/collection.py``, judged at ``now``).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import NamedTuple

from ..base import DueProcessViolation, InvalidCommand
from ..case.events import (
    DataCollectionNoticeExempted,
    DataCollectionNoticeGiven,
    DataCollectionNoticeMissed,
)
from ..case.state import CaseState
from ..case.values import EvidenceItem
from .model import Breach, ProcessRule, RuleKind, Transition, duplicates, gdpr


class Owed(NamedTuple):
    evidence_id: str
    subject_id: str
    due_at: datetime


def obtained_elsewhere(item: EvidenceItem) -> bool:
    """Whether the item is about someone who did not supply it (Art 14, not Art 13).

    Its subject is the person its description is about; an item captured by that person,
    or a statement they gave as a witness, came from them.
    """
    subject = item.description.subject_id
    return subject not in (item.captured_by, item.witness_id)


def notice_due(state: CaseState, evidence_id: str) -> datetime | None:
    """When the Art 14 notice for an item is due, if it ever needed one."""
    item = state.evidence.get(evidence_id)
    received = state.collection.received_at.get(evidence_id)
    version = state.procedure
    if item is None or received is None or version is None or not obtained_elsewhere(item):
        return None
    return received + version.deadlines.data_collection_notice


def notices_owed(state: CaseState) -> list[Owed]:
    """Items whose subject has been neither told nor exempted, earliest due first."""
    owed = []
    for evidence_id, item in state.evidence.items():
        due = notice_due(state, evidence_id)
        if due is not None and not state.collection.settled(evidence_id):
            owed.append(Owed(evidence_id, item.description.subject_id, due))
    return sorted(owed, key=lambda o: (o.due_at, o.evidence_id))


def overdue_notices(state: CaseState, at: datetime) -> list[Owed]:
    """Owed notices due by ``at`` whose miss is not yet on the record."""
    return [o for o in notices_owed(state)
            if o.due_at <= at and o.evidence_id not in state.collection.missed]


_Settling = DataCollectionNoticeGiven | DataCollectionNoticeExempted | DataCollectionNoticeMissed


def _owed(t: Transition) -> Iterator[Breach]:
    event = t.event
    assert isinstance(event, _Settling)
    yield from duplicates(event.evidence_ids, field="evidence_ids")
    owed = {o.evidence_id: o for o in notices_owed(t.before)}
    for index, evidence_id in enumerate(event.evidence_ids):
        field = f"evidence_ids.{index}"
        item = t.before.evidence.get(evidence_id)
        if item is None:
            yield Breach(field, f"evidence {evidence_id!r} is not on file")
        elif item.description.subject_id != event.subject_id:
            yield Breach(field, f"evidence {evidence_id!r} is not about {event.subject_id!r}")
        elif evidence_id not in owed:
            yield Breach(field, f"no notice is owed for evidence {evidence_id!r}: it came from "
                                "its subject, or they were already told or exempted")
        elif isinstance(event, DataCollectionNoticeMissed) \
                and owed[evidence_id].due_at > event.effective_at:
            yield Breach("effective_at", f"the notice for {evidence_id!r} is not due until "
                                         f"{owed[evidence_id].due_at.isoformat()}")
        elif isinstance(event, DataCollectionNoticeMissed) \
                and evidence_id in t.before.collection.missed:
            yield Breach(field, f"the miss for {evidence_id!r} is already on the record")


COLLECTION_NOTICE_OWED = ProcessRule(
    "collection-notice-owed", "An Art 14 notice, exemption or miss names evidence about that "
    "person, obtained from someone else, still owed (a miss only once due)",
    gdpr("14(1)", "14(3)", "14(5)"), InvalidCommand,
    guards=("GiveDataCollectionNotice", "RecordNoticeExemption",
            "EscalateMissedCollectionNotice"),
    events=(DataCollectionNoticeGiven, DataCollectionNoticeExempted,
            DataCollectionNoticeMissed),
    predicate=_owed, passed="every notice, exemption and miss named evidence still owed a "
                            "notice, about its subject")

DATA_COLLECTION_NOTICE = ProcessRule(
    "data-collection-notice", "A person whose data came from someone else was told, or an "
    "exemption recorded with its legal basis, within the policy's period, or the miss "
    "escalated", gdpr("14(3)(a)", "14(5)", "23"), DueProcessViolation, kind=RuleKind.HISTORY,
    guards=("GiveDataCollectionNotice", "RecordNoticeExemption",
            "EscalateMissedCollectionNotice"))

CONTENT = (COLLECTION_NOTICE_OWED,)
HISTORY = (DATA_COLLECTION_NOTICE,)
