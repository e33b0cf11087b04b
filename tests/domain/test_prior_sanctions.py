"""ACAS Code paras 19-22: a decision weighs the respondent's prior sanctions still current;
an expired one is never counted nor cited as aggravating; the rulebook may require a
current prior sanction before a graver one, unless the finding is gross misconduct.

Given the example case up to its hearing and a respondent record read for the decision,
when the decision is decided (or forged anyway, as a buggy importer would write it), then
decide() refuses it with the rule the audit fails at the same step.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

import pytest
from dueprocess.domain.audit import CheckStatus, audit_case
from dueprocess.domain.base import DomainError
from dueprocess.domain.case import (
    CaseCommand,
    CaseEvent,
    CaseState,
    DecisionRecorded,
    MemberReinstated,
    RecordDecision,
    ReinstatementReason,
    decide,
    evolve,
    notifications_for,
)
from dueprocess.domain.case.decide import propose
from dueprocess.domain.case.priors import PriorSanction, PriorsWeighed, RespondentRecord
from dueprocess.domain.case.respondent import respondent_record
from dueprocess.domain.case.upcasters import CASE_UPCASTERS
from dueprocess.domain.case.values import Sanction
from dueprocess.domain.envelope import Position, RecordedEvent
from dueprocess.domain.policy import (
    EscalationStep,
    PolicyDocument,
    PolicyVersion,
    SanctionKind,
)
from dueprocess.domain.rules.catalogue import CATALOGUE
from fixtures import case_examples as ex
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

DAY = timedelta(days=1)
ORDER = [rule.rule_id for rule in CATALOGUE]
AT = ex.DECIDED_AT
WARNING = Sanction(kind=SanctionKind.WARNING)
SUSPENSION = Sanction(kind=SanctionKind.SUSPENSION, term=timedelta(days=30))


def prior(case_id: str, *, applied_days_ago: int, current_days: int | None,
          sanction: Sanction = WARNING) -> PriorSanction:
    applied = AT - applied_days_ago * DAY
    until = applied + current_days * DAY if current_days is not None else None
    return PriorSanction(case_id=case_id, sanction=sanction, applied_at=applied,
                         current_until=until)


CURRENT = prior("case-old-1", applied_days_ago=100, current_days=365)
EXPIRED = prior("case-old-2", applied_days_ago=500, current_days=365)


def record(*priors: PriorSanction) -> RespondentRecord:
    return RespondentRecord(respondent_id=ex.RESPONDENT_ID, sanctions=list(priors))


def policy(*, escalation: bool = False, gross: bool = False) -> PolicyDocument:
    base = ex.example_policy()
    steps = [EscalationStep(sanction=SanctionKind.SUSPENSION,
                            requires_current=[SanctionKind.WARNING])] if escalation else []
    versions = [v.model_copy(update={
        "escalation": steps,
        "rules": [r.model_copy(update={"gross_misconduct": gross}) for r in v.rules]})
        for v in base.versions]
    return base.model_copy(update={"versions": versions})


def until_hearing(document: PolicyDocument | None = None,
                  sanction: Sanction | None = WARNING) -> tuple[CaseState, list[RecordedEvent],
                                                                RecordDecision]:
    state, records = CaseState.empty("case-p"), list[RecordedEvent]()
    for step in ex.happy_path(sanction=sanction, policy=document):
        if step.name == "decide":
            assert isinstance(step.command, RecordDecision)
            return state, records, step.command
        for event in decide(state, step.command, step.now):
            records.append(_record(event, len(records) + 1, step.now))
            state = evolve(state, event)
    raise AssertionError("the happy path has a decision")


def _record(event: CaseEvent, version: int, at: datetime) -> RecordedEvent:
    return RecordedEvent(
        event_id=uuid.uuid4(), event_type=event.type, payload=event.model_dump(mode="json"),
        actor=event.actor, authority=event.authority, recorded_at=at,
        effective_at=event.effective_at, stream_id="case-case-p", stream_version=version,
        position=Position(tx_id=1, global_position=version), hash="0" * 64)


def with_priors(command: RecordDecision, read: RespondentRecord | None,
                aggravating: list[str] | None = None) -> RecordDecision:
    return command.model_copy(update={"respondent_record": read,
                                      "aggravating_priors": aggravating or []})


def refused_and_audited(state: CaseState, records: list[RecordedEvent],
                        command: CaseCommand) -> tuple[DomainError, list[str]]:
    """decide() refuses the command; written anyway, the audit fails the same rule on it."""
    with pytest.raises(DomainError) as caught:
        decide(state, command, AT)
    forged = [*records, *(_record(e, len(records) + 1 + i, AT)
                          for i, e in enumerate(propose(state, command, AT)))]
    check = next(c for c in audit_case(forged, now=AT).checks
                 if c.check_id == caught.value.rule)
    assert check.status is CheckStatus.FAIL
    return caught.value, [ref.event_type for ref in check.offending]


def test_a_decision_weighs_the_current_priors_and_shows_the_expired_ones() -> None:
    # Given a respondent with a current warning and an expired one on record
    state, _, command = until_hearing()
    # When the decision is decided with the record read, citing the current warning
    [event] = decide(state, with_priors(command, record(CURRENT, EXPIRED), ["case-old-1"]), AT)
    # Then the current one is weighed, the expired one shown and not counted
    assert isinstance(event, DecisionRecorded)
    assert event.prior_sanctions == PriorsWeighed(weighed=[CURRENT], expired=[EXPIRED])
    assert event.aggravating_priors == ["case-old-1"]
    # and the decision notice to the respondent says which were weighed
    after = evolve(state, event)
    [letter] = [n for n in notifications_for(after, event, "e1")
                if n.recipient_role == "respondent"]
    assert "Prior sanctions weighed (current when decided): warning of case case-old-1" \
        in letter.body and "relied on as aggravating" in letter.body
    assert "no longer current, not counted: warning of case case-old-2" in letter.body
    # and the complainant is not told the respondent's record
    assert all("case-old" not in n.body for n in notifications_for(after, event, "e1")
               if n.recipient_role == "complainant")


def test_citing_an_expired_warning_as_aggravating_is_refused_and_fails_the_audit() -> None:
    state, records, command = until_hearing()
    error, offending = refused_and_audited(
        state, records, with_priors(command, record(CURRENT, EXPIRED), ["case-old-2"]))
    assert (error.rule, error.field) == ("prior-sanctions-current", "aggravating_priors.0")
    assert "stopped being current" in error.message and "never an aggravating" in error.message
    assert offending == ["DecisionRecorded"]


def test_citing_a_case_without_a_prior_sanction_is_refused() -> None:
    state, records, command = until_hearing()
    error, _ = refused_and_audited(state, records,
                                   with_priors(command, record(CURRENT), ["case-none"]))
    assert (error.rule, error.field) == ("prior-sanctions-current", "aggravating_priors.0")


def test_citing_priors_none_were_read_for_is_refused() -> None:
    state, records, command = until_hearing()
    error, _ = refused_and_audited(state, records, with_priors(command, None, ["case-old-1"]))
    assert (error.rule, error.field) == ("prior-sanctions-current", "aggravating_priors")


def test_the_audit_flags_a_decision_that_weighed_an_expired_warning() -> None:
    # Given a decision recorded by a buggy engine that counted an expired warning
    state, records, command = until_hearing()
    [event] = decide(state, with_priors(command, record(EXPIRED)), AT)
    assert isinstance(event, DecisionRecorded)
    forged = event.model_copy(update={"prior_sanctions": PriorsWeighed(weighed=[EXPIRED])})
    # When the case is audited, then the rule fails on that decision and says why
    audit = audit_case([*records, _record(forged, len(records) + 1, AT)], now=AT)
    check = next(c for c in audit.checks if c.check_id == "prior-sanctions-current")
    assert check.status is CheckStatus.FAIL
    assert [r.event_type for r in check.offending] == ["DecisionRecorded"]


def test_escalation_needs_a_current_prior_warning() -> None:
    # Given a rulebook where a suspension needs a current prior warning
    state, records, command = until_hearing(policy(escalation=True), SUSPENSION)
    # When the respondent's only warning has expired, then a suspension is refused
    error, offending = refused_and_audited(state, records, with_priors(command, record(EXPIRED)))
    assert (error.rule, error.field) == ("sanction-escalation", "sanction")
    assert "needs a current prior warning" in error.message and "case-old-2" in error.message
    assert offending == ["DecisionRecorded"]
    # and with a current warning on record it is decided
    [event] = decide(state, with_priors(command, record(CURRENT, EXPIRED)), AT)
    assert isinstance(event, DecisionRecorded) and event.sanction == SUSPENSION


def test_gross_misconduct_needs_no_prior_warning() -> None:
    state, _, command = until_hearing(policy(escalation=True, gross=True), SUSPENSION)
    [event] = decide(state, with_priors(command, record()), AT)
    assert isinstance(event, DecisionRecorded) and event.sanction == SUSPENSION


def test_a_decision_without_a_record_read_weighs_nothing_as_before() -> None:
    # Outside the workflow (imports, v1 events) nothing was read: no escalation is judged
    state, _, command = until_hearing(policy(escalation=True), SUSPENSION)
    [event] = decide(state, command, AT)
    assert isinstance(event, DecisionRecorded) and event.prior_sanctions is None


def test_the_record_leaves_out_reversed_sanctions_and_other_respondents() -> None:
    # Given the example case carried out, and the same case reversed on appeal
    state = CaseState.empty("case-q")
    for step in ex.happy_path():
        if step.name == "close":
            break
        for event in decide(state, step.command, step.now):
            state = evolve(state, event)
    assert state.sanction is not None
    reversed_ = state.model_copy(update={"case_id": "case-r", "reinstated": _reinstated(state)})
    found = respondent_record(ex.RESPONDENT_ID, [state, reversed_])
    assert [(p.case_id, p.sanction.kind) for p in found.sanctions] == [
        ("case-q", SanctionKind.WARNING)]
    assert respondent_record("m-someone-else", [state]).sanctions == []


def _reinstated(state: CaseState) -> MemberReinstated:
    from_state = state.sanction
    assert from_state is not None
    return MemberReinstated(actor=from_state.actor, authority=from_state.authority,
                            effective_at=from_state.effective_at + DAY,
                            reason=ReinstatementReason.APPEAL_ALLOWED, rights_restored=[],
                            record_corrected=True)


def test_a_v1_decision_reads_as_weighing_nothing() -> None:
    state, _, command = until_hearing()
    [event] = decide(state, command, AT)
    old = event.model_dump(mode="json")
    del old["prior_sanctions"], old["aggravating_priors"]
    version, upcast = CASE_UPCASTERS.upcast("DecisionRecorded", 1, old)
    read = DecisionRecorded.model_validate(upcast)
    assert version == 2 and read.prior_sanctions is None and read.aggravating_priors == []


# -- the differential property: what decide() refuses, the audit fails -----------------------

PRIORS = st.lists(st.builds(
    prior, case_id=st.sampled_from(["case-a", "case-b", "case-c", "case-d"]),
    applied_days_ago=st.integers(0, 800), current_days=st.none() | st.integers(1, 700),
    sanction=st.sampled_from([WARNING, SUSPENSION])), max_size=4,
    unique_by=lambda p: p.case_id)


@settings(max_examples=150, deadline=None)
@given(PRIORS, st.lists(st.sampled_from(["case-a", "case-b", "case-x"]), max_size=2),
       st.booleans(), st.booleans(), st.booleans())
def test_prior_sanction_rules_refused_are_the_rules_the_audit_fails(
        priors: list[PriorSanction], cited: list[str], read: bool, gross: bool,
        suspend: bool) -> None:
    state, records, command = until_hearing(policy(escalation=True, gross=gross),
                                            SUSPENSION if suspend else WARNING)
    attempt = with_priors(command, record(*priors) if read else None, cited)
    try:
        events, refused = decide(state, attempt, AT), None
    except DomainError as error:
        events, refused = propose(state, attempt, AT), error.rule
    history = [*records, *(_record(e, len(records) + 1 + i, AT) for i, e in enumerate(events))]
    failed = {c.check_id for c in audit_case(history, now=AT).checks
              if c.status is CheckStatus.FAIL
              and any(r.event_type == "DecisionRecorded" for r in c.offending)}
    # decide() raises the first rule broken, in catalogue order; the audit reports them all
    first = min(failed, key=ORDER.index, default=None)
    assert first == refused, (refused, failed)
    assert refused in (None, "prior-sanctions-current", "sanction-escalation")


def test_a_rulebook_sets_one_escalation_step_per_sanction() -> None:
    version = ex.example_policy().versions[-1]
    step = EscalationStep(sanction=SanctionKind.SUSPENSION, requires_current=[SanctionKind.WARNING])
    with pytest.raises(ValidationError, match="one escalation step per sanction"):
        PolicyVersion.model_validate({**version.model_dump(), "escalation": [
            step.model_dump(), step.model_dump()]})
    with pytest.raises(ValidationError):
        EscalationStep.model_validate({"sanction": "expulsion", "requires_current": []})
    read = PolicyVersion.model_validate({**version.model_dump(), "escalation": [
        {"sanction": "expulsion", "requires_current": ["suspension"]}]})
    assert read.escalation_for(SanctionKind.EXPULSION) is not None
    assert read.escalation_for(SanctionKind.WARNING) is None
