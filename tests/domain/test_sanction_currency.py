"""ACAS Code paras 19-20: a warning stays current for the period its rule sets; after it,
it no longer counts in standing and shows as expired (standing's reasons, the audit).

Given the example case decided with a warning under a rule with ``current_for``, when the
sanction is carried out, then ``current_until`` is the rule's period from then; standing
before it says warned, after it not, and the audit timeline flags it expired.
"""

from __future__ import annotations

import uuid
from datetime import timedelta

from dueprocess.domain.audit import audit_case
from dueprocess.domain.case import CaseEvent, CaseState, SanctionApplied, decide, evolve
from dueprocess.domain.case.upcasters import CASE_UPCASTERS
from dueprocess.domain.envelope import Position, RecordedEvent
from dueprocess.domain.membership.standing import standing
from dueprocess.domain.policy import PolicyDocument
from dueprocess.domain.rules.catalogue import first_violation
from fixtures import case_examples as ex

PERIOD = timedelta(days=180)
DAY = timedelta(days=1)


def policy(period: timedelta | None = PERIOD) -> PolicyDocument:
    base = ex.example_policy()
    versions = [v.model_copy(update={"rules": [r.model_copy(update={"current_for": period})
                                               for r in v.rules]}) for v in base.versions]
    return base.model_copy(update={"versions": versions})


def carried_out(period: timedelta | None = PERIOD) -> tuple[CaseState, list[RecordedEvent]]:
    state, records = CaseState.empty("case-c"), list[RecordedEvent]()
    for step in ex.happy_path(policy=policy(period)):
        if step.name == "close":
            break
        for event in decide(state, step.command, step.now):
            records.append(_record(event, len(records) + 1, step.now))
            state = evolve(state, event)
    return state, records


def _record(event: CaseEvent, version: int, at: object) -> RecordedEvent:
    return RecordedEvent(
        event_id=uuid.uuid4(), event_type=event.type, payload=event.model_dump(mode="json"),
        actor=event.actor, authority=event.authority, recorded_at=event.effective_at,
        effective_at=event.effective_at, stream_id="case-case-c", stream_version=version,
        position=Position(tx_id=1, global_position=version), hash="0" * 64)


def test_a_warning_carries_the_period_its_rule_sets() -> None:
    state, _ = carried_out()
    sanction = state.sanction
    assert sanction is not None and sanction.current_until == sanction.effective_at + PERIOD
    # and without a period in the rule, it stays current indefinitely, as before
    unbounded, _ = carried_out(period=None)
    assert unbounded.sanction is not None and unbounded.sanction.current_until is None


def test_an_expired_warning_no_longer_counts_in_standing_and_says_so() -> None:
    # given a warning carried out under a rule that keeps it current for 180 days
    state, records = carried_out()
    assert state.sanction is not None
    until = state.sanction.effective_at + PERIOD
    # when standing is asked during the period and after it
    during = standing(ex.RESPONDENT_ID, records, policy(), until - DAY)
    after = standing(ex.RESPONDENT_ID, records, policy(), until + DAY)
    # then the member is warned during it, and not after; the reason says why
    assert during.status == "warned" and after.status != "warned"
    explained = " ".join(r.explanation for r in after.reasons)
    assert "no longer current since" in explained and "no longer counts" in explained
    # and the member's record lists the warning, current during it and expired after
    assert [(s.kind, s.current, s.current_until) for s in during.sanctions] == [
        ("warning", True, until)]
    assert [(s.kind, s.current) for s in after.sanctions] == [("warning", False)]


def test_the_audit_shows_an_expired_sanction() -> None:
    state, records = carried_out()
    assert state.sanction is not None
    until = state.sanction.effective_at + PERIOD
    rows = {row.event_type: row for row in audit_case(records, now=until + DAY).timeline}
    assert any(f.startswith("expired") for f in rows["SanctionApplied"].flags)
    assert "current until" in rows["SanctionApplied"].summary
    current = {row.event_type: row for row in audit_case(records, now=until - DAY).timeline}
    assert not current["SanctionApplied"].flags


def test_a_sanction_recorded_with_another_period_breaks_the_rule() -> None:
    state, _ = carried_out()
    applied = state.sanction
    assert applied is not None
    before = state.model_copy(update={"sanction": None})
    forged = applied.model_copy(update={"current_until": applied.effective_at + 10 * PERIOD})
    found = first_violation(before, forged, applied.effective_at)
    assert found is not None and (found.rule, found.field) == (
        "sanction-currency", "current_until")
    assert first_violation(before, applied, applied.effective_at) is None


def test_a_v1_sanction_reads_as_current_indefinitely() -> None:
    state, _ = carried_out(period=None)
    assert state.sanction is not None
    old = state.sanction.model_dump(mode="json")
    del old["current_until"]
    version, upcast = CASE_UPCASTERS.upcast("SanctionApplied", 1, old)
    assert version == 2 and SanctionApplied.model_validate(upcast).current_until is None
