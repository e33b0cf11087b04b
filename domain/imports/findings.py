"""An imported step judged by the rules: unreadable (the file is refused) or recorded as it
happened, with each due-process rule it breaks listed as a finding.

The cut is the rule's error class, the same class decide() raises. A record that breaks an
``InvalidCommand`` or ``CaseClosed`` rule (unknown references, steps out of order, times
that cannot be, a second report...) makes the history unreadable: the planner refuses the
file. A step that breaks a due-process, policy or permission rule (a hearing on a day's
notice, a decision on evidence never disclosed, a conflicted panel) is what an audit of a
real, flawed history is for: its events are recorded as the source has them, and the
audit, asking the same rule predicates of the recorded step, fails the rule at that event.

Nothing here re-states a rule: the events are the ones ``propose()`` builds (the decider
without its rule judgement) and the findings are ``violations()`` of the catalogue, asked
at the time decide() would have asked them.

A step taken by someone the procedure did not allow (a party sitting as staff, an
investigator not assigned to the case) is refused by decide() before any event is built,
by a command check. It is recorded as it happened all the same (``propose`` without the
actor check, every other check kept), and its finding names the refused rule and the
audit check that judges the recorded actor (``instructions-on-record``). An actor whose
role the procedure does not know at all is unreadable, and refuses the file.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from ..base import DomainError, DueProcessViolation, Model, NotPermitted, PolicyViolation
from ..case.commands import CaseCommand
from ..case.decide import propose
from ..case.events import CaseEvent
from ..case.roles import ROLES
from ..case.state import CaseState, evolve
from ..rules.catalogue import BY_ID, violations
from ..rules.model import Violation

# Breaches of these are imported and listed; any other refuses the file (see above).
RECORDED_AS_BREACHES: tuple[type[DomainError], ...] = (
    DueProcessViolation, PolicyViolation, NotPermitted)


class ImportFinding(Model):
    """A step imported as recorded that fails a rule: "imported, fails rule X"."""

    record: str  # the file's record, e.g. cases[0].steps[8]
    case_id: str
    stream_version: int  # the event that breaks it, as the audit names it
    event_type: str
    rule: str
    field: str | None  # within the file's record, as a refusal names it: command.at
    message: str
    audit_check: str  # the audit check that fails at that event (the rule's own, mostly)

    def __str__(self) -> str:
        where = f" [field: {self.field}]" if self.field else ""
        audit = "" if self.audit_check == self.rule else f" (audit: {self.audit_check})"
        return (f"{self.record}: imported, fails rule {self.rule} at {self.event_type} "
                f"v{self.stream_version}{audit}: {self.message}{where}")


# The audit judges who acted in one check; a permission decide() refuses is a command check.
WHO_ACTED = "instructions-on-record"


def audit_check_of(rule_id: str) -> str:
    known = BY_ID.get(rule_id)
    return (known.audit_check if known else None) or WHO_ACTED


def as_recorded(state: CaseState, command: CaseCommand,
                now: datetime) -> tuple[list[CaseEvent], DomainError | None]:
    """The step's events, and the permission decide() refused it for, if any: a step taken
    by someone the procedure did not allow, in a role it knows, is recorded as it
    happened. Raises the DomainError when the step's events cannot be built."""
    try:
        return propose(state, command, now), None
    except DomainError as err:
        if not (isinstance(err, NotPermitted) and command.actor.role in ROLES):
            raise
        return propose(state, command, now, check_actor=False), err


def breaches_of(state: CaseState, events: Sequence[CaseEvent], now: datetime,
                ) -> tuple[list[tuple[int, Violation]], DomainError | None]:
    """Each (index of the event, violation) the step's events break, each judged against
    the case as it stood before it; or the first breach that makes the record unreadable."""
    found: list[tuple[int, Violation]] = []
    for index, event in enumerate(events):
        for violation in violations(state, event, now):
            if not issubclass(violation.error, RECORDED_AS_BREACHES):
                return found, violation.exception()
            found.append((index, violation))
        state = evolve(state, event)
    return found, None


def recordable(err: DomainError) -> bool:
    """Whether a refusal is a breach of a due-process rule rather than an unreadable record."""
    return isinstance(err, RECORDED_AS_BREACHES)


__all__ = ["RECORDED_AS_BREACHES", "WHO_ACTED", "ImportFinding", "as_recorded",
           "audit_check_of", "breaches_of", "recordable"]
