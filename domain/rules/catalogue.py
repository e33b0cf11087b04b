"""Every due-process rule, exactly once, in the order decide() asks them.

The order matters only when one step breaks several rules: decide() reports the first;
the audit reports them all. Stage rules (is the case at a point where this may happen)
come before content rules (is what happened well-formed and allowed), and the timing of
the record itself comes last.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from datetime import datetime
from functools import cache
from types import MappingProxyType

from ..case.events import CaseEventBase
from ..case.state import CaseState, evolve
from . import (
    collection,
    contacts,
    corrections,
    currency,
    decision,
    evidence,
    hearing,
    intake,
    notice,
    outcome,
    priors,
    process,
    records,
    reporting,
    timing,
)
from .model import ProcessRule, RuleKind, Transition, Violation

CATALOGUE: tuple[ProcessRule, ...] = (
    *records.RULES_FIRST, *reporting.STAGE,
    intake.CASE_ALREADY_REPORTED, intake.ALREADY_TRIAGED,
    *decision.STAGE[:1], notice.NOTICE_ALREADY_ISSUED,
    outcome.DECISION_BEFORE_APPEAL, outcome.APPEAL_ALREADY_LODGED, outcome.APPEAL_LODGED,
    outcome.APPEAL_DECIDED,
    intake.CASE_DISMISSED, intake.HUMAN_TRIAGE, intake.TRIAGE_BEFORE_INVESTIGATION,
    decision.CASE_DECIDED,
    hearing.HEARING_NOT_SCHEDULED, hearing.HEARING_NOT_YET_DUE,
    notice.NOTICE_BEFORE_RESPONSE, notice.NOTICE_BEFORE_HEARING,
    evidence.DISCLOSURE_BEFORE_HEARING,
    hearing.PANEL_BEFORE_HEARING, hearing.HEARING_ALREADY_HELD, hearing.HEARING_BEFORE_DECISION,
    hearing.PANEL_HEARD_THE_CASE,
    outcome.NOTHING_TO_APPEAL, outcome.APPEAL_PENDING, outcome.APPEAL_WINDOW,
    outcome.NOTHING_TO_REINSTATE,
    timing.INTERIM_SUSPENSION_ACTIVE, timing.NO_INTERIM_SUSPENSION, timing.NOTHING_PENDING,
    intake.GOOD_FAITH, intake.OUTSIDE_BODY_NAMED, intake.RESPONDENT_NOT_COMPLAINANT,
    *records.RULES_CONTENT,
    *hearing.CONTENT,
    intake.POLICY_IN_FORCE, intake.CONDUCT_NOT_IN_FUTURE, intake.RULE_IN_FORCE,
    notice.UNKNOWN_ALLEGATION, notice.COMPLAINANT_WITHHELD_REASON,
    notice.MINIMUM_HEARING_NOTICE,
    evidence.UNKNOWN_EVIDENCE, evidence.WITHHELD_OR_DISCLOSED,
    evidence.DISCLOSURE_BEFORE_RELIANCE, evidence.EVIDENCE_ADMISSIBILITY,
    evidence.DISCLOSURE_LEAD_TIME,
    *outcome.CONTENT,
    *decision.CONTENT,
    *timing.CONTENT,
    *collection.CONTENT, *contacts.CONTENT, *corrections.CONTENT, *reporting.CONTENT,
    *currency.CONTENT, *priors.CONTENT,
    *records.RULES_LAST,
    *timing.HISTORY, *process.HISTORY, *collection.HISTORY, *contacts.HISTORY,
    intake.DISMISSAL_REASON, *process.STAFF_ONLY_COMMANDS, priors.PRIORS_READ_BY_ENGINE,
)

BY_ID: Mapping[str, ProcessRule] = MappingProxyType({r.rule_id: r for r in CATALOGUE})
TRANSITION_RULES = tuple(r for r in CATALOGUE if r.kind is RuleKind.TRANSITION)


def violations(before: CaseState, event: CaseEventBase, now: datetime) -> Iterator[Violation]:
    """Each rule the step breaks (its first breach), in catalogue order."""
    step = Transition(before, event, now)
    for rule in _judging(event.__class__):
        found = rule.judge(step)
        if found is not None:
            yield found


@cache
def _judging(event_type: type[CaseEventBase]) -> tuple[ProcessRule, ...]:
    """The transition rules that judge events of this class, in catalogue order: the
    rules a step of another event class skips anyway (``ProcessRule.breaches``), skipped
    without a call each. Judging every rule per event was a tenth of the case workflow's
    activation time (cProfile, bench/decisions.py, 2026-12-02)."""
    return tuple(r for r in TRANSITION_RULES if r.judges(event_type))


def first_violation(before: CaseState, event: CaseEventBase,
                    now: datetime) -> Violation | None:
    return next(violations(before, event, now), None)


def judge_batch(state: CaseState, events: Iterable[CaseEventBase], now: datetime) -> None:
    """Raise the first violation; each event is judged against the state before it."""
    for event in events:
        found = first_violation(state, event, now)
        if found is not None:
            raise found.exception()
        state = evolve(state, event)  # type: ignore[arg-type]


def rule(rule_id: str) -> ProcessRule:
    return BY_ID[rule_id]
