"""What the case knows about data-collection notices (GDPR Art 14), folded from events.

Rule-free like the rest of the fold: it records when each evidence item reached the case
and which items a notice, an exemption or a recorded miss covered. Whether a notice is
owed, and by when, is a rule (domain/rules/collection.py).
"""

from __future__ import annotations

from datetime import datetime

from ..base import Model
from .events import (
    CaseEventBase,
    DataCollectionNoticeExempted,
    DataCollectionNoticeGiven,
    DataCollectionNoticeMissed,
    EvidenceAdded,
    ReportFiled,
)


class CollectionNotices(Model):
    received_at: dict[str, datetime] = {}  # evidence_id -> when it reached the case
    noticed: dict[str, datetime] = {}  # evidence_id -> when its subject was told
    exempted: dict[str, datetime] = {}  # evidence_id -> when an exemption was recorded
    missed: frozenset[str] = frozenset()  # evidence ids whose notice was recorded as missed

    def settled(self, evidence_id: str) -> bool:
        return evidence_id in self.noticed or evidence_id in self.exempted


def record_collection(notices: CollectionNotices, event: CaseEventBase) -> CollectionNotices:
    at = event.effective_at
    match event:
        case ReportFiled() | EvidenceAdded():
            arrived = {e.evidence_id: at for e in event.evidence}
            return notices.model_copy(update={"received_at": {**arrived, **notices.received_at}})
        case DataCollectionNoticeGiven():
            noticed = {i: at for i in event.evidence_ids}
            return notices.model_copy(update={"noticed": {**noticed, **notices.noticed}})
        case DataCollectionNoticeExempted():
            exempted = {i: at for i in event.evidence_ids}
            return notices.model_copy(update={"exempted": {**exempted, **notices.exempted}})
        case DataCollectionNoticeMissed():
            return notices.model_copy(update={"missed": notices.missed | set(event.evidence_ids)})
    return notices
