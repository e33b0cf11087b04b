"""Statistics as charts and downloads: the figures are CaseStatistics' own, every chart
writes each figure as text, and the CSV reads back into the same statistics as the JSON."""

from __future__ import annotations

import csv
import io
import xml.etree.ElementTree as ET
from datetime import UTC

from dueprocess.console.charts import bar_chart
from dueprocess.console.stats_charts import statistics_charts, statistics_svgs
from dueprocess.console.stats_export import from_csv, from_json, to_csv, to_json
from dueprocess.domain.statistics import CaseStatistics, RuleCounts, case_statistics
from hypothesis import given
from hypothesis import strategies as st

SVG = "{http://www.w3.org/2000/svg}"
EMPTY = case_statistics({})


def with_appeals(decided: int, allowed: int, varied: int) -> CaseStatistics:
    outcomes = {**EMPTY.appeals.outcomes, "allowed": allowed, "sanction_varied": varied,
                "dismissed": decided - allowed - varied}
    rate = (allowed + varied) / decided if decided else None
    appeals = EMPTY.appeals.model_copy(update={
        "lodged": decided, "decided": decided, "outcomes": outcomes, "reversal_rate": rate})
    return EMPTY.model_copy(update={"appeals": appeals, "cases": 7,
                                    "by_stage": {**EMPTY.by_stage, "closed": 7}})


def chart(stats: CaseStatistics, ident: str) -> ET.Element:
    found = [svg for c, svg in statistics_svgs(stats) if c.ident == ident]
    assert len(found) == 1, ident
    return ET.fromstring(found[0])


def texts(svg: ET.Element) -> list[str]:
    return [node.text or "" for node in svg.iter(f"{SVG}text")]


def test_the_reversal_rate_is_written_with_its_counts() -> None:
    # given four appeals decided: one allowed, one sanction varied
    stats = with_appeals(decided=4, allowed=1, varied=1)
    # when charted
    svg = chart(stats, "stats-appeals")
    # then the rate is written out with what it is a rate of, and described
    assert "50% (2 of 4)" in texts(svg)
    desc = svg.find(f"{SVG}desc")
    assert desc is not None and "reversed (allowed or varied): 50% (2 of 4)" in (desc.text or "")


def test_a_rate_with_nothing_to_count_says_so() -> None:
    # given no automated report concluded
    # when charted
    svg = chart(EMPTY, "stats-automation")
    # then no bar pretends to be 0 %: the row says there is nothing to count
    assert "none to count" in texts(svg)
    assert not any(t.endswith("%") for t in texts(svg))


def test_cases_by_stage_lists_every_stage_with_its_count() -> None:
    stats = with_appeals(decided=4, allowed=1, varied=1)
    svg = chart(stats, "stats-stage")
    title = svg.find(f"{SVG}title")
    assert title is not None and title.text == "Cases by stage (7 in all)"
    labels = texts(svg)
    for stage, count in stats.by_stage.items():
        assert stage.replace("_", " ") in labels and str(count) in labels


def test_overdue_now_adds_a_chart_only_when_known() -> None:
    assert "stats-overdue" not in [c.ident for c in statistics_charts(EMPTY)]
    charts = statistics_charts(EMPTY, overdue_now={"hearing": 3, "intake": 1})
    overdue = charts[-1]
    assert overdue.ident == "stats-overdue"
    assert [(b.label, b.shown) for b in overdue.bars] == [("hearing", "3"), ("intake", "1")]


def test_charts_use_no_style_attribute_and_unique_ids() -> None:
    svgs = [ET.fromstring(svg) for _, svg in statistics_svgs(EMPTY, {"hearing": 1})]
    ids = [node.get("id") for svg in svgs for node in svg.iter() if node.get("id")]
    assert len(ids) == len(set(ids))
    assert not any("style" in node.attrib for svg in svgs for node in svg.iter())


def test_the_csv_has_one_figure_per_row() -> None:
    stats = with_appeals(decided=4, allowed=1, varied=1)
    rows = list(csv.reader(io.StringIO(to_csv(stats))))
    assert rows[0] == ["section", "group", "key", "value"]
    assert ["cases", "", "", "7"] in rows
    assert ["appeals", "outcomes", "allowed", "1"] in rows
    assert ["appeals", "", "reversal_rate", "0.5"] in rows
    assert ["by_rule", "", "", ""] in rows  # no rule cited: the empty group is kept


# -- property: the CSV and the JSON carry the same figures ------------------------------------

count = st.integers(min_value=0, max_value=10**9)
rate = st.none() | st.floats(min_value=0, max_value=1)
days = st.none() | st.floats(min_value=0, max_value=10**5)
# Rule ids come from a rulebook; include what would trip CSV or a spreadsheet.
rule_id = st.text(alphabet=st.sampled_from("R1-=+@',\"\n ._\t"), min_size=1, max_size=6)


def counts(keys: dict[str, int]) -> st.SearchStrategy[dict[str, int]]:
    return st.fixed_dictionaries({k: count for k in keys})


@st.composite
def statistics(draw: st.DrawFn) -> CaseStatistics:
    doc = EMPTY.model_dump()
    doc.update(
        period_from=draw(st.none() | st.datetimes(timezones=st.just(UTC))),
        cases=draw(count), generated_from_events=draw(count),
        by_stage=draw(counts(EMPTY.by_stage)),
        by_rule=draw(st.dictionaries(rule_id, st.builds(
            RuleCounts, allegations=count, upheld=count, not_upheld=count), max_size=3)),
        deadlines_missed=draw(counts(EMPTY.deadlines_missed)))
    doc["appeals"].update(decided=draw(count), reversal_rate=draw(rate),
                          outcomes=draw(counts(EMPTY.appeals.outcomes)))
    doc["automation"].update(automated_error_rate=draw(rate),
                             automated_reports_concluded=draw(count))
    doc["median_days"].update(report_to_decision=draw(days), report_to_closure=draw(days))
    return CaseStatistics.model_validate(doc)


@given(statistics())
def test_the_csv_reads_back_as_the_json_figures(stats: CaseStatistics) -> None:
    # given any statistics
    # when exported as CSV and as JSON and read back
    # then both give the same figures
    assert from_csv(to_csv(stats)) == from_json(to_json(stats)) == stats


@given(statistics())
def test_every_chart_is_well_formed_and_described(stats: CaseStatistics) -> None:
    for chart_, svg in statistics_svgs(stats, {"hearing": 2}):
        root = ET.fromstring(svg)
        desc = root.find(f"{SVG}desc")
        assert root.get("role") == "img" and desc is not None
        for bar in chart_.bars:
            assert f"{bar.label}: {bar.shown}" in (desc.text or "")
        assert bar_chart(chart_) == svg  # the same figures draw the same picture
