"""The rulebook: the sample loads, errors name the field, versions never overlap."""

from __future__ import annotations

import json
import pathlib
from datetime import date, timedelta
from typing import Any

import dueprocess.deploy
import pytest
import yaml
from dueprocess.domain.base import PolicyViolation
from dueprocess.domain.policy import (
    PolicyDocument,
    PolicyError,
    Right,
    SanctionKind,
    SourceKind,
    load_policy,
)

SAMPLE = pathlib.Path(dueprocess.deploy.__file__).parent / "policies" / "sample.yaml"


def sample_text() -> str:
    return SAMPLE.read_text(encoding="utf-8")


def sample_data() -> dict[str, Any]:
    data = yaml.safe_load(sample_text())
    assert isinstance(data, dict)
    return data


def load_changed(data: dict[str, Any]) -> PolicyDocument:
    return load_policy(yaml.safe_dump(data), "yaml")


def problem(data: dict[str, Any]) -> str:
    with pytest.raises(PolicyError) as caught:
        load_changed(data)
    return str(caught.value)


def test_sample_loads_with_three_versions_and_a_later_rule() -> None:
    policy = load_policy(sample_text())
    historical, old, new = policy.versions
    # before 2019, for past cases imported (ACAS Code 2009, reissued 2015)
    assert (historical.version, historical.effective_from, historical.effective_to) == (
        "2009.1", date(2009, 4, 6), date(2018, 12, 31))
    assert (old.version, old.effective_from, old.effective_to) == (
        "2019.1", date(2019, 1, 1), date(2022, 12, 31))
    assert (new.version, new.effective_from, new.effective_to) == ("2023.1", date(2023, 1, 1), None)
    assert len(new.rules) >= 5
    assert old.find_rule("R5") is None and new.rule("R5").title == "Antisocial online conduct"
    assert all(rule.definition and rule.examples for v in policy.versions for rule in v.rules)


def test_sample_deadlines_statuses_and_evidence() -> None:
    new = load_policy(sample_text()).version_on(date(2024, 5, 1))
    assert new.deadlines.respond == timedelta(days=21)
    assert new.deadlines.appeal_window == timedelta(weeks=6)
    assert new.rights_removed("interim_suspended") == frozenset(Right)
    assert new.rights_removed("warned") == frozenset()
    assert SourceKind.PRIVATE_MESSAGE in new.evidence.private_source_kinds


def test_every_sample_version_sets_retention_and_where_it_is_published() -> None:
    # Given the sample rulebook, then no version keeps a case's people indefinitely
    policy = load_policy(sample_text())
    for version in policy.versions:
        assert version.retention is not None, version.version
        assert version.retention.sanctioned == timedelta(days=2192)
        assert version.reference_url == \
            f"https://example.org/members-code/{version.version}"
    # And every 2023.1 rule says how long its sanction stays current (ACAS 19-20)
    assert all(rule.current_for for rule in policy.versions[-1].rules)
    assert policy.versions[-1].rule("R4").current_for == timedelta(days=730)


def test_a_reference_url_is_an_absolute_web_address() -> None:
    data = yaml.safe_load(sample_text())
    data["versions"][0]["reference_url"] = "example.org/members-code"
    assert "reference_url" in problem(data)


def test_version_on_picks_the_version_in_force_inclusive_of_its_end() -> None:
    policy = load_policy(sample_text())
    assert policy.version_on(date(2016, 5, 20)).version == "2009.1"
    assert policy.version_on(date(2018, 12, 31)).version == "2009.1"
    assert policy.version_on(date(2019, 1, 1)).version == "2019.1"
    assert policy.version_on(date(2022, 12, 31)).version == "2019.1"
    assert policy.version_on(date(2023, 1, 1)).version == "2023.1"
    assert policy.version_on(date(2040, 1, 1)).version == "2023.1"


def test_version_on_a_date_before_any_version_is_a_policy_violation() -> None:
    with pytest.raises(PolicyViolation) as caught:
        load_policy(sample_text()).version_on(date(2009, 4, 5))
    assert caught.value.rule == "rule-in-force-on-conduct-date"


def test_unknown_rule_in_a_version_is_a_policy_violation() -> None:
    old = load_policy(sample_text()).versions[1]
    with pytest.raises(PolicyViolation) as caught:
        old.rule("R5")
    assert (caught.value.rule, caught.value.field) == ("rule-in-force-on-conduct-date", "rule_id")


def test_json_loads_and_round_trips() -> None:
    policy = load_policy(sample_text())
    again = load_policy(json.dumps(policy.model_dump(mode="json")), "json")
    assert again == policy
    assert policy.model_dump(mode="json")["versions"][2]["deadlines"]["respond"] == "P21D"


def test_zero_duration_names_the_field() -> None:
    data = sample_data()
    data["versions"][1]["deadlines"]["respond"] = "P0D"
    assert "versions.1.deadlines.respond: must be a positive duration" in problem(data)


@pytest.mark.parametrize("value", [14, "14", "P1M", "P1Y", "two weeks", "P"])
def test_durations_must_be_iso_days_or_weeks(value: object) -> None:
    data = sample_data()
    data["versions"][2]["deadlines"]["appeal_window"] = value
    message = problem(data)
    assert "versions.2.deadlines.appeal_window: must be an ISO-8601 duration" in message


def test_overlapping_versions_are_rejected_naming_both() -> None:
    data = sample_data()
    data["versions"][1]["effective_to"] = date(2023, 6, 30)
    message = problem(data)
    assert message.startswith("versions: ")
    assert "'2019.1'" in message and "'2023.1'" in message and "overlap" in message


