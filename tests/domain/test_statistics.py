"""Transparency statistics over case histories built from the example happy path."""

from __future__ import annotations

from datetime import timedelta

import pytest
from dueprocess.domain.envelope import RecordedEvent
from dueprocess.domain.statistics import CaseStatistics, case_statistics
from fixtures import case_examples as ex
from fixtures.statistics_cases import CASES, DAY, LATER, STEPS, Case


@pytest.fixture(scope="module")
def histories() -> dict[str, list[RecordedEvent]]:
    return {case.stream_id: case.recorded() for case in (build() for build in CASES)}


def days(delta: timedelta) -> float:
    return round(delta.total_seconds() / 86_400, 2)


def test_counts_over_every_case(histories: dict[str, list[RecordedEvent]]) -> None:
    stats = case_statistics(histories)
    assert stats.cases == 5
    assert stats.generated_from_events == sum(len(h) for h in histories.values())
    assert {k: v for k, v in stats.by_stage.items() if v} == {
        "closed": 4, "appeal_decided": 1}
    assert stats.by_complainant_kind == {"member": 4, "staff": 0, "volunteer": 0,
                                         "automated_detector": 1, "outside_body": 0}
    assert list(stats.by_rule) == ["R1"]
    rule = stats.by_rule["R1"]
    assert (rule.allegations, rule.upheld, rule.not_upheld) == (5, 3, 1)
    assert stats.dismissals.total == 1
    assert stats.dismissals.by_reason == {"no_case_to_answer": 0, "manifestly_unfounded": 1,
                                          "out_of_jurisdiction": 0}
    d = stats.decisions
    assert (d.total, d.upheld, d.not_upheld) == (4, 3, 1)
    assert d.sanctions_by_kind == {"warning": 3, "suspension": 0, "expulsion": 0}
    i = stats.interim_suspensions
    assert (i.imposed, i.renewed, i.lifted, i.lapsed) == (2, 1, 0, 1)
    assert stats.deadlines_missed == {"acknowledge": 1, "respond": 0, "schedule_hearing": 0,
                                      "triage": 0, "investigation": 0,
                                      "decide_after_hearing": 0, "decide_appeal": 0}


def test_appeals_and_the_reversal_rate(histories: dict[str, list[RecordedEvent]]) -> None:
    appeals = case_statistics(histories).appeals
    assert (appeals.lodged, appeals.decided) == (2, 2)
    assert appeals.outcomes == {"dismissed": 1, "allowed": 1, "sanction_varied": 0}
    assert appeals.reversal_rate == 0.5
    only_allowed = case_statistics({"case-c-allowed": histories["case-c-allowed"]}).appeals
    assert only_allowed.reversal_rate == 1.0
    none = case_statistics({"case-c-happy": histories["case-c-happy"]})
    assert none.appeals.reversal_rate is None and none.appeals.lodged == 0


def test_automation_use_and_error_rate(histories: dict[str, list[RecordedEvent]]) -> None:
    auto = case_statistics(histories).automation
    assert auto.reports_from_automated_detectors == 1
    assert auto.decisions_with_automated_detection == 1
    assert auto.automated_decision == {"fully": 0, "partially": 0, "not_automated": 4}
    assert (auto.automated_reports_concluded, auto.automated_reports_not_upheld) == (1, 1)
    assert auto.automated_reports_dismissed == auto.automated_reports_reversed_on_appeal == 0
    assert auto.automated_error_rate == 1.0
    assert case_statistics({}).automation.automated_error_rate is None


def test_median_times(histories: dict[str, list[RecordedEvent]]) -> None:
    medians = case_statistics(histories).median_days
    assert medians.report_to_decision == days(ex.DECIDED_AT - ex.T0)  # four decided alike
    happy_close = STEPS["close"].now - ex.T0
    dismissed_close = ex.DEADLINES.acknowledge + 2 * DAY
    allowed_close = ex.DECIDED_AT + 12 * DAY - ex.T0
    # Closures: dismissed 7, allowed 42.08, happy and automated 60.08 -> median 51.08.
    assert sorted([dismissed_close, allowed_close, happy_close]) == [
        dismissed_close, allowed_close, happy_close]
    assert medians.report_to_closure == days((allowed_close + happy_close) / 2)
    assert medians.decision_to_appeal_decision == 10.0
    empty = case_statistics({}).median_days
    assert empty.report_to_decision is empty.report_to_closure is None
    assert empty.decision_to_appeal_decision is None


def test_the_period_counts_cases_by_when_they_were_reported(
    histories: dict[str, list[RecordedEvent]],
) -> None:
    later = case_statistics(histories, period_from=LATER)
    assert later.cases == 1 and later.dismissals.total == 1 and later.decisions.total == 0
    assert later.generated_from_events == len(histories["case-c-dismissed"])
    assert later.period_from == LATER and later.period_to is None
    earlier = case_statistics(histories, period_to=LATER)  # the end is exclusive
    assert earlier.cases == 4 and earlier.dismissals.total == 0
    assert earlier.appeals.reversal_rate == 0.5
    assert case_statistics(histories, period_from=ex.T0, period_to=ex.T0 + DAY).cases == 4
    assert case_statistics(histories, period_from=LATER + DAY).cases == 0
    with pytest.raises(ValueError):
        case_statistics(histories, period_from=LATER.replace(tzinfo=None))


def test_streams_without_a_report_and_keys_without_the_prefix() -> None:
    filed = Case("x").do(ex.file_report(), ex.T0).recorded()
    stats = case_statistics({"x": filed, "case-empty": []})
    assert stats.cases == 1 and stats.by_stage["reported"] == 1


def test_no_personal_data_and_no_person_ids(histories: dict[str, list[RecordedEvent]]) -> None:
    stats = case_statistics(histories)
    text = stats.model_dump_json()
    assert CaseStatistics.model_validate_json(text) == stats  # machine-readable round trip
    people = [ex.COMPLAINANT_ID, ex.RESPONDENT_ID, ex.WITNESS_ID, ex.INTAKE_ID, ex.DETECTOR_ID,
              ex.OFFICER_ID, ex.INVESTIGATOR_ID, *ex.PANEL_IDS, *ex.APPEAL_PANEL_IDS]
    values = ["Ada Member", "ada@example.org", "Bob Respondent", "bob@example.org",
              "what happened", "a post", "I deny it", "posted the abuse", "The facts are wrong",
              "Risk to members", "social.example", "sha256:", "Room 1"]
    case_ids = [stream_id.removeprefix("case-") for stream_id in histories]
    assert [s for s in people + values + case_ids if s.lower() in text.lower()] == []
    assert '"pii"' not in text and "subject_id" not in text
