"""Member standing's case views come from the case fold the case list and statistics share
when that is the same fold (store/case_folds.py): each view equals the domain's own
``case_views`` of the stream, whether shared or, where the payloads' times are not the
envelope's, folded apart."""

from __future__ import annotations

from datetime import timedelta

import pytest
from dueprocess.domain.membership.history import case_views
from dueprocess.store.case_folds import CaseViews, case_folds
from dueprocess.store.eventstore import EventStore
from fixtures.caselog import CLOSED, case_appends, people_of, stream_of


@pytest.mark.parametrize("shift", [timedelta(0), timedelta(minutes=7)])
async def test_a_case_view_equals_the_domains_own_fold(
    store: EventStore, shift: timedelta
) -> None:
    # given a case appended one decision at a time (shifted: envelope times moved, payload
    # times not, as the benchmarks' case log does)
    stream_id = stream_of("c1")
    version = 0
    for events in case_appends(CLOSED, "c1", people_of(1, 3), shift):
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
