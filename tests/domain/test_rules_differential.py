"""What decide() refuses, the audit fails: the same rule, at the same step.

Histories are built two ways from the example happy path: through decide() (legal steps),
and, where decide() refuses a step with a due-process rule, by writing the events it would
have produced anyway (``propose``), as a forger or a buggy importer would. Steps are
skipped, swapped and mutated at random. For every history the audit must fail rule R at
a step exactly when decide() refused that step with R, and fail no transition rule at a
step decide() allowed.

Issue 15's commands off the happy path (corrections, stage escalations, contacts) are
inserted at random too (``EXTRAS``), with a guard that each of their rules is met refused,
and paired in fixed forged examples; the currency of a sanction, which the decider
computes itself, is checked by an audit of a forgery.

``DUEPROCESS_HYPOTHESIS_PROFILE=nightly`` runs ten times the examples.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial

import pytest
from dueprocess.domain.audit import CheckStatus, audit_case
from dueprocess.domain.base import DomainError, DueProcessViolation, personal
from dueprocess.domain.case import (
    AppointPanel,
    AssignInvestigator,
    CarryOutSanction,
    CaseCommand,
    CaseEvent,
    CaseState,
    DiscloseEvidence,
    IssueNotice,
    PanelMember,
    RecordDecision,
    ScheduleHearing,
    WithheldEvidence,
    decide,
    evolve,
)
from dueprocess.domain.case.commands import (
    AppointAppealPanel,
    CorrectRecord,
    GiveDataCollectionNotice,
    LodgeAppeal,
    RecordInstruction,
    RecordNoticeExemption,
    TriageCase,
)
from dueprocess.domain.case.deadlines import DeadlineKind, pending_deadlines
from dueprocess.domain.case.decide import propose
from dueprocess.domain.case.values import (
    ContactDirection,
    ContactKind,
    CorrectedRecord,
    DismissalReason,
    NoticeExemption,
    TriageOutcome,
)
from dueprocess.domain.envelope import Position, RecordedEvent
from dueprocess.domain.policy import PolicyDocument
from dueprocess.domain.rules.catalogue import BY_ID, CATALOGUE
from dueprocess.domain.rules.model import RuleKind
from fixtures import case_examples as ex
from fixtures import reporter_examples as rx
from hypothesis import given, settings
from hypothesis import strategies as st

settings.register_profile("rules-differential", max_examples=300, deadline=None)
settings.register_profile("rules-differential-nightly", max_examples=3000, deadline=None)
_PROFILE = "rules-differential" + (
    "-nightly" if os.environ.get("DUEPROCESS_HYPOTHESIS_PROFILE") == "nightly" else "")

DAY = timedelta(days=1)
ORDER = [rule.rule_id for rule in CATALOGUE]


def _decision(cmd: CaseCommand, **finding: object) -> CaseCommand:
    assert isinstance(cmd, RecordDecision)
    changed = cmd.findings[0].model_copy(update=finding)
    return cmd.model_copy(update={"findings": [changed]})


Mutation = Callable[[CaseCommand, datetime], CaseCommand]

MUTATIONS: dict[type, list[Mutation]] = {
    ScheduleHearing: [
        lambda c, now: c.model_copy(update={"at": now + 5 * DAY}),  # minimum-hearing-notice
    ],
    RecordDecision: [
        lambda c, now: _decision(c, relied_on_evidence=["E2"]),  # inadmissible
        lambda c, now: _decision(c, relied_on_evidence=["E9"]),  # unknown
        lambda c, now: _decision(c, upheld=False),  # sanction without an upheld finding
    ],
    DiscloseEvidence: [  # withhold what the decision relies on
        lambda c, now: c.model_copy(update={"evidence_ids": ["E2", "E3"], "withheld": [
            WithheldEvidence(evidence_id="E1", reason="protects a witness")]}),
    ],
    AppointPanel: [
        lambda c, now: c.model_copy(update={"members": [
            PanelMember(member_id=ex.PANEL_IDS[0], declared=False)]}),
        lambda c, now: c.model_copy(update={"members": [
            *ex.panel(*ex.PANEL_IDS), PanelMember(member_id=ex.WITNESS_ID, declared=True)]}),
    ],
    AssignInvestigator: [
        lambda c, now: c.model_copy(update={"investigator_id": ex.WITNESS_ID}),
    ],
    IssueNotice: [
        lambda c, now: c.model_copy(update={"complainant_withheld_reason": " "}),
    ],
    CarryOutSanction: [
        lambda c, now: c.model_copy(update={"effective_at": now - 20 * DAY}),  # out of order
    ],
}


def _early_escalation(state: CaseState, now: datetime) -> CaseCommand | None:
    """A pending stage deadline's escalation, sent now: refused while not yet due."""
    due = [d for d in pending_deadlines(state) if d.kind in STAGE_CASES]
    return due[0].command if due else None


