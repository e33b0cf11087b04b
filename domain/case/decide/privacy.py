"""Deciders for GDPR Art 14 data-collection notices: given, exempted, or missed (timer)."""

from __future__ import annotations

from datetime import datetime
from itertools import groupby

from ...rules.collection import overdue_notices
from ..commands import (
    EscalateMissedCollectionNotice,
    GiveDataCollectionNotice,
    RecordNoticeExemption,
)
from ..events import (
    CaseEvent,
    DataCollectionNoticeExempted,
    DataCollectionNoticeGiven,
    DataCollectionNoticeMissed,
)
from ..state import CaseState
from .common import meta, procedure


def give_data_collection_notice(state: CaseState, cmd: GiveDataCollectionNotice,
                                at: datetime) -> list[CaseEvent]:
    if all(i in state.collection.noticed for i in cmd.evidence_ids):
        return []  # a retried command: they were told
    sources = []
    for evidence_id in cmd.evidence_ids:
        item = state.evidence.get(evidence_id)
        # Art 14(2)(f): the source, including whether it was publicly accessible.
        sources.append(f"{evidence_id}: {item.source_kind.value} from {item.captured_from}"
                       if item else f"{evidence_id}: not on file")
    return [DataCollectionNoticeGiven(**meta(cmd, at), subject_id=cmd.subject_id,
                                      evidence_ids=cmd.evidence_ids, sources=sources,
                                      channel=cmd.channel)]


def record_notice_exemption(state: CaseState, cmd: RecordNoticeExemption,
                            at: datetime) -> list[CaseEvent]:
    if all(i in state.collection.exempted for i in cmd.evidence_ids):
        return []
    return [DataCollectionNoticeExempted(
        **meta(cmd, at), subject_id=cmd.subject_id, evidence_ids=cmd.evidence_ids,
        exemption=cmd.exemption, legal_basis=cmd.legal_basis, reasons=cmd.reasons)]


def escalate_missed_collection_notice(state: CaseState, cmd: EscalateMissedCollectionNotice,
                                      at: datetime) -> list[CaseEvent]:
    """One miss per person for every notice due by the timer's time and still owed."""
    due = [o for o in overdue_notices(state, at) if o.due_at <= cmd.due_at]
    by_subject = groupby(sorted(due, key=lambda o: (o.subject_id, o.evidence_id)),
                         key=lambda o: o.subject_id)
    if not due:
        return []
    events: list[CaseEvent] = []
    then = procedure(state).deadlines.escalation("data_collection_notice")
    for subject_id, owed in by_subject:
        items = list(owed)
        events.append(DataCollectionNoticeMissed(
            **meta(cmd, at), subject_id=subject_id, evidence_ids=[o.evidence_id for o in items],
            due_at=max(o.due_at for o in items), escalated_to=then.to,
            next_step=then.next_step))
    return events
