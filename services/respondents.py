"""A respondent's prior sanctions (ACAS Code paras 19-22), read from their cases.

Each sanction carried out is an event of its own case: this reads the respondent's cases
through the person index (``case_streams_for``: the person's own streams, never the log)
and folds them; the workflow hands the result to decide() with the decision, and the
decision keeps which prior sanctions it weighed.
"""

from __future__ import annotations

from itertools import groupby

from ..domain.case.priors import RespondentRecord
from ..domain.case.respondent import respondent_record
from ..domain.streams import case_id_of
from ..store.db import Database
from ..store.eventstore import EventStore
from ..store.projections import case_state_from
from .members import case_streams_for


async def load_respondent_record(pool: Database, store: EventStore,
                                 respondent_id: str) -> RespondentRecord:
    records = await store.read_streams(await case_streams_for(pool, respondent_id))
    by_stream = sorted(records, key=lambda r: (r.stream_id, r.stream_version))
    states = [case_state_from(list(events), case_id_of(stream) or stream)
              for stream, events in groupby(by_stream, key=lambda r: r.stream_id)]
    return respondent_record(respondent_id, states)
