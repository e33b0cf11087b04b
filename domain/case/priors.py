"""A respondent's prior sanctions (ACAS Code paras 19-22), as commands and events carry them.

A respondent's history spans cases, and each case is its own stream: the workflow reads
the sanctions carried out in the respondent's other cases (``services/respondents.py``,
folded by ``respondent.py``) and hands them to decide() with the decision; the event keeps
which were weighed (current when decided) and which were on the record but no longer
current (never counted), so the audit judges the decision from the record alone, by the
same rules.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import Field

from ..base import Model
from ..ids import PersonId
from ..text import IdText, SystemDatetime
from .values import Sanction

# Far more than any member's record holds, small enough for the command size limit.
MAX_PRIOR_SANCTIONS = 100


class PriorSanction(Model):
    """A sanction carried out in another case of the respondent, with its currency."""

    case_id: IdText
    sanction: Sanction
    applied_at: SystemDatetime
    current_until: SystemDatetime | None = None  # None: current indefinitely

    def current_at(self, at: datetime) -> bool:
        return self.applied_at <= at and (self.current_until is None or at < self.current_until)

    def describe(self) -> str:
        until = f"current until {self.current_until.date().isoformat()}" \
            if self.current_until else "current indefinitely"
        term = f" ({self.sanction.term.days} days)" if self.sanction.term is not None else ""
        return (f"{self.sanction.kind.value}{term} of case {self.case_id}, applied "
                f"{self.applied_at.date().isoformat()}, {until}")


class RespondentRecord(Model):
    """The respondent's sanctions carried out in their cases, as the record stood when read."""

    respondent_id: PersonId
    sanctions: list[PriorSanction] = Field(default=[], max_length=MAX_PRIOR_SANCTIONS)


class PriorsWeighed(Model):
    """What a decision took into account: the prior sanctions current when it was decided
    (they count, e.g. towards escalation) and those on the record but expired (shown, never
    counted)."""

    weighed: list[PriorSanction] = Field(default=[], max_length=MAX_PRIOR_SANCTIONS)
    expired: list[PriorSanction] = Field(default=[], max_length=MAX_PRIOR_SANCTIONS)


def weigh(record: RespondentRecord, case_id: str, at: datetime) -> PriorsWeighed:
    """Split the respondent's other sanctions taken effect by ``at`` into current and expired."""
    prior = sorted((p for p in record.sanctions if p.case_id != case_id and p.applied_at <= at),
                   key=lambda p: (p.applied_at, p.case_id))
    return PriorsWeighed(weighed=[p for p in prior if p.current_at(at)],
                         expired=[p for p in prior if not p.current_at(at)])


def prior_lines(priors: PriorsWeighed | None, aggravating: list[str]) -> list[str]:
    """What the decision notice says about the respondent's prior sanctions."""
    if priors is None:
        return []
    cited = set(aggravating)
    weighed = [p.describe() + (" (relied on as aggravating)" if p.case_id in cited else "")
               for p in priors.weighed]
    lines = ["Prior sanctions weighed (current when decided): "
             + ("; ".join(weighed) if weighed else "none") + "."]
    if priors.expired:
        lines.append("Prior sanctions no longer current, not counted: "
                     + "; ".join(p.describe() for p in priors.expired) + ".")
    return lines