def _referral(shared: list[str]) -> Callable[[CaseState, datetime], CaseCommand]:
    return lambda state, now: RecordInstruction(
        actor=OFFICER, authority=ex.AUTHORITY, from_person_id=ex.OFFICER_ID,
        from_role="case_officer", channel="email", received_at=now,
        content=personal(ex.OFFICER_ID, "Referred."), direction=ContactDirection.SENT,
        kind=ContactKind.REFERRAL, outside_body="Metropolitan Police Online Hate Crime Hub",
        shared_evidence_ids=shared)


# Issue 15's commands off the happy path, inserted before a step at random: corrections
# (of a record the case may not hold yet; an automation error in a member's report), a
# stage deadline escalated before it is due, and referrals sharing what is or is not on file.
EXTRAS: list[Callable[[CaseState, datetime], CaseCommand | None]] = [
    lambda s, now: _correction(CorrectedRecord.DECISION, automation_error=False),
    lambda s, now: _correction(CorrectedRecord.DISMISSAL, automation_error=False),
    lambda s, now: _correction(CorrectedRecord.REPORT, automation_error=True),
    _early_escalation,
    _referral(["E1", "E9"]),
    _referral(["E1"]),
]


@dataclass(frozen=True)
class Step:
    first: int  # stream version of its first event
    events: tuple[CaseEvent, ...]
    refused: str | None  # the rule decide() refused it with, if any


def build(plan: Sequence[tuple[int, int]]) -> tuple[list[RecordedEvent], list[Step]]:
    """Run the happy path, each step (action, mutation) kept, skipped, mutated, swapped or
    preceded by one of the EXTRAS."""
    steps = ex.happy_path()
    order = list(range(len(steps)))
    for index, (action, _) in enumerate(plan):
        if action == 3 and 0 < index < len(order) - 1:  # swap with the next (not the report)
            order[index], order[index + 1] = order[index + 1], order[index]
    state = CaseState.empty("case-d")
    records: list[RecordedEvent] = []
    done: list[Step] = []
    for position, step_index in enumerate(order):
        action, choice = plan[position]
        step = steps[step_index]
        if action == 1 and position > 0:
            continue  # skipped (never the report: nothing happens without one)
        command = step.command
        options = MUTATIONS.get(type(command), [])
        if action == 2 and options:
            command = options[choice % len(options)](command, step.now)
        extra = EXTRAS[choice % len(EXTRAS)](state, step.now) \
            if action == 4 and position > 0 else None
        for attempt in ([extra] if extra is not None else []) + [command]:
            events, refused = _attempt(state, attempt, step.now)
            if not events:
                continue
            done.append(Step(len(records) + 1, tuple(events), refused))
            for event in events:
                records.append(_record(event, len(records) + 1, step.now))
                state = evolve(state, event)
    return records, done


def _attempt(state: CaseState, command: CaseCommand,
             now: datetime) -> tuple[list[CaseEvent], str | None]:
    try:
        return decide(state, command, now), None
    except DomainError as refused:
        if BY_ID.get(refused.rule) is None or BY_ID[refused.rule].kind is not \
                RuleKind.TRANSITION:
            return [], None  # a command check: there is no event to forge
        try:
            return propose(state, command, now), refused.rule
        except DomainError:
            return [], None  # refused before any event could be formed (no report, closed)


def _record(event: CaseEvent, version: int, now: datetime) -> RecordedEvent:
    return RecordedEvent(
        event_id=uuid.uuid4(), event_type=event.type, payload=event.model_dump(mode="json"),
        actor=event.actor, authority=event.authority, recorded_at=now,
        effective_at=event.effective_at, stream_id="case-case-d", stream_version=version,
        position=Position(tx_id=1, global_position=version), hash="0" * 64)


def failures_by_version(records: list[RecordedEvent]) -> dict[int, list[str]]:
    audit = audit_case(records, now=records[-1].recorded_at)
    found: dict[int, list[str]] = {}
    for check in audit.checks:
        rule = BY_ID.get(check.check_id)
        if check.status is CheckStatus.FAIL and rule and rule.kind is RuleKind.TRANSITION:
            for ref in check.offending:
                found.setdefault(ref.stream_version, []).append(check.check_id)
    return found


