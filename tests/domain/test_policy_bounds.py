"""Policy bounds: no policy that parses can overflow a date or a durable timer."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import yaml
from dueprocess.domain import case as dc
from dueprocess.domain.policy import (
    MAX_DURATION,
    Deadlines,
    Duration,
    PolicyError,
    iso_duration_text,
    load_policy,
    publication_problems,
)
from dueprocess.domain.policy_terms import duration_text
from fixtures.case_examples import DEADLINES, example_policy, file_report
from google.protobuf import duration_pb2
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import TypeAdapter, ValidationError

from .test_policy import sample_data

FIELDS = Deadlines.period_names()
accepted = st.timedeltas(min_value=timedelta(seconds=1), max_value=MAX_DURATION)
PERIOD: TypeAdapter[timedelta] = TypeAdapter(Duration)
filed_at = st.datetimes(min_value=datetime(2024, 3, 2), max_value=datetime(2199, 12, 31),
                        timezones=st.just(UTC))


def _timer_accepts(delay: timedelta) -> None:
    """What the workflow hands Temporal for a timer: seconds, as a protobuf Duration."""
    duration_pb2.Duration().FromTimedelta(timedelta(seconds=max(delay.total_seconds(), 0.001)))


@settings(max_examples=60, deadline=None)
@given(durations=st.fixed_dictionaries({name: accepted for name in FIELDS}), now=filed_at)
def test_any_accepted_policy_yields_deadlines_a_workflow_timer_accepts(
    durations: dict[str, timedelta], now: datetime
) -> None:
    # Given any deadlines the policy accepts, and a report filed on any day before 2200
    policy = example_policy(Deadlines(**durations))
    events = dc.decide(dc.CaseState.empty("c-1"), file_report(policy=policy), now)
    state = dc.CaseState.empty("c-1")
    for event in events:
        state = dc.evolve(state, event)
    # Then every pending deadline, and every period the policy can start, is a valid time
    for deadline in dc.pending_deadlines(state):
        _timer_accepts(deadline.due_at - now)
    for name in FIELDS:
        _timer_accepts(getattr(policy.versions[1].deadlines, name))
        assert now + getattr(policy.versions[1].deadlines, name) > now


@settings(max_examples=30, deadline=None)
@given(name=st.sampled_from(FIELDS),
       excess=st.timedeltas(min_value=timedelta(seconds=1), max_value=timedelta(days=10**6)))
def test_durations_beyond_ten_years_are_refused_naming_the_field(
    name: str, excess: timedelta
) -> None:
    with pytest.raises(ValidationError) as caught:
        Deadlines(**{**DEADLINES.model_dump(), name: MAX_DURATION + excess})
    assert caught.value.errors()[0]["loc"] == (name,)


def test_the_issue_11_deadline_of_three_million_days_is_refused() -> None:
    data = sample_data()
    data["versions"][0]["deadlines"]["appeal_window"] = "P3000000D"
    with pytest.raises(PolicyError) as caught:
        load_policy(yaml.safe_dump(data))
    assert caught.value.field == "versions.0.deadlines.appeal_window"
    assert "ten years" in str(caught.value)


@pytest.mark.parametrize(("path", "value", "field"), [
    (("versions", 0, "effective_from"), "1066-10-14", "versions.0.effective_from"),
    (("versions", 0, "rules", 0, "examples"), ["x"] * 21, "versions.0.rules.0.examples"),
    (("versions", 0, "rules", 0, "title"), "t" * 201, "versions.0.rules.0.title"),
    (("versions", 0, "rules", 0, "max_suspension"), "P4000D",
     "versions.0.rules.0.max_suspension"),
])
def test_dates_counts_and_lengths_are_bounded(path: tuple[object, ...], value: object,
                                              field: str) -> None:
    data = sample_data()
    target = data
    for part in path[:-1]:
        target = target[part]  # type: ignore[index]
    target[path[-1]] = value  # type: ignore[index]
    with pytest.raises(PolicyError) as caught:
        load_policy(yaml.safe_dump(data))
    assert caught.value.field == field


def test_a_one_second_appeal_window_parses_but_cannot_be_published() -> None:
    # Given a version whose appeal window is one second (issue 11)
    version = example_policy(DEADLINES.model_copy(
        update={"appeal_window": timedelta(seconds=1)})).versions[1]
    # Then publication names the field and the floor
    assert publication_problems(version, "versions.1") == [
        ("versions.1.deadlines.appeal_window",
         "must be at least P7D (it protects the respondent)")]


def test_the_sample_and_the_test_policy_meet_the_publication_floors() -> None:
    sample = load_policy(yaml.safe_dump(sample_data()))
    for index, version in enumerate([*sample.versions, *example_policy().versions]):
        assert publication_problems(version, f"versions.{index}") == []


@settings(max_examples=300, deadline=None)
@given(duration=st.timedeltas(min_value=timedelta(microseconds=1), max_value=MAX_DURATION))
def test_every_accepted_duration_is_written_as_text_that_reads_back_the_same(
    duration: timedelta
) -> None:
    # Given any duration a policy period accepts, to the microsecond
    # When it is written as the events store it
    text = iso_duration_text(duration)
    # Then a period field accepts that text and reads back the very same duration
    assert PERIOD.validate_python(text) == duration
    assert PERIOD.dump_python(duration, mode="json") == text


@given(duration=st.timedeltas())
def test_any_duration_is_written_exactly_as_days_and_time(duration: timedelta) -> None:
    # Given any duration, negative ones too; when written, then it reads back the same
    text = iso_duration_text(duration)
    assert "Y" not in text and "e" not in text
    assert TypeAdapter(timedelta).validate_python(text) == duration


@pytest.mark.parametrize(("period", "text"), [
    (timedelta(days=14), "2 weeks"), (timedelta(days=10), "10 days"),
    (timedelta(days=1, hours=6), "1 day 6 hours"), (timedelta(seconds=1), "1 second"),
    (timedelta(0), "0 seconds"), (timedelta(days=-7), "-1 week")])
def test_a_period_in_a_message_reads_as_people_write_it(period: timedelta, text: str) -> None:
    assert duration_text(period) == text


_UNITS = {"week": timedelta(weeks=1), "day": timedelta(days=1), "hour": timedelta(hours=1),
          "minute": timedelta(minutes=1), "second": timedelta(seconds=1)}


@given(period=st.timedeltas(min_value=timedelta(0), max_value=MAX_DURATION))
def test_a_periods_text_adds_up_to_it_to_the_second(period: timedelta) -> None:
    # Given any period; when it is written for a message; then its parts add up to it
    words = duration_text(period).split()
    total = sum((int(n) * _UNITS[unit.rstrip("s")] for n, unit in zip(
        words[::2], words[1::2], strict=True)), timedelta(0))
    assert total == period - timedelta(microseconds=period.microseconds)
    assert ":" not in duration_text(period)  # never str(timedelta)'s "14 days, 0:00:00"
