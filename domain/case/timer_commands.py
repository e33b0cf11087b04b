"""Timer commands of the case: part of the one CaseCommand union in commands.py, which
re-exports them."""

from __future__ import annotations

from typing import Literal

from ..text import SystemDatetime
from .command_base import CaseCommandBase
from .values import EscalatedKind

# Timer commands: issued by the workflow (SYSTEM_ACTOR) when a durable timer fires.
# Each carries the due time it was set for, so a stale timer is a no-op.


class EscalateMissedDeadline(CaseCommandBase):
    type: Literal["EscalateMissedDeadline"] = "EscalateMissedDeadline"
    kind: EscalatedKind
    due_at: SystemDatetime


class LapseInterimSuspension(CaseCommandBase):
    type: Literal["LapseInterimSuspension"] = "LapseInterimSuspension"
    review_by: SystemDatetime


class CloseAppealWindow(CaseCommandBase):
    type: Literal["CloseAppealWindow"] = "CloseAppealWindow"
    closes_at: SystemDatetime


class EndSanction(CaseCommandBase):
    type: Literal["EndSanction"] = "EndSanction"
    ends_at: SystemDatetime


class EscalateMissedCollectionNotice(CaseCommandBase):
    """Every Art 14 notice due by ``due_at`` and still owed is recorded as missed."""

    type: Literal["EscalateMissedCollectionNotice"] = "EscalateMissedCollectionNotice"
    due_at: SystemDatetime


TimerCommand = (EscalateMissedDeadline | LapseInterimSuspension | CloseAppealWindow
                | EndSanction | EscalateMissedCollectionNotice)
TIMER_COMMANDS: tuple[type[CaseCommandBase], ...] = (
    EscalateMissedDeadline, LapseInterimSuspension, CloseAppealWindow, EndSanction,
    EscalateMissedCollectionNotice,
)