PLANS = st.lists(st.tuples(st.sampled_from([0, 0, 0, 1, 2, 2, 3, 4]), st.integers(0, 5)),
                 min_size=len(ex.happy_path()), max_size=len(ex.happy_path()))


@settings(settings.get_profile(_PROFILE))
@given(PLANS)
def test_audit_fails_rule_r_at_a_step_exactly_when_decide_refused_it_with_r(
        plan: list[tuple[int, int]]) -> None:
    records, steps = build(plan)
    failed = failures_by_version(records) if records else {}
    for step in steps:
        versions = range(step.first, step.first + len(step.events))
        at_step = [(v, sorted(failed.get(v, []), key=ORDER.index)) for v in versions]
        first = next((rules[0] for _, rules in at_step if rules), None)
        assert first == step.refused, (step, at_step)


def test_the_property_sees_forged_steps() -> None:
    # Guard against a vacuous property: the plans do produce refused, forged steps.
    mutate_all = [(2, 0)] * len(ex.happy_path())
    _, steps = build(mutate_all)
    assert {s.refused for s in steps} - {None}


def test_the_property_sees_each_issue_15_rule_refused() -> None:
    # Guard: inserting each of the EXTRAS before every step, the property meets each new
    # rule refused (and forged), and the referral sharing only what is on file accepted.
    seen: set[str | None] = set()
    for choice in range(len(EXTRAS)):
        records, steps = build([(4, choice)] * len(ex.happy_path()))
        seen |= {s.refused for s in steps}
        assert records
    assert {"nothing-to-correct", "automation-error-names-detector", "deadline-not-reached",
            "contact-shared-on-file"} <= seen


# -- the two divergences of issue 10, judged the same way by engine and audit ---------------


def _history(*, mutate: dict[str, Callable[[CaseCommand], CaseCommand]]
             ) -> tuple[list[RecordedEvent], DomainError | None]:
    state = CaseState.empty("case-r")
    records: list[RecordedEvent] = []
    refused: DomainError | None = None
    for step in ex.happy_path():
        change = mutate.get(step.name)
        command = step.command if change is None else change(step.command)
        try:
            events = decide(state, command, step.now)
        except DomainError as error:
            refused = refused or error
            events = propose(state, command, step.now)
        for event in events:
            records.append(_record(event, len(records) + 1, step.now))
            state = evolve(state, event)
    return records, refused


def _failed(records: list[RecordedEvent], rule: str) -> list[str]:
    check = next(c for c in audit_case(records, now=records[-1].recorded_at).checks
                 if c.check_id == rule)
    assert check.status is CheckStatus.FAIL
    return [ref.event_type for ref in check.offending]


def test_decision_relying_on_withheld_evidence_is_refused_and_fails_the_audit() -> None:
    withhold = WithheldEvidence(evidence_id="E1", reason="protects a witness")

    def disclose(c: CaseCommand) -> CaseCommand:
        return c.model_copy(update={"evidence_ids": ["E2", "E3"], "withheld": [withhold]})

    records, refused = _history(mutate={"disclose": disclose})
    assert isinstance(refused, DueProcessViolation)
    assert (refused.rule, refused.field) == ("disclosure-before-reliance",
                                             "findings.0.relied_on_evidence.0")
    assert _failed(records, "disclosure-before-reliance") == ["DecisionRecorded"]


def test_hearing_set_five_days_ahead_is_refused_and_fails_the_audit() -> None:
    # 14 days' minimum notice in the example policy, measured from the scheduling.
    def schedule(c: CaseCommand) -> CaseCommand:
        return c.model_copy(update={"at": ex.T0 + 11 * DAY})

    records, refused = _history(mutate={"schedule": schedule})
    assert isinstance(refused, DueProcessViolation)
    assert (refused.rule, refused.field) == ("minimum-hearing-notice", "at")
    assert _failed(records, "minimum-hearing-notice") == ["HearingScheduled"]


def test_inadmissible_evidence_is_listed_with_its_provenance() -> None:
    records, _ = _history(mutate={})
    audit = audit_case(records, now=records[-1].recorded_at)
    rows = {row.evidence_id: row for row in audit.evidence}
    private = rows["E2"]
    assert not private.admissible and private.reason and "consent" in private.reason
    assert (private.source_kind, private.captured_by, private.consent) == (
        "private_message", ex.COMPLAINANT_ID, False)
    assert rows["E1"].admissible and [r.event_type for r in rows["E1"].relied_on_by] == [
        "DecisionRecorded"]
    check = next(c for c in audit.checks if c.check_id == "evidence-admissibility")
    assert "E2: private_message captured by m-100" in check.explanation
    assert "INADMISSIBLE" in check.explanation and "not relied on" in check.explanation




