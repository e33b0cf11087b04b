"""The auditor's and the statistics page's form input (one line per bad field, naming
the field and the rule; dates read as `dueprocess audit` and `dueprocess stats` read
them), and the audit page's links from a failing check to its offending events."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from dueprocess.console.auditing import (
    STATUS_TEXT,
    StandingForm,
    _standing_errors,
)
from dueprocess.console.render import ENV
from dueprocess.console.stats_page import period
from dueprocess.domain.audit import CaseAudit, CheckResult, CheckStatus, EventRef, TimelineEntry
from dueprocess.domain.base import ActorKind
from dueprocess.services.case_audit import unauditable
from hypothesis import given
from hypothesis import strategies as st


def test_a_period_of_two_dates_includes_the_whole_last_day() -> None:
    # given the form's two dates
    # when read
    p = period("2026-01-01", "2026-03-31")
    # then from is inclusive at midnight and to includes 31 March
    assert (p.start, p.end, p.errors) == (datetime(2026, 1, 1, tzinfo=UTC),
                                          datetime(2026, 4, 1, tzinfo=UTC), {})
    assert p.query == "from=2026-01-01&to=2026-03-31"


def test_an_open_period_is_everything() -> None:
    p = period("", "")
    assert (p.start, p.end, p.errors, p.query) == (None, None, {}, "")


def test_bad_dates_and_a_reversed_period_name_the_field_and_rule() -> None:
    assert period("yesterday", "").errors == {
        "from": "from: must be a date, YYYY-MM-DD (rule iso-date)"}
    assert period("2026-02-01", "2026-01-01").errors == {
        "to": "to: must not be before from (rule period-order)"}
    assert period("2026-02-01", "2026-02-01").errors == {}  # one whole day


def test_the_standing_form_names_every_bad_field() -> None:
    # given a member id with a space and an impossible date
    form = StandingForm(member_id="two words", as_of="2026-02-30", as_known_on="")
    # when checked
    errors = _standing_errors(form)
    # then each bad field is named with its rule; the empty optional date is fine
    assert errors == {
        "member_id": "member id: at most 200 characters, no spaces or slashes (rule id-shape)",
        "as_of": "as of: must be a date, YYYY-MM-DD (rule iso-date)"}
    assert _standing_errors(StandingForm("m-42", "2026-02-28", "2026-03-01")) == {}
    assert "member_id" in _standing_errors(StandingForm("", "", ""))


@given(st.text(max_size=12), st.text(max_size=12))
def test_any_period_text_is_read_or_refused_never_raised(start: str, end: str) -> None:
    p = period(start, end)
    assert set(p.errors) <= {"from", "to"}
    if not p.errors and p.start is not None and p.end is not None:
        assert p.start < p.end


# -- the audit page's template: a failing check links to its offending events -------------

def test_a_failing_check_links_each_offending_event_to_its_timeline_row() -> None:
    # given an audit where one check fails on event 3
    ref = EventRef(event_id=uuid.uuid4(), stream_version=3, event_type="DecisionRecorded")
    at = datetime(2026, 1, 5, tzinfo=UTC)
    audit = CaseAudit(
        case_id="c1", as_of=at, ok=False,
        checks=[CheckResult(check_id="hearing-before-decision", title="A hearing first",
                            status=CheckStatus.FAIL, explanation="decided unheard",
                            offending=[ref]),
                CheckResult(check_id="events-readable", title="Readable",
                            status=CheckStatus.PASS, explanation="all read")],
        timeline=[TimelineEntry(stream_version=3, event_id=ref.event_id,
                                event_type="DecisionRecorded", actor_id="p1",
                                actor_role="panel_member", actor_kind=ActorKind.PERSON,
                                authority="s.6", effective_at=at, recorded_at=at,
                                summary="decided")])
    # when the page is rendered
    page = ENV.get_template("audit_case.html").render(
        viewer=None, csrf_field=lambda: "", url=lambda p: "/console" + p, nav=[], here="",
        audit=audit, access=None, counts={CheckStatus.PASS: 1, CheckStatus.FAIL: 1,
                                          CheckStatus.NOT_APPLICABLE: 0},
        status_text=STATUS_TEXT, CheckStatus=CheckStatus, access_roles=["auditor", "dpo"])
    # then the verdict counts the failure, the check links its event, the event has a row
    assert "1 check fail" in page
    assert '<a class="offending" href="#event-3">offending: v3 DecisionRecorded</a>' in page
    assert '<tr id="event-3"' in page
    assert '<a href="#check-hearing-before-decision">A hearing first</a>' in page
    # and the access log says who may see it instead of showing it
    assert "The access log is shown to the roles auditor, dpo." in page


def test_a_record_that_cannot_be_audited_is_a_failing_check() -> None:
    # given stored data the audit cannot read
    # when the page builds its audit
    audit = unauditable("c1", KeyError("payload"))
    # then it is one failing check naming the error, as `dueprocess audit case` reports it
    (check,) = audit.checks
    assert (audit.ok, check.check_id, check.status) == (
        False, "stored-record-readable", CheckStatus.FAIL)
    assert check.explanation == "the stored record cannot be audited: KeyError: 'payload'"
