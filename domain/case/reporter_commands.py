"""Commands of repeat-reporter handling (DSA Art 23): part of the one CaseCommand union in
commands.py, which re-exports them.

``WarnReporter`` and ``HoldReport`` are issued by the case workflow (SYSTEM_ACTOR) with the
reporter's facts it read from the recorded cases; ``ReleaseHold`` when the hold's timer
fires. The reporter contests a hold; a case officer who took no part decides.
"""

from __future__ import annotations

from typing import Literal

from ..base import Personal
from ..text import FreeText, SystemDatetime
from .command_base import CaseCommandBase
from .reporter_values import ReporterRecord


class WarnReporter(CaseCommandBase):
    """After a manifestly unfounded dismissal: warn the reporter if the threshold is met."""

    type: Literal["WarnReporter"] = "WarnReporter"
    record: ReporterRecord


class HoldReport(CaseCommandBase):
    """After a report: hold it if its reporter was warned and the hold still runs."""

    type: Literal["HoldReport"] = "HoldReport"
    record: ReporterRecord


class ContestHold(CaseCommandBase):
    """The reporter says why the hold of their report is wrong (DSA Art 23(3), 20)."""

    type: Literal["ContestHold"] = "ContestHold"
    reasons: Personal


class DecideHoldContest(CaseCommandBase):
    type: Literal["DecideHoldContest"] = "DecideHoldContest"
    lift: bool  # True: the hold was wrong and ends now; False: it stands to its end
    reasons: FreeText


class ReleaseHold(CaseCommandBase):
    """Timer: the hold's period is over and the report is processed."""

    type: Literal["ReleaseHold"] = "ReleaseHold"
    held_until: SystemDatetime


REPORTER_SYSTEM_COMMANDS = ("WarnReporter", "HoldReport", "ReleaseHold")