# -- issue 15: Art 14 notices and contacts, refused by decide() and failed by the audit -------


def _forged(command: CaseCommand, after: str = "notice") -> tuple[list[RecordedEvent], str]:
    """The happy path to ``after``, then ``command`` written even though decide() refuses it."""
    state = CaseState.empty("case-f")
    records: list[RecordedEvent] = []
    steps = ex.happy_path()
    upto = [s.name for s in steps].index(after)
    for step in [*steps[: upto + 1]]:
        for event in decide(state, step.command, step.now):
            records.append(_record(event, len(records) + 1, step.now))
            state = evolve(state, event)
    now = steps[upto].now
    try:
        decide(state, command, now)
    except DomainError as error:
        for event in propose(state, command, now):
            records.append(_record(event, len(records) + 1, now))
        return records, error.rule
    raise AssertionError("decide() accepted the forged step")


def test_art14_and_contact_rules_refused_are_the_rules_the_audit_fails() -> None:
    officer = ex.actor("case_officer")
    forged: list[CaseCommand] = [
        GiveDataCollectionNotice(actor=officer, authority=ex.AUTHORITY,
                                 subject_id=ex.RESPONDENT_ID, evidence_ids=["E9"]),
        RecordNoticeExemption(actor=officer, authority=ex.AUTHORITY, subject_id=ex.WITNESS_ID,
                              evidence_ids=["E1"], exemption=NoticeExemption.REQUIRED_BY_LAW,
                              legal_basis="Art 14(5)(c)", reasons="Required by statute."),
        RecordInstruction(actor=officer, authority=ex.AUTHORITY, from_person_id=ex.OFFICER_ID,
                          from_role="case_officer", channel="email",
                          content=personal(ex.OFFICER_ID, "Referred."), received_at=ex.T0,
                          direction=ContactDirection.SENT, kind=ContactKind.REFERRAL,
                          to_role="duty_officer", shared_evidence_ids=["E9"]),
    ]
    for command in forged:
        records, rule = _forged(command)
        assert _failed(records, rule) == [records[-1].event_type], rule


# -- issue 15: repeat reporters (DSA Art 23), steps at random on a held report ----------------


def _reporter_steps(plan: Sequence[tuple[int, int]]) -> tuple[list[RecordedEvent], list[Step]]:
    """A report held under a warning, then contests, rulings, releases and triage at random:
    each refused step written anyway, as a forger would."""
    state = CaseState.empty("case-d")
    records: list[RecordedEvent] = []
    done: list[Step] = []
    now = ex.T0
    opening: list[tuple[CaseCommand, datetime]] = [(rx.filing(), now), (rx.hold(), now)]
    for action, choice in plan:
        now = now + (choice + 1) * DAY
        opening.append((rx.random_step(action, choice, now), now))
    for command, at in opening:
        events, refused = _attempt(state, command, at)
        if not events:
            continue
        done.append(Step(len(records) + 1, tuple(events), refused))
        for event in events:
            records.append(_record(event, len(records) + 1, at))
            state = evolve(state, event)
    return records, done


REPORTER_PLANS = st.lists(st.tuples(st.integers(0, 7), st.integers(0, 40)), min_size=1,
                          max_size=8)


@settings(settings.get_profile(_PROFILE))
@given(REPORTER_PLANS)
def test_repeat_reporter_rules_refused_are_the_rules_the_audit_fails(
        plan: list[tuple[int, int]]) -> None:
    records, steps = _reporter_steps(plan)
    failed = failures_by_version(records)
    for step in steps:
        versions = range(step.first, step.first + len(step.events))
        at_step = [(v, sorted(failed.get(v, []), key=ORDER.index)) for v in versions]
        first = next((rules[0] for _, rules in at_step if rules), None)
        assert first == step.refused, (step, at_step)


def test_the_reporter_property_sees_each_new_rule_refused() -> None:
    seen = {s.refused for plan in rx.PLANS_SEEING_EACH_RULE
            for s in _reporter_steps(plan)[1]}
    assert {"report-held", "hold-contest-in-order", "hold-contest-independent",
            "hold-ends-when-due", "personal-data-subject"} <= seen


