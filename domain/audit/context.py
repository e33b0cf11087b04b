"""Reading a case history for the audit: parse each stored record, fold it with ``evolve``.

Each entry keeps the state *before* it, the case as the actor saw it, so checks judge
every act against what was on the record at the time.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, TypeVar

from pydantic import ValidationError

from ..case.events import CASE_EVENT_ADAPTER, EVENT_TYPES, CaseEvent, CaseEventBase
from ..case.state import CaseState, evolve
from ..envelope import RecordedEvent
from ..policy import PolicyVersion

E = TypeVar("E", bound=CaseEventBase)


@dataclass(frozen=True)
class Entry(Generic[E]):
    record: RecordedEvent
    event: E
    before: CaseState  # the fold of everything recorded earlier: the case as the actor saw it

    @property
    def version(self) -> int:
        return self.record.stream_version

    @property
    def at(self) -> datetime:
        return self.event.effective_at

    @property
    def label(self) -> str:
        return f"{self.record.event_type} (v{self.record.stream_version})"


@dataclass(frozen=True)
class History:
    case_id: str
    entries: tuple[Entry[CaseEventBase], ...]
    unreadable: tuple[tuple[RecordedEvent, str], ...]
    final: CaseState
    notifications: tuple[RecordedEvent, ...] | None
    clock: datetime | None

    def of(self, kind: type[E]) -> list[Entry[E]]:
        found: list[Entry[E]] = []
        for entry in self.entries:
            event = entry.event
            if isinstance(event, kind):
                found.append(Entry(entry.record, event, entry.before))
        return found

    def first(self, kind: type[E]) -> Entry[E] | None:
        return next(iter(self.of(kind)), None)

    def earlier(self, than: Entry[Any], kind: type[E]) -> list[Entry[E]]:
        return [e for e in self.of(kind) if e.version < than.version]

    def later(self, than: Entry[Any], kind: type[E]) -> list[Entry[E]]:
        return [e for e in self.of(kind) if e.version > than.version]

    @property
    def procedure(self) -> PolicyVersion | None:
        return self.final.procedure


def read_history(
    events: Sequence[RecordedEvent], notifications: Sequence[RecordedEvent] | None,
    now: datetime | None,
) -> History:
    ordered = sorted(events, key=lambda r: r.stream_version)
    state = CaseState.empty(_case_id(ordered))
    entries: list[Entry[CaseEventBase]] = []
    unreadable: list[tuple[RecordedEvent, str]] = []
    for record in ordered:
        parsed = _parse(record)
        if isinstance(parsed, str):
            unreadable.append((record, parsed))
            continue
        entries.append(Entry(record, parsed, state))
        state = evolve(state, parsed)
    latest = max((r.recorded_at for r in ordered), default=None)
    return History(
        case_id=state.case_id, entries=tuple(entries), unreadable=tuple(unreadable),
        final=state, notifications=None if notifications is None else tuple(notifications),
        clock=now or latest)


def _case_id(ordered: list[RecordedEvent]) -> str:
    for record in ordered:
        case_id = record.payload.get("case_id")
        if record.event_type == "ReportFiled" and isinstance(case_id, str):
            return case_id
    return ordered[0].stream_id.removeprefix("case-") if ordered else ""


def _parse(record: RecordedEvent) -> CaseEvent | str:
    """The case event a record holds, or why it cannot be read as one."""
    if record.event_type not in EVENT_TYPES:
        return f"{record.event_type!r} is not a case event type"
    try:
        event = CASE_EVENT_ADAPTER.validate_python({"type": record.event_type, **record.payload})
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        return f"payload is not a valid {record.event_type}: {where}: {first['msg']}"
    if event.type != record.event_type:
        return f"stored as {record.event_type} but the payload says {event.type}"
    return event
