"""A respondent's prior sanctions (ACAS Code paras 19-22), read from their cases.

Each sanction carried out is an event of its own case: this reads the respondent's cases
through the person index (``case_streams_for``: the person's own streams, never the log)
and folds them; the workflow hands the result to decide() with the decision, and the
decision keeps which prior sanctions it weighed.
"""

from __future__ import annotations

from ..domain.case.priors import RespondentRecord
from ..domain.case.respondent import respondent_record
from ..store.db import Database
from ..store.eventstore import EventStore
from .case_states import case_states
from .members import case_streams_for


async def load_respondent_record(pool: Database, store: EventStore,
                                 respondent_id: str) -> RespondentRecord:
    states = await case_states(store, await case_streams_for(pool, respondent_id))
    return respondent_record(respondent_id, states)