def test_a_forged_warning_and_hold_fail_the_audit_with_the_rule_decide_refused() -> None:
    for setup, command, rule in rx.forged_warning_and_hold():
        state, records = CaseState.empty("case-f"), list[RecordedEvent]()
        for step_command, at in setup:
            for event in decide(state, step_command, at):
                records.append(_record(event, len(records) + 1, at))
                state = evolve(state, event)
        at = setup[-1][1]
        try:
            decide(state, command, at)
            raise AssertionError("decide() accepted the forged step")
        except DomainError as error:
            assert error.rule == rule
        for event in propose(state, command, at):
            records.append(_record(event, len(records) + 1, at))
        assert _failed(records, rule) == [records[-1].event_type], rule


# -- issue 15 (G4): corrections, stage deadlines, shared evidence, sanction currency ---------


def _decided_steps(names: Sequence[str], *, policy: PolicyDocument | None = None,
                   extra: Sequence[tuple[CaseCommand, datetime]] = ()
                   ) -> tuple[CaseState, list[RecordedEvent], datetime]:
    """The happy path's named steps, then ``extra``, all through decide()."""
    steps = {s.name: s for s in ex.happy_path(policy=policy)} if policy else \
        {s.name: s for s in ex.happy_path()}
    state, records = CaseState.empty("case-g"), list[RecordedEvent]()
    now = ex.T0
    for command, now in [*((steps[n].command, steps[n].now) for n in names), *extra]:
        for event in decide(state, command, now):
            records.append(_record(event, len(records) + 1, now))
            state = evolve(state, event)
    return state, records, now


def _forge(state: CaseState, records: list[RecordedEvent], command: CaseCommand,
           at: datetime) -> tuple[list[RecordedEvent], str]:
    """``command`` written even though decide() refuses it; the rule it was refused with."""
    try:
        decide(state, command, at)
    except DomainError as error:
        forged = [_record(e, len(records) + n, at)
                  for n, e in enumerate(propose(state, command, at), start=1)]
        return [*records, *forged], error.rule
    raise AssertionError(f"decide() accepted the forged {command.type}")


OFFICER = ex.actor("case_officer")
UP_TO_HEARING = ("file", "acknowledge", "triage", "assign", "notice", "disclose", "respond",
                 "panel", "schedule", "hold")
APPEAL: list[tuple[CaseCommand, datetime]] = [
    (LodgeAppeal(actor=ex.actor("respondent"), authority="code#appeal",
                 grounds=personal(ex.RESPONDENT_ID, "The panel got the facts wrong.")),
     ex.DECIDED_AT + DAY),
    (AppointAppealPanel(actor=OFFICER, authority="code#appeal",
                        members=ex.panel(*ex.APPEAL_PANEL_IDS)), ex.DECIDED_AT + 2 * DAY)]
# Each stage deadline of issue 15, and the steps that leave the case waiting in its stage.
STAGE_CASES: dict[DeadlineKind, tuple[tuple[str, ...], Sequence[tuple[CaseCommand, datetime]]]] = {
    DeadlineKind.TRIAGE: (("file", "acknowledge"), ()),
    DeadlineKind.INVESTIGATION: (("file", "acknowledge", "triage", "assign"), ()),
    DeadlineKind.SCHEDULE_HEARING: (("file", "acknowledge", "triage", "assign", "notice"), ()),
    DeadlineKind.DECIDE_AFTER_HEARING: (UP_TO_HEARING, ()),
    DeadlineKind.DECIDE_APPEAL: ((*UP_TO_HEARING, "decide"), APPEAL),
}


def _correction(corrects: CorrectedRecord, *, automation_error: bool) -> CorrectRecord:
    return CorrectRecord(actor=OFFICER, authority=ex.AUTHORITY, corrects=corrects,
                         what_was_wrong="The record is wrong.", correction="Put right.",
                         automation_error=automation_error)


def forged_decision_correction_on_a_dismissed_case() -> tuple[list[RecordedEvent], str]:
    # A member's report dismissed at triage: there is no decision to correct.
    dismiss = TriageCase(actor=OFFICER, authority=ex.AUTHORITY, outcome=TriageOutcome.DISMISS,
                         dismissal_reason=DismissalReason.NO_CASE_TO_ANSWER,
                         reasons="Nothing in the report breaches a rule.")
    state, records, at = _decided_steps(("file", "acknowledge"), extra=[(dismiss, ex.T0 + DAY)])
    assert state.dismissal is not None
    return _forge(state, records, _correction(CorrectedRecord.DECISION, automation_error=False),
                  at + DAY)


