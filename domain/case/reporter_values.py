"""What the record says about a reporter (DSA Art 23), as values commands and events carry.

A reporter's history spans cases, and each case is its own stream: the workflow reads the
reporter's facts from the recorded cases (``services/reporters.py``) and hands them to
decide() in a system command, and the event decide() writes keeps the facts it relied on,
so the audit judges the warning or the hold from the record alone, by the same rules.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import Field

from ..base import Model
from ..ids import PersonId
from ..text import IdText, SystemDatetime

# Enough for any threshold a rulebook may set (policy_parts.MAX_REPEAT_THRESHOLD), and
# small enough for the command size limit.
MAX_RECORDED_DISMISSALS = 200
MAX_RECORDED_WARNINGS = 50


class UnfoundedDismissal(Model):
    """A report by the reporter dismissed at triage as manifestly unfounded."""

    case_id: IdText
    dismissed_at: SystemDatetime
    dismissed_by: PersonId


class ReporterWarning(Model):
    """A reasoned warning given to a reporter, and the hold it began."""

    case_id: IdText  # the case whose dismissal reached the threshold
    warned_at: SystemDatetime
    hold_until: SystemDatetime  # reports filed before this are held (or when a contest lifted it)
    # Who dismissed the reports counted: none of them decides a contest of the hold.
    involved: list[PersonId] = Field(default=[], max_length=MAX_RECORDED_DISMISSALS)

    def holds(self, at: datetime) -> bool:
        return self.warned_at <= at < self.hold_until


class ReporterRecord(Model):
    """A reporter's dismissals and warnings as the record stood when it was read."""

    reporter_id: PersonId
    dismissals: list[UnfoundedDismissal] = Field(default=[],
                                                 max_length=MAX_RECORDED_DISMISSALS)
    warnings: list[ReporterWarning] = Field(default=[], max_length=MAX_RECORDED_WARNINGS)

    def hold_on(self, at: datetime) -> ReporterWarning | None:
        """The latest warning whose hold covers ``at``, if any."""
        return max((w for w in self.warnings if w.holds(at)), key=lambda w: w.warned_at,
                   default=None)

    def counted(self, since: datetime, until: datetime) -> list[UnfoundedDismissal]:
        """One dismissal per case, dismissed in ``[since, until]``, oldest first."""
        by_case: dict[str, UnfoundedDismissal] = {}
        for dismissal in sorted(self.dismissals, key=lambda d: (d.dismissed_at, d.case_id)):
            if since <= dismissal.dismissed_at <= until:
                by_case.setdefault(dismissal.case_id, dismissal)
        return sorted(by_case.values(), key=lambda d: (d.dismissed_at, d.case_id))

