"""Member standing's case views come from the case fold the case list and statistics share
when that is the same fold (store/case_folds.py): each view equals the domain's own
``case_views`` of the stream, whether shared or, where the payloads' times are not the
envelope's, folded apart."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from dueprocess.domain.envelope import NewEvent
from dueprocess.domain.membership.history import case_views
from dueprocess.store.case_folds import CaseViews, case_folds
from dueprocess.store.eventstore import EventStore
from fixtures.caselog import CLOSED, case_appends, people_of, stream_of


def _envelope_moved(events: list[NewEvent], by: timedelta) -> list[NewEvent]:
    """The events with their envelopes' effective times moved, their payloads' not (odd
    or imported data: the two disagree)."""
    return [e.model_copy(update={"effective_at": e.effective_at + by}) for e in events]


@pytest.mark.parametrize("shift", [timedelta(0), timedelta(minutes=7)])
async def test_a_case_view_equals_the_domains_own_fold(
    store: EventStore, shift: timedelta
) -> None:
    # given a case appended one decision at a time (shifted: envelope times moved, payload
    # times not, so the two disagree)
    stream_id = stream_of("c1")
    version = 0
    for events in case_appends(CLOSED, "c1", people_of(1, 3)):
        events = _envelope_moved(events, shift)
        await store.append(stream_id, version, events)
        version += len(events)
    history = await store.read_stream(stream_id)
    folds = case_folds()
    views = CaseViews(folds)
    # when its view is asked at each version, as batches would
    for n in (1, 4, len(history) - 1, len(history), len(history)):
        view = views.view(stream_id, history[:n])
        # then it is the domain's fold of those events
        assert view == case_views(history[:n])[0]
    # and, where the times agree, it is the shared fold itself (each event folded once)
    assert (view.state is folds.fold(stream_id, history)[0]) == (shift == timedelta(0))


def test_the_case_logs_copies_are_timed_as_the_workflows_record_them() -> None:
    # given a copy of the template moved in time
    shift = timedelta(minutes=7)
    # when its events are made
    events = [e for a in case_appends(CLOSED, "c1", people_of(1, 3), shift) for e in a]
    # then each payload's effective time is its envelope's (envelope_for), moved by shift
    assert all(datetime.fromisoformat(e.payload["effective_at"]) == e.effective_at
               for e in events)
    original = [e for a in case_appends(CLOSED, "c1", people_of(1, 3)) for e in a]
    assert [e.effective_at - o.effective_at for e, o in zip(events, original, strict=True)] \
        == [shift] * len(events)
