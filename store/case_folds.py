"""Cases as the read models fold them, with the domain's one fold (``evolve``), each event
parsed and folded once: for the case list and the statistics (``case_folds``), and for
member standing's case views (``CaseViews``), which reuse the same fold when it is the
same fold (see there)."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence
from datetime import datetime

from ..domain import case as dc
from ..domain.envelope import RecordedEvent
from ..domain.membership.history import CaseView, Cited, empty_view, extend_view
from ..domain.streams import case_id_of
from .errors import ODD_DATA, UnreadableEvent, reason
from .histories import Folds

__all__ = ["CaseFold", "CaseViews", "case_folds", "case_state_from", "first_unreadable"]


def case_state_from(events: Sequence[RecordedEvent], case_id: str) -> dc.CaseState:
    """The case folded from its stored events; an event this code cannot fold (a shape it
    does not read) is ``UnreadableEvent`` naming it."""
    try:
        return dc.state_from_payloads(case_id, (e.payload for e in events))
    except ODD_DATA as err:
        raise first_unreadable(events, err) from err


def _empty_case(stream_id: str) -> dc.CaseState:
    return dc.CaseState.empty(case_id_of(stream_id) or stream_id)


# A case as the per-case read models fold it: its state, when it entered its stage, and its
# events parsed; each event parsed and folded once for both (case list, statistics).
CaseFold = tuple[dc.CaseState, datetime | None, tuple[dc.CaseEvent, ...]]


def _case_step(folded: CaseFold, event: RecordedEvent) -> CaseFold:
    """One event folded on (``evolve``); the stage was entered when the last event that
    changed it took effect (the one fold decides)."""
    state, entered, parsed = folded
    new = dc.CASE_EVENT_ADAPTER.validate_python(event.payload)
    after = dc.evolve(state, new)
    return after, event.effective_at if after.stage != state.stage else entered, (*parsed, new)


def case_folds() -> Folds[CaseFold]:
    return Folds[CaseFold](lambda s: (_empty_case(s), None, ()), _case_step)


def first_unreadable(events: Sequence[RecordedEvent], err: BaseException) -> UnreadableEvent:
    for event in events:
        try:
            dc.CASE_EVENT_ADAPTER.validate_python(event.payload)
        except ODD_DATA as invalid:
            return UnreadableEvent(reason(invalid), stream_id=event.stream_id,
                                   stream_version=event.stream_version,
                                   event_id=str(event.event_id))
    return UnreadableEvent(f"the case does not fold: {reason(err)}",
                           stream_id=events[-1].stream_id if events else None)


class CaseViews:
    """Member standing's view of each case (``extend_view``: the events parsed with the
    envelope's type and effective time, unreadable ones skipped), taken from the case fold
    the case list and statistics share whenever that is the same fold: every event read,
    each payload's type and effective time the envelope's. Otherwise (odd or imported
    data) the view is folded by ``extend_view`` itself, as before.

    Measured (a 30 cases/s log of 600 cases replayed at that pace, a batch per 100 ms):
    member standing parsed and evolved every case event a second time (2.5 s of the
    runner's 14.4 s, profiled); sharing the fold, 9.2-9.6 -> 6.8-7.5 ms CPU per case. (The
    benchmarks' case log moves envelope times but not the payloads', so there every view
    is folded apart, as before; the workflows' events always agree: ``envelope_for``.)"""

    HELD = 2000  # streams whose last view is kept (a member's other cases, asked again)

    def __init__(self, folds: Folds[CaseFold]) -> None:
        self._folds = folds
        self._own = Folds[CaseView](empty_view, lambda v, e: extend_view(v, [e]))
        # Per stream, the last view made: (events, the fold's state, view).
        self._last: OrderedDict[str, tuple[int, dc.CaseState, CaseView]] = OrderedDict()

    def view(self, stream_id: str, history: Sequence[RecordedEvent]) -> CaseView:
        try:
            state, _, parsed = self._folds.fold(stream_id, history)
        except ODD_DATA:
            return self._own.fold(stream_id, history)
        last = self._last.get(stream_id)
        if last is not None and last[0] == len(history) and last[1] is state:
            self._last.move_to_end(stream_id)
            return last[2]
        if not all(p.type == r.event_type and p.effective_at == r.effective_at
                   for p, r in zip(parsed, history, strict=True)):
            return self._own.fold(stream_id, history)
        view = CaseView(state=state, folded=tuple(
            Cited(r, p) for r, p in zip(history, parsed, strict=True)))
        self._last[stream_id] = (len(history), state, view)
        self._last.move_to_end(stream_id)
        while len(self._last) > self.HELD:
            self._last.popitem(last=False)
        return view
