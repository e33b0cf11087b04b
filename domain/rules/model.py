"""The shape of a due-process rule, as data.

A rule has a stable id, a title, the sources it comes from and ONE predicate judging a
transition: the case as it stood (``before``), the event (a candidate from decide(), or
one on the record for the audit) and ``now``. The decider refuses a command whose
candidate events break a rule; the audit fails the rule on a recorded event that breaks
it. Both call the same predicate, so what the engine refuses, the audit fails.

Command checks are rules about a command's own shape that no recorded event can show
(e.g. a dismissal reason on an investigate outcome); they are listed in the catalogue
so every id the engine can raise is documented, but they have no predicate. History
rules are judged by the audit over a whole history (deadlines at ``now``, delivery to
the complainant) and have no decider counterpart.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from ..base import DomainError
from ..case.events import CaseEventBase, ReportFiled
from ..case.state import CaseState
from ..policy import PolicyVersion


class SourceKind(StrEnum):
    ACAS = "ACAS Code"
    DSA = "DSA"
    GDPR = "GDPR"
    CASE = "case law"
    REPORT = "report"
    INVARIANT = "invariant"


@dataclass(frozen=True)
class Source:
    kind: SourceKind
    ref: str  # "para 9", "Art 17(3)", "Porter v Magill", "2"

    def __str__(self) -> str:
        if self.kind is SourceKind.ACAS:
            return f"ACAS Code para {self.ref}"
        if self.kind in (SourceKind.DSA, SourceKind.GDPR):
            return f"{self.kind.value} Art {self.ref}"
        if self.kind is SourceKind.INVARIANT:
            return f"invariant {self.ref}"
        return self.ref


def acas(*paras: str) -> tuple[Source, ...]:
    return tuple(Source(SourceKind.ACAS, p) for p in paras)


def dsa(*articles: str) -> tuple[Source, ...]:
    return tuple(Source(SourceKind.DSA, a) for a in articles)


def gdpr(*articles: str) -> tuple[Source, ...]:
    return tuple(Source(SourceKind.GDPR, a) for a in articles)


def case_law(*names: str) -> tuple[Source, ...]:
    return tuple(Source(SourceKind.CASE, n) for n in names)


def report(*names: str) -> tuple[Source, ...]:
    return tuple(Source(SourceKind.REPORT, n) for n in names)


def invariant(*numbers: int) -> tuple[Source, ...]:
    return tuple(Source(SourceKind.INVARIANT, str(n)) for n in numbers)


class RuleKind(StrEnum):
    TRANSITION = "transition"  # judged on each event, by decide() and by the audit
    COMMAND = "command"  # judged on the command only, by decide()
    HISTORY = "history"  # judged by the audit over the whole history at ``now``


@dataclass(frozen=True)
class Transition:
    """One step: the case before it, the event, and the time it is judged at.

    ``now`` is the decider's clock for a candidate, and the time the store learned of
    a recorded event (``recorded_at``) for the audit.
    """

    before: CaseState
    event: CaseEventBase
    now: datetime

    @property
    def procedure(self) -> PolicyVersion | None:
        """The procedure version pinned in the case (by this event, for a report)."""
        event = self.event
        if isinstance(event, ReportFiled):
            return next((v for v in event.pinned_versions
                         if v.version == event.procedure_version), None)
        return self.before.procedure


@dataclass(frozen=True)
class Breach:
    """What a predicate found wrong: the field at fault (command/event path) and why."""

    field: str | None
    message: str
    error: type[DomainError] | None = None  # when the rule's usual class does not fit


@dataclass(frozen=True)
class Violation:
    rule: str
    field: str | None
    message: str
    error: type[DomainError]

    def exception(self) -> DomainError:
        return self.error(self.message, rule=self.rule, field=self.field)


Predicate = Callable[[Transition], Iterator[Breach]]


@dataclass(frozen=True)
class ProcessRule:
    rule_id: str
    title: str
    sources: tuple[Source, ...]
    error: type[DomainError]
    kind: RuleKind = RuleKind.TRANSITION
    guards: tuple[str, ...] = ()  # the commands it can refuse
    events: tuple[type[CaseEventBase], ...] = ()  # the events its predicate judges
    predicate: Predicate | None = None
    passed: str = ""  # what a pass verified, for the audit
    # Which events of those types give it something to judge (default: all of them), so
    # the audit says "not applicable" rather than "pass" when there was nothing to judge.
    concerns: Callable[[CaseEventBase], bool] | None = None

    @property
    def audit_check(self) -> str | None:
        """The audit check that judges it: its own id, unless it is a command check."""
        return None if self.kind is RuleKind.COMMAND else self.rule_id

    def judges(self, event_type: type[CaseEventBase]) -> bool:
        """Whether this rule judges events of this class (the one applicability test)."""
        return self.predicate is not None and issubclass(event_type, self.events)

    def applies_to(self, event: CaseEventBase) -> bool:
        return self.judges(event.__class__) and (self.concerns is None or self.concerns(event))

    def judge(self, step: Transition) -> Violation | None:
        """The first breach of this rule in the step (what decide() raises), or None."""
        return next(self.breaches(step), None)

    def breaches(self, step: Transition) -> Iterator[Violation]:
        """Every breach of this rule in the step (what the audit reports)."""
        if self.predicate is None or not self.judges(step.event.__class__):
            return
        for breach in self.predicate(step):
            yield Violation(self.rule_id, breach.field, breach.message,
                            breach.error or self.error)

    def refuse(self, message: str, field: str | None = None) -> DomainError:
        """The error for a command check (or a step that cannot even be formed)."""
        return self.error(message, rule=self.rule_id, field=field)


def duplicates(ids: Iterable[str], *, field: str) -> Iterator[Breach]:
    """A breach for each id that repeats an earlier one, at its index under ``field``."""
    seen: set[str] = set()
    for index, value in enumerate(ids):
        if value in seen:
            yield Breach(f"{field}.{index}", f"{value!r} appears twice")
        seen.add(value)