def test_an_open_ended_version_overlaps_any_later_one() -> None:
    data = sample_data()
    del data["versions"][1]["effective_to"]
    assert "overlap" in problem(data)


def test_duplicate_version_names_are_rejected() -> None:
    data = sample_data()
    data["versions"][2]["version"] = "2019.1"
    assert "versions: version names must be unique" in problem(data)


def test_end_before_start_names_the_field() -> None:
    data = sample_data()
    data["versions"][1]["effective_to"] = date(2018, 1, 1)
    assert "versions.1.effective_to: must not be before effective_from" in problem(data)


def test_unknown_sanction_names_the_field() -> None:
    data = sample_data()
    data["versions"][2]["rules"][0]["allowed_sanctions"] = ["warning", "interim_suspension"]
    assert "versions.2.rules.0.allowed_sanctions.1:" in problem(data)


def test_suspension_needs_a_maximum_term() -> None:
    data = sample_data()
    del data["versions"][2]["rules"][0]["max_suspension"]
    assert ("versions.2.rules.0.max_suspension: required when suspension is an allowed sanction"
            in problem(data))


def test_maximum_term_only_with_suspension() -> None:
    data = sample_data()
    data["versions"][2]["rules"][0]["allowed_sanctions"] = ["warning"]
    assert "versions.2.rules.0.max_suspension: only meaningful" in problem(data)


def test_rules_need_examples() -> None:
    data = sample_data()
    data["versions"][2]["rules"][2]["examples"] = []
    assert "versions.2.rules.2.examples: at least one example" in problem(data)


def test_duplicate_rule_ids_are_rejected() -> None:
    data = sample_data()
    data["versions"][2]["rules"][1]["rule_id"] = "R1"
    assert "versions.2.rules: rule ids must be unique" in problem(data)


def test_missing_status_names_the_field() -> None:
    data = sample_data()
    del data["versions"][2]["statuses"]["expelled"]
    assert "versions.2.statuses: missing statuses ['expelled']" in problem(data)


def test_unknown_right_names_the_field() -> None:
    data = sample_data()
    data["versions"][2]["statuses"]["suspended"] = ["vote", "speak"]
    assert "versions.2.statuses.suspended.1:" in problem(data)


def test_missing_field_names_the_path() -> None:
    data = sample_data()
    del data["versions"][1]["deadlines"]["acknowledge"]
    assert "versions.1.deadlines.acknowledge: Field required" in problem(data)


def test_unknown_field_is_refused() -> None:
    data = sample_data()
    data["versions"][1]["deadlines"]["respnd"] = "P14D"
    assert "versions.1.deadlines.respnd: Extra inputs are not permitted" in problem(data)


def test_private_kinds_must_be_acceptable() -> None:
    data = sample_data()
    data["versions"][1]["evidence"]["private_source_kinds"] = ["automated_capture"]
    assert "versions.1.evidence.private_source_kinds:" in problem(data)


def test_errors_are_listed_together_and_expose_the_first_field() -> None:
    data = sample_data()
    data["versions"][1]["deadlines"]["respond"] = "P0D"
    data["versions"][2]["deadlines"]["respond"] = "P0D"
    with pytest.raises(PolicyError) as caught:
        load_changed(data)
    assert caught.value.field == "versions.1.deadlines.respond"
    assert [path for path, _ in caught.value.problems] == [
        "versions.1.deadlines.respond", "versions.2.deadlines.respond"]


@pytest.mark.parametrize(("text", "fmt", "expected"), [
    ("versions: [unclosed", "yaml", "<document>: not valid yaml"),
    ("{", "json", "<document>: not valid json"),
    ("- a list", "yaml", "<document>: must be a mapping"),
    ("policy_id: x", "toml", "<format>: unknown format"),
])
def test_unparseable_text_is_a_policy_error(text: str, fmt: Any, expected: str) -> None:
    with pytest.raises(PolicyError) as caught:
        load_policy(text, fmt)
    assert str(caught.value).startswith(expected)


def test_evidence_admissibility_rules() -> None:
    evidence = load_policy(sample_text()).versions[1].evidence
    assert evidence.inadmissibility(SourceKind.PUBLIC_POST, False, None) is None
    assert evidence.inadmissibility(SourceKind.PRIVATE_MESSAGE, True, None) is None
    assert evidence.inadmissibility(
        SourceKind.PRIVATE_MESSAGE, False, "legitimate_interests_disciplinary") is None
    assert "without consent" in str(evidence.inadmissibility(
        SourceKind.PRIVATE_MESSAGE, False, None))
    assert "not one the policy allows" in str(evidence.inadmissibility(
        SourceKind.PRIVATE_MESSAGE, False, "curiosity"))
    assert "not acceptable" in str(evidence.inadmissibility(
        SourceKind.AUTOMATED_CAPTURE, True, None))


def test_rule_allows_only_listed_sanctions_within_the_cap() -> None:
    rule = load_policy(sample_text()).versions[2].rule("R5")
    assert rule.allows(SanctionKind.WARNING, None)
    assert rule.allows(SanctionKind.SUSPENSION, timedelta(days=90))
    assert not rule.allows(SanctionKind.SUSPENSION, timedelta(days=91))
    assert not rule.allows(SanctionKind.SUSPENSION, None)
    assert not rule.allows(SanctionKind.EXPULSION, None)


def test_authority_names_the_version_and_path() -> None:
    new = load_policy(sample_text()).versions[2]
    assert new.authority("deadlines.respond") == "policy:2023.1#deadlines.respond"
