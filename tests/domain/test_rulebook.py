"""The published rulebook: who may publish, what may change, what a report may carry."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from dueprocess.domain.base import Actor, InvalidCommand, NotPermitted
from dueprocess.domain.policy import PolicyDocument
from dueprocess.domain.rulebook import (
    PublishPolicy,
    Rulebook,
    decide_publish,
    evolve_rulebook,
    file_under_published,
    refuse_caller_rulebook,
)
from fixtures.case_examples import DEADLINES, example_policy, file_report

NOW = datetime(2025, 1, 6, 9, 0, tzinfo=UTC)
ADMIN = Actor(id="ops-alice", role="policy_admin")


def publish(book: Rulebook, doc: PolicyDocument, by: Actor = ADMIN) -> Rulebook:
    for event in decide_publish(book, PublishPolicy(actor=by, authority="NEC 2025/1",
                                                    document=doc), NOW):
        book = evolve_rulebook(book, event)
    return book


def test_a_policy_admin_publishes_each_version_as_an_event_naming_them() -> None:
    events = decide_publish(Rulebook(), PublishPolicy(
        actor=ADMIN, authority="NEC 2025/1", document=example_policy()), NOW)
    assert [e.version.version for e in events] == ["2019.1", "2023.1"]
    assert {(e.actor, e.authority, e.policy_id) for e in events} == {
        (ADMIN, "NEC 2025/1", "example-code")}
    book = publish(Rulebook(), example_policy())
    assert book.document() == example_policy()


def test_only_a_policy_admin_may_publish() -> None:
    with pytest.raises(NotPermitted) as caught:
        publish(Rulebook(), example_policy(), by=Actor(id="staff-1", role="case_officer"))
    assert caught.value.field == "actor.role"


def test_publishing_the_same_file_twice_publishes_nothing_new() -> None:
    book = publish(Rulebook(), example_policy())
    assert decide_publish(book, PublishPolicy(actor=ADMIN, authority="again",
                                              document=example_policy()), NOW) == []


def test_a_published_version_never_changes() -> None:
    book = publish(Rulebook(), example_policy())
    lenient = example_policy(DEADLINES.model_copy(update={"respond": timedelta(days=30)}))
    with pytest.raises(InvalidCommand) as caught:
        publish(book, lenient)
    assert caught.value.rule == "published-versions-are-immutable"
    assert caught.value.field == "versions.0"


def test_an_open_ended_version_may_be_ended_for_a_successor() -> None:
    book = publish(Rulebook(), example_policy())
    old, current = example_policy().versions
    ended = current.model_copy(update={"effective_to": date(2025, 12, 31)})
    successor = current.model_copy(update={"version": "2026.1",
                                           "effective_from": date(2026, 1, 1)})
    book = publish(book, PolicyDocument(policy_id="example-code",
                                        versions=[old, ended, successor]))
    document = book.document()
    assert document is not None
    assert document.version_on(date(2026, 2, 1)).version == "2026.1"
    assert document.version_on(date(2025, 2, 1)).effective_to == date(2025, 12, 31)


def test_a_successor_that_overlaps_a_published_version_is_refused() -> None:
    book = publish(Rulebook(), example_policy())
    successor = example_policy().versions[1].model_copy(
        update={"version": "2026.1", "effective_from": date(2026, 1, 1)})
    with pytest.raises(InvalidCommand) as caught:
        publish(book, PolicyDocument(policy_id="example-code", versions=[successor]))
    assert caught.value.rule == "published-versions-do-not-overlap"


def test_one_organisation_one_rulebook() -> None:
    book = publish(Rulebook(), example_policy())
    other = example_policy().model_copy(update={"policy_id": "another-code"})
    with pytest.raises(InvalidCommand) as caught:
        publish(book, other)
    assert caught.value.field == "policy_id"


def test_a_one_second_appeal_window_is_not_published() -> None:
    lax = example_policy(DEADLINES.model_copy(update={"appeal_window": timedelta(seconds=1)}))
    with pytest.raises(InvalidCommand) as caught:
        publish(Rulebook(), lax)
    assert caught.value.rule == "publication-floors"
    assert caught.value.field == "versions.0.deadlines.appeal_window"


def test_a_report_carrying_a_rulebook_is_refused_naming_the_field() -> None:
    with pytest.raises(InvalidCommand) as caught:
        refuse_caller_rulebook(file_report(policy=example_policy()))
    assert (caught.value.rule, caught.value.field) == ("published-rulebook-only", "policy")


def test_a_report_is_filed_under_the_published_rulebook() -> None:
    report = file_report().model_copy(update={"policy": None})
    assert file_under_published(report, example_policy()).policy == example_policy()
