"""Events of repeat-reporter handling (DSA Art 23). Part of the one CaseEvent union in
domain/case/events.py.

Each keeps the facts it was decided on, so the audit can judge it from the record: the
warning lists the dismissals it counted, a hold copies the warning it applies.
"""

from __future__ import annotations

from typing import Literal

from pydantic import AwareDatetime

from ..base import Personal
from ..ids import PersonId
from ..policy import IsoDuration
from .event_base import CaseEventBase
from .reporter_values import ReporterWarning, UnfoundedDismissal


class ReporterWarned(CaseEventBase):
    """The reporter of this (dismissed) case reached the threshold and was warned."""

    type: Literal["ReporterWarned"] = "ReporterWarned"
    reporter_id: PersonId
    counted: list[UnfoundedDismissal]  # this case's dismissal among them
    threshold: int
    window: IsoDuration
    hold_until: AwareDatetime
    reasons: str  # the rulebook's warning


class ReportHeld(CaseEventBase):
    """This report is recorded but not processed until ``held_until``."""

    type: Literal["ReportHeld"] = "ReportHeld"
    reporter_id: PersonId
    warning: ReporterWarning
    held_until: AwareDatetime
    reasons: str


class HoldContested(CaseEventBase):
    type: Literal["HoldContested"] = "HoldContested"
    reasons: Personal


class HoldContestDecided(CaseEventBase):
    type: Literal["HoldContestDecided"] = "HoldContestDecided"
    decided_by: PersonId
    lifted: bool
    reasons: str


class HoldReleased(CaseEventBase):
    """The hold ended: its period ran out, or a contest lifted it."""

    type: Literal["HoldReleased"] = "HoldReleased"
    held_until: AwareDatetime
    lifted: bool = False
