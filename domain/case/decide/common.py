"""What every decider shares: the fields an event copies from its command."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ...policy import PolicyVersion
from ...rules.records import CASE_NOT_REPORTED
from ..commands import CaseCommandBase
from ..state import CaseState


def meta(command: CaseCommandBase, at: datetime) -> dict[str, Any]:
    """The fields every event copies from the command that caused it."""
    return {"actor": command.actor, "authority": command.authority, "effective_at": at}


def procedure(state: CaseState) -> PolicyVersion:
    version = state.procedure
    if version is None:
        raise CASE_NOT_REPORTED.refuse("the case has no report yet")
    return version
