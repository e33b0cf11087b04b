"""The continue-as-new state is a storage format: versioned, and older shapes upcast."""

from __future__ import annotations

import pytest
from dueprocess.devstack.demo import Story
from dueprocess.domain import case as dc
from dueprocess.services.client import DueProcessClient
from dueprocess.workflows.case import CASE_WORKFLOW, CaseInput
from dueprocess.workflows.case_input import CASE_INPUT_SCHEMA
from pydantic import ValidationError
from temporalio.testing import WorkflowEnvironment

# As workers before the schema version wrote it (continue-as-new and the client's start).
UNVERSIONED: dict[str, object] = {"case_id": "old-shape", "state": None, "version": 0, "fired": [],
               "history_limit": None}


def test_an_unversioned_input_is_upcast_and_new_ones_carry_the_version() -> None:
    assert CaseInput.model_validate(UNVERSIONED).schema_version == CASE_INPUT_SCHEMA
    assert CaseInput(case_id="c").model_dump()["schema_version"] == CASE_INPUT_SCHEMA


def test_a_version_2_input_is_upcast_as_a_run_that_files_anew_on_its_own_queue() -> None:
    # as workers before closed cases could be started again wrote it
    upcast = CaseInput.model_validate({**UNVERSIONED, "schema_version": 2})
    assert (upcast.rebuild, upcast.retention_queue) == (False, None)
    # and a new input keeps what it is given
    fresh = CaseInput(case_id="c", rebuild=True, retention_queue="main")
    assert (fresh.rebuild, fresh.retention_queue) == (True, "main")


def test_an_input_from_a_newer_worker_is_refused_not_misread() -> None:
    with pytest.raises(ValidationError, match="newer than this worker"):
        CaseInput.model_validate({**UNVERSIONED, "schema_version": CASE_INPUT_SCHEMA + 1})


async def test_an_old_shaped_input_still_starts_a_case(
    env: WorkflowEnvironment, client: DueProcessClient, story: Story,
) -> None:
    # Given a case started with the unversioned input, as an older worker handed it over
    await env.client.start_workflow(CASE_WORKFLOW, UNVERSIONED, id="old-shape",
                                    task_queue="case-tests")
    # When it is asked for its state; then it runs, as a new empty case
    state = await client.state("old-shape")
    assert state.case_id == "old-shape" and state.stage == dc.CaseStage.NEW
