"""Actions explained by a dry run of the decider, and forms generated from the command
models (given / when / then; pure, no server)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from dueprocess.console.actions import actions_for, commands_for, dry_run
from dueprocess.console.forms import Control, Group, controls, document, errors_of, leaves
from dueprocess.console.timefmt import countdown
from dueprocess.domain import case as dc
from dueprocess.domain.base import DomainError
from dueprocess.domain.case.commands import AppointPanel, ScheduleHearing
from dueprocess.domain.case.decide import decide
from dueprocess.domain.rules.catalogue import BY_ID
from fixtures.case_examples import RESPONDENT_ID, actor, happy_path
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

STEPS = happy_path()
ROLES = ["case_officer", "investigator", "panel_member", "appeal_panel_member", "respondent"]


def _after(name: str) -> tuple[dc.CaseState, datetime]:
    """The case once the happy path's step ``name`` is done, and that step's time."""
    state = dc.CaseState.empty("case-1")
    for step in STEPS:
        for event in decide(state, step.command, step.now):
            state = dc.evolve(state, event)
        if step.name == name:
            return state, step.now
    raise AssertionError(name)


def test_scheduling_before_disclosure_is_blocked_with_the_rule_and_its_reason() -> None:
    # given a case with the notice issued but nothing disclosed
    state, now = _after("notice")
    # when the case officer's actions are dry-run
    action = dry_run(state, ScheduleHearing, actor("case_officer"), now)
    # then scheduling is blocked by the disclosure rule, with its title and the reason
    assert action.status == "blocked" and action.rule == "disclosure-before-hearing"
    assert action.rule_title == BY_ID["disclosure-before-hearing"].title
    assert action.reason and "disclosed" in action.reason
    # and once evidence is disclosed that rule no longer blocks it
    later, at = _after("disclose")
    assert dry_run(later, ScheduleHearing, actor("case_officer"), at).rule \
        != "disclosure-before-hearing"


@settings(max_examples=60, deadline=None)
@given(st.sampled_from([s.name for s in STEPS]), st.sampled_from(ROLES))
def test_every_blocking_rule_is_one_the_decider_raises_for_the_real_command(
        step: str, role: str) -> None:
    # given the case at any step of the happy path, and any role
    state, now = _after(step)
    for action in actions_for(state, actor(role), now):
        # then each action is available, done, or blocked by a named rule
        assert action.status in ("available", "blocked", "done")
        if action.status == "blocked":
            assert action.rule and action.reason
        # and the happy path's real command of that type meets the same verdict
        real = next((s.command for s in STEPS if s.command.type == action.name
                     and s.command.actor.role == role), None)
        if action.status == "blocked" and real is not None:
            try:
                events = decide(state, real, now)
            except DomainError as err:
                assert err.rule == action.rule
            else:  # only the very command already on record is let through, as a no-op
                assert events == [], f"{action.name}: dry run blocked, decide accepted"


def test_a_role_is_offered_exactly_the_commands_its_permissions_allow() -> None:
    assert {c.__name__ for c in commands_for("respondent")} == {"SubmitResponse",
                                                                 "LodgeAppeal"}
    assert "FileReport" not in {c.__name__ for c in commands_for("case_officer")}


def test_a_form_round_trips_to_the_command_and_errors_name_the_field() -> None:
    # given the generated panel form, with two of its three rows filled
    form = controls(AppointPanel)
    names = [c.name for c in leaves(form)]
    assert "members.2.member_id" in names and "actor" not in names
    assert any(isinstance(g, Group) and g.repeated for g in form)
    submitted = {"authority": "rulebook s.6.1", "members.0.member_id": "p-1",
                 "members.0.declared": "on", "members.1.member_id": "p-2",
                 "members.1.declared": "on", "members.2.interests": ""}
    # when it becomes a command
    doc = document(AppointPanel, submitted, {}, RESPONDENT_ID)
    command = AppointPanel.model_validate({**doc, "actor": actor("case_officer")})
    # then the blank row is dropped and the others kept
    assert [m.member_id for m in command.members] == ["p-1", "p-2"]
    # and a blank authority is reported on the authority field
    try:
        AppointPanel.model_validate({**doc, "authority": " ", "actor": actor("case_officer")})
    except ValidationError as err:
        assert set(errors_of(err)) == {"authority"}
    else:
        raise AssertionError("a blank authority was accepted")
    times = [c for c in leaves(controls(ScheduleHearing)) if isinstance(c, Control)]
    assert [c.kind for c in times if c.name == "at"] == ["datetime"]


def test_countdowns_read_as_time_left_or_time_overdue() -> None:
    now = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
    assert countdown(now + timedelta(days=2, hours=3), now) == "in 2 d 3 h"
    assert countdown(now - timedelta(hours=5, minutes=2), now) == "overdue by 5 h 2 min"
    assert countdown(now + timedelta(seconds=40), now) == "in 40 s"
    assert countdown(None, now) == "no deadline pending"
