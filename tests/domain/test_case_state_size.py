"""A case holds its own rules, not the whole rulebook: the state a case workflow caches
(and carries over on continue-as-new) stays small whatever the size of the rulebook."""

from __future__ import annotations

from datetime import timedelta

from dueprocess.domain import case as dc
from dueprocess.domain.case.events import ReportFiled
from dueprocess.domain.policy import PolicyDocument, Rule, SanctionKind
from dueprocess.settings import CASE_STATE_BYTES
from dueprocess.workflows.case_input import CaseInput
from fixtures.case_examples import example_policy, happy_path

STATE_BUDGET = CASE_STATE_BYTES  # 100 KiB


def large_rulebook(rules: int = 80) -> PolicyDocument:
    """The example rulebook with ``rules`` more rules of realistic length in each version
    (a definition of a few paragraphs and three examples each: ~1.3 KiB a rule)."""
    filler = [Rule(rule_id=f"R{100 + n}", title=f"Rule {100 + n} of the members' code",
                   definition=("A member must not do the thing this rule describes, in any "
                               "setting where they act as a member. ") * 8,
                   examples=["An example of conduct this rule covers, in some detail. " * 3] * 3,
                   allowed_sanctions=[SanctionKind.WARNING, SanctionKind.SUSPENSION],
                   max_suspension=timedelta(days=90))
              for n in range(rules)]
    policy = example_policy()
    return policy.model_copy(update={"versions": [
        v.model_copy(update={"rules": [*v.rules, *filler]}) for v in policy.versions]})


def _run(policy: PolicyDocument) -> tuple[dc.CaseState, list[dc.CaseEvent]]:
    state, events = dc.CaseState.empty("c-1"), []
    for step in happy_path(policy=policy):
        for event in dc.decide(state, step.command, step.now):
            state = dc.evolve(state, event)
            events.append(event)
    return state, events


def test_a_realistic_case_under_a_large_rulebook_caches_under_100_kib() -> None:
    state, events = _run(large_rulebook())
    assert state.stage is dc.CaseStage.CLOSED
    report = next(e for e in events if isinstance(e, ReportFiled))
    assert len(report.model_dump_json()) > STATE_BUDGET  # the event pins the versions whole
    carried = CaseInput(case_id="c-1", state=state, version=len(events)).model_dump_json()
    assert len(carried) < STATE_BUDGET
    # ... and it round-trips (continue-as-new validates it on the way in).
    assert CaseInput.model_validate_json(carried).state == state


def test_the_case_keeps_the_procedure_and_every_cited_rule() -> None:
    policy = large_rulebook()
    state, _ = _run(policy)
    assert state.report is not None
    cited = {a.rule_id for a in state.report.allegations}
    for version in state.report.pinned_versions:
        assert {r.rule_id for r in version.rules} <= cited | {version.rules[0].rule_id}
        whole = next(v for v in policy.versions if v.version == version.version)
        assert (version.deadlines, version.statuses, version.evidence) == (
            whole.deadlines, whole.statuses, whole.evidence)
    for allegation in state.report.allegations:
        assert state.rule_for(allegation.allegation_id) is not None


def test_the_same_decisions_as_under_the_small_rulebook() -> None:
    big_state, big_events = _run(large_rulebook())
    small_state, small_events = _run(example_policy())
    assert [type(e) for e in big_events] == [type(e) for e in small_events]
    assert big_state.stage == small_state.stage and big_state.decision == small_state.decision
