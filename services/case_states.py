"""Cases folded from the store, one per stream: how the respondent's record (prior
sanctions) and the reporter's record (repeat reporting) read the person's own cases."""

from __future__ import annotations

from collections.abc import Sequence
from itertools import groupby

from ..domain.case import CaseState
from ..domain.streams import case_id_of
from ..store.eventstore import EventStore
from ..store.projections import case_state_from


async def case_states(store: EventStore, streams: Sequence[str]) -> list[CaseState]:
    """The cases in ``streams``, each folded from its stored events."""
    records = sorted(await store.read_streams(list(streams)),
                     key=lambda r: (r.stream_id, r.stream_version))
    return [case_state_from(list(events), case_id_of(stream) or stream)
            for stream, events in groupby(records, key=lambda r: r.stream_id)]
