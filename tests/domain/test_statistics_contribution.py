"""A case's contribution is the one definition of what it adds to the statistics: summed
from their stored (JSON) form, the contributions give the statistics folded from the log,
for any cases, part way through or finished, and any period."""

from __future__ import annotations

from datetime import datetime, timedelta

from dueprocess.domain.envelope import RecordedEvent
from dueprocess.domain.statistics import (
    CaseContribution,
    StatisticsBuilder,
    case_statistics,
    stream_contribution,
)
from fixtures import case_examples as ex
from fixtures.statistics_cases import CASES, DAY
from hypothesis import given, settings
from hypothesis import strategies as st

HISTORIES = [build(f"c{i}").recorded() for i, build in enumerate(CASES)]
BOUNDS = st.one_of(st.none(), st.integers(min_value=-2, max_value=60).map(
    lambda d: ex.T0 + d * DAY + timedelta(hours=d % 5)))


@st.composite
def logs(draw: st.DrawFn) -> dict[str, list[RecordedEvent]]:
    """Several cases (the same history may recur), each cut after some event."""
    picks = draw(st.lists(st.tuples(st.integers(0, len(HISTORIES) - 1),
                                    st.integers(0, 40)), max_size=8))
    return {f"case-k{n}": HISTORIES[which][:upto] for n, (which, upto) in enumerate(picks)}


@settings(max_examples=60, deadline=None)
@given(cases=logs(), start=BOUNDS, end=BOUNDS)
def test_stored_contributions_sum_to_the_statistics_of_the_log(
    cases: dict[str, list[RecordedEvent]], start: datetime | None, end: datetime | None
) -> None:
    stored = [share.model_dump_json() for share in
              (stream_contribution(key, history) for key, history in cases.items())
              if share is not None]
    summed = StatisticsBuilder(period_from=start, period_to=end)
    for text in stored:
        summed.add_contribution(CaseContribution.model_validate_json(text))
    assert summed.result() == case_statistics(cases, period_from=start, period_to=end)


def test_a_contribution_holds_no_personal_data_and_no_case_id() -> None:
    texts = [share.model_dump_json() for share in
             (stream_contribution(h[0].stream_id, h) for h in HISTORIES) if share]
    people = [ex.COMPLAINANT_ID, ex.RESPONDENT_ID, ex.WITNESS_ID, ex.INTAKE_ID, ex.DETECTOR_ID,
              ex.OFFICER_ID, ex.INVESTIGATOR_ID, *ex.PANEL_IDS, *ex.APPEAL_PANEL_IDS]
    values = ["Ada Member", "ada@example.org", "Bob Respondent", "bob@example.org",
              "what happened", "I deny it", "The facts are wrong", "Risk to members"]
    assert len(texts) == len(HISTORIES)
    for text in texts:
        assert [s for s in [*people, *values, "c0", "c1", "c2", "c3", "c4"]
                if s.lower() in text.lower()] == []
        assert '"pii"' not in text and "subject_id" not in text
