"""The case workflow's start input, which is also the state continue-as-new carries over.

It is a storage format like the events: every open case's latest run holds one in its
history, written by whichever worker version handed over. So it carries a schema version,
and ``CaseInput`` upcasts older shapes on load; a shape from a newer worker than this one is
refused (the workflow task retries until the newer worker takes it) rather than misread.

Versions:
1. Before versioning: no ``schema_version`` field (case_id, state, version, fired,
   history_limit). Upcast: the fields are unchanged.
2. ``schema_version`` added.
3. ``rebuild`` (a closed case started again: its state is read from the event store) and
   ``retention_queue`` (where its retention timer runs) added. Upcast: False and None,
   what every earlier run did.
"""

from __future__ import annotations

from typing import Any

from pydantic import model_validator

from ..domain import case as dc
from ..domain.base import Model

CASE_INPUT_SCHEMA = 3


def upcast(data: dict[str, Any]) -> dict[str, Any]:
    """Any stored shape, as the current one (one step per version, oldest first)."""
    version = data.get("schema_version", 1)
    if not isinstance(version, int) or version < 1:
        raise ValueError(f"schema_version must be a positive integer, not {version!r}")
    if version > CASE_INPUT_SCHEMA:
        raise ValueError(f"schema_version {version} is newer than this worker's "
                         f"{CASE_INPUT_SCHEMA}: deploy the newer worker")
    if version == 1:
        data = {**data, "schema_version": 2}
    if data["schema_version"] == 2:
        # Defaults, not overrides: a new input built without its version lands here too.
        data = {"rebuild": False, "retention_queue": None, **data, "schema_version": 3}
    return data


class CaseInput(Model):
    schema_version: int = CASE_INPUT_SCHEMA
    case_id: str
    state: dc.CaseState | None = None  # carried over by continue-as-new
    version: int = 0
    fired: list[str] = []  # deadlines already acted on (kind@due), carried over too
    # Continue as new past this many history events (None: when Temporal suggests it,
    # at about 4,096 events or 4 MiB). Lowered in tests to exercise the hand-over.
    history_limit: int | None = None
    # The case was recorded before this run (a command sent after its closure): the run
    # reads it from the event store before it judges any command.
    rebuild: bool = False
    # The task queue of the case's retention timer: the configured main queue, so the main
    # worker shreds cases closed by a worker of another queue (the demo's). None: this run's.
    retention_queue: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _upcast(cls, data: Any) -> Any:
        return upcast(data) if isinstance(data, dict) else data
