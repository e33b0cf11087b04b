"""Missing a deadline records an escalation: who is told and what happens next, as the
rulebook sets them per kind of deadline (issue 15), carried on the miss and sent as a staff
notice to that role. The case stays overdue until the step it waited for happens."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from dueprocess.domain.audit.timeline import _SUMMARIES
from dueprocess.domain.base import SYSTEM_ACTOR
from dueprocess.domain.case import (
    CaseEvent,
    CaseState,
    DataCollectionNoticeMissed,
    DeadlineKind,
    DeadlineMissed,
    EscalateMissedDeadline,
    decide,
    evolve,
    notifications_for,
    overdue_at,
    overdue_since,
    pending_deadlines,
)
from dueprocess.domain.case.commands import AcknowledgeReport, TriageCase
from dueprocess.domain.case.upcasters import CASE_UPCASTERS
from dueprocess.domain.case.values import TriageOutcome
from dueprocess.domain.policy import (
    DEFAULT_WHEN_MISSED,
    Deadlines,
    PolicyError,
    WhenMissed,
    load_policy,
)
from dueprocess.services.policyfile import load_policy_file
from fixtures import case_examples as ex

DAY = timedelta(days=1)
ACKNOWLEDGED_AT = ex.T0 + DAY
TRIAGE_DUE = ACKNOWLEDGED_AT + 14 * DAY
SAMPLE = load_policy_file(None)
CURRENT = len(SAMPLE.versions) - 1


def _apply(state: CaseState, events: list[CaseEvent]) -> CaseState:
    for event in events:
        state = evolve(state, event)
    return state


def acknowledged(deadlines: Deadlines = ex.DEADLINES) -> CaseState:
    state = CaseState.empty("case-1")
    state = _apply(state, decide(state, ex.file_report(policy=ex.example_policy(deadlines)),
                                 ex.T0))
    ack = AcknowledgeReport(actor=ex.actor("case_officer"), authority="code#ack")
    return _apply(state, decide(state, ack, ACKNOWLEDGED_AT))


def miss_triage(state: CaseState) -> DeadlineMissed:
    [timer] = [d.command for d in pending_deadlines(state) if d.kind is DeadlineKind.TRIAGE]
    assert isinstance(timer, EscalateMissedDeadline)
    [event] = decide(state, timer, TRIAGE_DUE)
    assert isinstance(event, DeadlineMissed)
    return event


def test_a_miss_carries_the_rulebooks_escalation_and_tells_that_role() -> None:
    # Given a rulebook escalating a missed triage to the investigator, with a next step
    then = WhenMissed(to="investigator", next_step="Take the report to the triage panel.")
    state = acknowledged(ex.DEADLINES.model_copy(update={"when_missed": {"triage": then}}))
    # When the triage deadline passes untriaged
    event = miss_triage(state)
    # Then the miss names who is told and what happens next
    assert (event.escalated_to, event.next_step) == ("investigator",
                                                     "Take the report to the triage panel.")
    # And a staff notice goes to that role, naming the case, the deadline and the step
    [note] = notifications_for(evolve(state, event), event, "ev-1")
    assert (note.notification_id, note.recipient_role) == ("ev-1:investigator", "investigator")
    assert note.recipient is None and note.address is None and note.details == []
    assert "triage deadline of case case-1" in note.body
    assert "Next step: Take the report to the triage panel." in note.body
    # and the audit timeline shows both
    assert _SUMMARIES["DeadlineMissed"](event).endswith(
        "escalated to investigator; next step: Take the report to the triage panel.")


def test_kinds_the_rulebook_does_not_set_use_the_defaults() -> None:
    # Given a rulebook that sets no escalations
    event = miss_triage(acknowledged())
    # Then a miss goes to the case officer with the default next step
    assert (event.escalated_to, event.next_step) == ("case_officer",
                                                     DEFAULT_WHEN_MISSED["triage"].next_step)
    # And every kind of missed deadline has a default, Art 14 going to the DPO
    assert DEFAULT_WHEN_MISSED["data_collection_notice"].to == "data_protection_officer"


def test_v1_misses_read_as_escalated_to_the_default_role_without_a_next_step() -> None:
    # Given misses stored before escalations named a next step (v1)
    stored = {"type": "DeadlineMissed", "actor": SYSTEM_ACTOR.model_dump(), "authority": "t",
              "effective_at": TRIAGE_DUE.isoformat(), "kind": "triage",
              "due_at": TRIAGE_DUE.isoformat()}
    version, payload = CASE_UPCASTERS.upcast("DeadlineMissed", 1, dict(stored))
    # Then they read as the current shape, escalated as then, with no next step
    assert version == DeadlineMissed.schema_version == 2
    old = DeadlineMissed.model_validate(payload)
    assert (old.escalated_to, old.next_step) == ("case_officer", None)
    notice = {**{k: v for k, v in stored.items() if k != "kind"},
              "type": "DataCollectionNoticeMissed", "subject_id": ex.WITNESS_ID,
              "evidence_ids": ["E1"]}
    version, payload = CASE_UPCASTERS.upcast("DataCollectionNoticeMissed", 1, notice)
    art14 = DataCollectionNoticeMissed.model_validate(payload)
    assert (version, art14.escalated_to, art14.next_step) == (2, "data_protection_officer",
                                                             None)
    # And no staff notice is made up for them
    assert notifications_for(acknowledged(), old, "ev-old") == []


def test_a_case_stays_overdue_after_its_miss_until_the_step_happens() -> None:
    # Given the triage deadline missed and escalated
    state = acknowledged()
    event = miss_triage(state)
    after = evolve(state, event)
    # Then the case is overdue since that deadline, although no timer is pending for it
    assert DeadlineKind.TRIAGE not in {d.kind for d in pending_deadlines(after)}
    assert overdue_since(after) == TRIAGE_DUE
    assert overdue_at(after, TRIAGE_DUE + DAY)
    # When the report is triaged
    triage = TriageCase(actor=ex.actor("case_officer"), authority="code#triage",
                        outcome=TriageOutcome.INVESTIGATE, reasons="A case to answer.")
    triaged = _apply(after, decide(after, triage, TRIAGE_DUE + 2 * DAY))
    # Then it is overdue no more
    assert overdue_since(triaged) is None
    assert not overdue_at(triaged, TRIAGE_DUE + 3 * DAY)


def _with_deadlines(change: dict[str, object]) -> str:
    doc = SAMPLE.model_dump(mode="json")
    doc["versions"][CURRENT]["deadlines"].update(change)
    return json.dumps(doc)


STEP = "Triage it now."


@pytest.mark.parametrize(("change", "field"), [
    ({"when_missed": {"triage": {"to": "the_board", "next_step": STEP}}},
     "when_missed.triage.to"),
    ({"when_missed": {"triage": {"to": "case_officer", "next_step": " "}}},
     "when_missed.triage.next_step"),
    ({"when_missed": {"triage": {"to": "case_officer"}}}, "when_missed.triage.next_step"),
    ({"when_missed": {"lunch": {"to": "case_officer", "next_step": STEP}}},
     "when_missed.lunch"),
    ({"sources": {"lunch": ["ACAS Code para 4"]}}, "sources"),
    ({"sources": {"triage": []}}, "sources"),
    ({"sources": {"triage": ["x" * 201]}}, "sources.triage.0"),
])
def test_bad_escalations_and_sources_are_refused_naming_the_field(
        change: dict[str, object], field: str) -> None:
    with pytest.raises(PolicyError) as refused:
        load_policy(_with_deadlines(change), "json")
    assert refused.value.field.startswith(f"versions.{CURRENT}.deadlines.{field}")


def test_the_sample_cites_its_periods_and_sets_the_art_14_notice() -> None:
    for version in SAMPLE.versions:
        d = version.deadlines
        # Every stage period cites the ACAS Code's "without unreasonable delay" (para 4)
        for name in ("triage", "investigation", "schedule_hearing", "decide_after_hearing"):
            assert any(s.startswith("ACAS Code para") and "unreasonable delay" in s
                       for s in d.sources[name]), (version.version, name)
        # the EHRC's finding of delay where it applies, and GDPR Art 14(3)(a) for notices
        assert any(s.startswith("EHRC") for s in d.sources["triage"])
        assert d.sources["data_collection_notice"] == [
            "GDPR Art 14(3)(a): within a reasonable period, at the latest within one month"]
        assert d.data_collection_notice <= timedelta(days=28)  # never past a calendar month
    # And the current version escalates some misses its own way
    current = SAMPLE.versions[CURRENT].deadlines
    assert current.escalation("investigation") != DEFAULT_WHEN_MISSED["investigation"]
    assert current.escalation("data_collection_notice").to == "data_protection_officer"


def test_the_escalation_notice_holds_no_personal_data() -> None:
    # Given a missed triage on a case whose parties have names and contacts
    state = acknowledged()
    event = miss_triage(state)
    [note] = notifications_for(evolve(state, event), event, "ev-1")
    # Then the staff notice names neither party
    assert state.report is not None
    for personal in (state.report.respondent.name, state.report.complainant.name):
        assert personal.value and personal.value not in note.body + note.subject