def forged_automation_error_on_a_members_report() -> tuple[list[RecordedEvent], str]:
    state, records, at = _decided_steps(("file", "acknowledge", "triage"))
    assert state.report is not None and not state.report.automated
    return _forge(state, records, _correction(CorrectedRecord.REPORT, automation_error=True),
                  at + DAY)


def forged_early_escalation(kind: DeadlineKind) -> tuple[list[RecordedEvent], str]:
    names, extra = STAGE_CASES[kind]
    state, records, _ = _decided_steps(names, extra=extra)
    [deadline] = [d for d in pending_deadlines(state) if d.kind is kind]
    return _forge(state, records, deadline.command, deadline.due_at - timedelta(minutes=1))


def forged_referral_sharing_evidence_not_on_file() -> tuple[list[RecordedEvent], str]:
    # Named body, sent, received in the past: its one fault is E9, not on the case file.
    state, records, at = _decided_steps(("file", "acknowledge", "triage", "assign", "notice"))
    referral = RecordInstruction(
        actor=OFFICER, authority=ex.AUTHORITY, from_person_id=ex.OFFICER_ID,
        from_role="case_officer", channel="email", received_at=at,
        content=personal(ex.OFFICER_ID, "Referred."), direction=ContactDirection.SENT,
        kind=ContactKind.REFERRAL, outside_body="Metropolitan Police Online Hate Crime Hub",
        shared_evidence_ids=["E1", "E9"])
    return _forge(state, records, referral, at)


FORGED_NEW: dict[str, Callable[[], tuple[list[RecordedEvent], str]]] = {
    "decision correction on a dismissed case": forged_decision_correction_on_a_dismissed_case,
    "automation error on a member's report": forged_automation_error_on_a_members_report,
    "referral sharing evidence not on file": forged_referral_sharing_evidence_not_on_file,
    **{f"early {kind.value} escalation": partial(forged_early_escalation, kind)
       for kind in STAGE_CASES},
}


@pytest.mark.parametrize("name", list(FORGED_NEW))
def test_issue_15_rules_refused_are_the_rules_the_audit_fails_at_that_step(name: str) -> None:
    # Given the step decide() refused, written anyway
    records, rule = FORGED_NEW[name]()
    # Then the audit fails the same rule, at the forged event and nowhere else
    failed = failures_by_version(records)
    assert failed == {records[-1].stream_version: [rule]}, (name, failed)
    assert _failed(records, rule) == [records[-1].event_type]


def test_the_forged_examples_exercise_each_new_rule() -> None:
    # Guard: each issue-15 transition rule the engine refuses has a forged example.
    seen = {FORGED_NEW[name]()[1] for name in FORGED_NEW}
    assert seen == {"nothing-to-correct", "automation-error-names-detector",
                    "deadline-not-reached", "contact-shared-on-file"}
    assert {forged_early_escalation(kind)[1] for kind in STAGE_CASES} == {
        "deadline-not-reached"}


def test_a_forged_sanction_currency_fails_the_audit() -> None:
    # Given a suspension carried out under a rule current for 180 days: the decider writes
    # current_until itself, so only a forger (or a buggy importer) can get it wrong
    policy = ex.example_policy()
    policy = policy.model_copy(update={"versions": [v.model_copy(update={"rules": [
        r.model_copy(update={"current_for": 180 * DAY}) for r in v.rules]})
        for v in policy.versions]})
    names = [s.name for s in ex.happy_path(policy=policy)]
    _, records, _ = _decided_steps(names[: names.index("carry_out") + 1], policy=policy)
    applied = next(r for r in records if r.event_type == "SanctionApplied")
    assert audit_check(records, "sanction-currency") is CheckStatus.PASS
    # When its currency is forged to a year instead
    forged_until = datetime.fromisoformat(applied.payload["current_until"]) + 185 * DAY
    forged = [r.model_copy(update={"payload": {**r.payload,
                                               "current_until": forged_until.isoformat()}})
              if r is applied else r for r in records]
    # Then the audit fails sanction-currency at that event, and no other transition rule
    assert _failed(forged, "sanction-currency") == ["SanctionApplied"]
    assert failures_by_version(forged) == {applied.stream_version: ["sanction-currency"]}


def audit_check(records: list[RecordedEvent], rule: str) -> CheckStatus:
    audit = audit_case(records, now=records[-1].recorded_at)
    return next(c for c in audit.checks if c.check_id == rule).status
