"""What standing reads: the member's facts and the measures of their cases, as known on a
date, each tied to the stored events that produced it.

Case events are folded by the case's one fold, ``evolve``; the measures come from the
folded ``CaseState`` (its measure history), never from a second fold here. What was
known on a date is the fold of the events recorded by then.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Generic, Literal, TypeVar
from uuid import UUID

from pydantic import ValidationError

from ..base import Model
from ..case.events import CASE_EVENT_ADAPTER, CaseEvent
from ..case.measures import Measure
from ..case.state import CaseState, evolve
from ..envelope import RecordedEvent
from ..policy import Right
from ..streams import case_id_of
from .member import MEMBER_EVENT_ADAPTER, MEMBER_EVENT_TYPES, MemberEvent
from .statuses import EXPELLED, WARNED

# Which knowledge time an as-known-on query uses: "asserted" takes an imported event's
# time as its source asserts it (the time the organisation knew it), "recorded" the time
# dueprocess recorded it. They differ only for imported events.
Knowledge = Literal["asserted", "recorded"]


class Reason(Model):
    """One event behind an answer, with what it did to the member's standing."""

    event_id: UUID
    stream_id: str
    event_type: str
    effective_at: datetime
    recorded_at: datetime
    explanation: str
    # Imported events: the knowledge time the source asserts, and where it came from.
    known_at: datetime | None = None
    imported_from: str | None = None


E = TypeVar("E", covariant=True)


@dataclass(frozen=True)
class Cited(Generic[E]):
    """A parsed event with its envelope (for valid/knowledge time and the reason)."""

    record: RecordedEvent
    event: E

    @property
    def at(self) -> datetime:
        return self.record.effective_at

    @property
    def order(self) -> tuple[str, int, str]:
        return self.record.stream_id, self.record.stream_version, str(self.record.event_id)

    def reason(self, explanation: str) -> Reason:
        r = self.record
        imported = r.imported
        return Reason(event_id=r.event_id, stream_id=r.stream_id, event_type=r.event_type,
                      effective_at=r.effective_at, recorded_at=r.recorded_at,
                      explanation=explanation,
                      known_at=r.known_at if imported else None,
                      imported_from=f"{imported.source} (import {imported.import_id}, "
                                    f"{imported.record})" if imported else None)


def known(records: Sequence[RecordedEvent], as_known_on: datetime | None,
          knowledge: Knowledge = "asserted") -> list[RecordedEvent]:
    """The events known on ``as_known_on`` by the chosen knowledge time."""
    if as_known_on is None:
        return list(records)
    if knowledge == "recorded":
        return [r for r in records if r.recorded_at <= as_known_on]
    return [r for r in records if r.known_at <= as_known_on]


def parse_member(record: RecordedEvent) -> Cited[MemberEvent] | None:
    """The member fact, or None for a type standing does not use or cannot read: an
    unreadable event must not make a member's standing unanswerable."""
    if record.event_type not in MEMBER_EVENT_TYPES:
        return None
    try:
        return Cited(record, MEMBER_EVENT_ADAPTER.validate_python(_payload(record)))
    except ValidationError:
        return None


def _parse_case(record: RecordedEvent) -> CaseEvent | None:
    try:
        return CASE_EVENT_ADAPTER.validate_python(_payload(record))
    except ValidationError:
        return None


def _payload(record: RecordedEvent) -> dict[str, object]:
    # The envelope's times are the ones the log is judged by.
    return {**record.payload, "type": record.event_type, "effective_at": record.effective_at}


@dataclass(frozen=True)
class CaseView:
    """One case as known: its folded state and the events folded, in fold order
    (``folded[n - 1]`` is the event a measure cites as ``n``)."""

    state: CaseState
    folded: tuple[Cited[CaseEvent], ...]

    def cite(self, seq: int | None) -> Cited[CaseEvent] | None:
        return self.folded[seq - 1] if seq is not None else None


def case_views(records: Sequence[RecordedEvent]) -> list[CaseView]:
    """Each case stream folded by ``evolve``, in stream order; unreadable events skipped."""
    streams: dict[str, list[RecordedEvent]] = {}
    for record in sorted(records, key=lambda r: (r.stream_id, r.stream_version,
                                                 str(r.event_id))):
        streams.setdefault(record.stream_id, []).append(record)
    views = [extend_view(empty_view(stream_id), items) for stream_id, items in streams.items()]
    return [view for view in views if view.folded]


def empty_view(stream_id: str) -> CaseView:
    return CaseView(state=CaseState.empty(case_id_of(stream_id) or stream_id), folded=())


def extend_view(view: CaseView, records: Sequence[RecordedEvent]) -> CaseView:
    """``view`` with the stream's next ``records`` folded on (unreadable ones skipped): what
    ``case_views`` gives for the longer stream, for a caller that keeps views as streams
    grow (the member-standing projection)."""
    state, folded = view.state, list(view.folded)
    for record in records:
        event = _parse_case(record)
        if event is not None:
            state = evolve(state, event)
            folded.append(Cited(record, event))
    return CaseView(state=state, folded=tuple(folded))


@dataclass(frozen=True)
class MeasureView:
    """A measure from a case's folded state, with the events it cites."""

    fact: Measure
    case: CaseView

    def cite(self, seq: int | None) -> Cited[CaseEvent] | None:
        return self.case.cite(seq)

    @property
    def source(self) -> Cited[CaseEvent]:
        cited = self.case.cite(self.fact.source)
        assert cited is not None
        return cited

    @property
    def status(self) -> str:
        return self.fact.status

    @property
    def rights(self) -> frozenset[Right]:
        return self.fact.rights

    @property
    def start(self) -> datetime:
        return self.fact.start

    @property
    def voided(self) -> bool:
        return self.fact.voided

    def end_by(self, readmissions: Sequence[datetime]) -> datetime | None:
        """When it stopped; an expulsion ends only when the member is admitted again."""
        if self.status != EXPELLED:
            return self.fact.end
        later = [at for at in readmissions if at > self.start]
        return min([*later, *([self.fact.end] if self.fact.end else [])], default=None)

    def expired(self, as_of: datetime) -> bool:
        """No longer current on the record: its rule's period is over (ACAS 19-20)."""
        return self.fact.current_until is not None and as_of >= self.fact.current_until

    def in_effect(self, as_of: datetime, readmissions: Sequence[datetime]) -> bool:
        if self.status == WARNED and self.expired(as_of):
            return False  # an expired warning no longer stands
        end = self.end_by(readmissions)
        return not self.voided and self.start <= as_of and (end is None or as_of < end)


def measures_of(member_id: str, records: Sequence[RecordedEvent],
                views: Sequence[CaseView] | None = None) -> list[MeasureView]:
    """Measures of the cases in ``records`` (or already folded: ``views``, as
    ``case_views`` gives them) where ``member_id`` is respondent (a case with no readable
    report counts: its measures are on the record)."""
    found = []
    for view in case_views(records) if views is None else views:
        respondent = view.state.respondent
        if respondent is None or respondent.person_id == member_id:
            found += [MeasureView(fact=m, case=view) for m in view.state.measures.measures]
    return found
