"""Replay every checked-in history against today's workflow code: any non-deterministic
change to CaseWorkflow fails here before it can break running cases."""

from __future__ import annotations

from pathlib import Path

import pytest
from dueprocess.workflows.case import CaseWorkflow
from temporalio.client import WorkflowHistory
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import Replayer

HISTORIES = sorted((Path(__file__).parent / "histories").glob("*.json"))
HISTORY_TEXT = {p: p.read_text() for p in HISTORIES}


def test_histories_cover_each_lifecycle_path() -> None:
    names = {p.stem for p in HISTORIES}
    assert {"full_story_appeal_allowed", "response_deadline_missed", "interim_suspension_lapsed",
            "appeal_window_then_sanction_ends", "update_rejected",
            # recorded after the published rulebook (patch "published-rulebook")
            "published_rulebook_report", "intake_rejected",
            "appeal_path_published_rulebook",
            # recorded after the search attributes (patch "case-search-attributes")
            "response_overdue_search_attributes",
            # a case imported open, started in its imported state (services/importer.py)
            "imported_open_case_resumed",
            # recorded after repeat-reporter handling (patch "repeat-reporter")
            "repeat_reporter_hold_released",
            # recorded after the retention timer (patch "retention-timer")
            "closed_case_starts_retention_timer",
            # recorded after the stage deadlines (patch "stage-deadlines")
            "appeal_decision_deadline_missed",
            # recorded after the local append (patch "local-append-activity")
            "local_append_activity",
            # a closed case started again for a correction (CaseInput.rebuild)
            "closed_case_corrected",
            # recorded after the prior sanctions are weighed (patch "prior-sanctions")
            "prior_sanctions_weighed",
            # recorded after escalation notices (patch "escalation-notice"): the triage
            # deadline missed, the case officer told, then the report triaged
            "triage_missed_escalation_notice",
            # recorded after notices posted by the append and the kept deadline timer
            # (patches "notices-in-append", "kept-deadline-timer")
            "notices_in_append_kept_timer"} <= names


@pytest.mark.parametrize("path", HISTORIES, ids=lambda p: p.stem)
async def test_history_replays_deterministically(path: Path) -> None:
    history = WorkflowHistory.from_json(path.stem, HISTORY_TEXT[path])
    replayer = Replayer(workflows=[CaseWorkflow], data_converter=pydantic_data_converter)
    await replayer.replay_workflow(history)
