"""The rulebook's repeat-reporter and retention settings are bounded like every other
policy duration, and errors name the field."""

from __future__ import annotations

import json

import pytest
from dueprocess.domain.policy import PolicyError, load_policy
from dueprocess.services.policyfile import load_policy_file

SAMPLE = load_policy_file(None)


def _with(section: str, value: dict[str, object]) -> str:
    doc = SAMPLE.model_dump(mode="json")
    doc["versions"][-1][section] = value
    return json.dumps(doc)


GOOD = {"threshold": 3, "window": "P180D", "hold_period": "P90D", "warning": "Reasons."}


def test_the_sample_configures_repeat_reporting_and_retention() -> None:
    current = SAMPLE.versions[-1]
    assert current.repeat_reporting is not None and current.repeat_reporting.threshold == 3
    assert current.retention is not None
    assert all(r.current_for is not None for r in current.rules)


@pytest.mark.parametrize(("change", "field"), [
    ({"threshold": 1}, "threshold"), ({"threshold": 101}, "threshold"),
    ({"window": "P3654D"}, "window"), ({"hold_period": "14"}, "hold_period"),
    ({"hold_period": "P0D"}, "hold_period"), ({"warning": " "}, "warning"),
])
def test_out_of_bounds_repeat_reporting_is_refused_naming_the_field(
        change: dict[str, object], field: str) -> None:
    with pytest.raises(PolicyError) as refused:
        load_policy(_with("repeat_reporting", {**GOOD, **change}), "json")
    assert refused.value.field == f"versions.{len(SAMPLE.versions) - 1}.repeat_reporting.{field}"


def test_retention_periods_are_durations_within_bounds() -> None:
    good: dict[str, object] = {"dismissed": "P365D", "not_upheld": "P730D", "sanctioned": "P2192D",
            "membership": "P365D"}
    assert load_policy(_with("retention", good), "json").versions[-1].retention is not None
    with pytest.raises(PolicyError) as refused:
        load_policy(_with("retention", {**good, "sanctioned": "P1Y"}), "json")
    assert refused.value.field == f"versions.{len(SAMPLE.versions) - 1}.retention.sanctioned"
