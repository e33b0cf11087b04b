"""The typed client on the time-skipping server: a refused intake leaves no workflow, an
unknown case is NotFound, Temporal gone is ServiceUnavailable (never a raw RPC error)."""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from dueprocess.cli.main import main
from dueprocess.devstack.demo import Story
from dueprocess.domain import case as dc
from dueprocess.services.client import (
    CommandRejected,
    NotFound,
    ServiceUnavailable,
    case_id_for,
)
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError
from temporalio.client import WorkflowExecutionStatus
from temporalio.service import RPCError, RPCStatusCode
from temporalio.testing import WorkflowEnvironment

QUEUE = "case-tests"  # the queue the shared worker fixture serves


async def _status(env: WorkflowEnvironment, case_id: str) -> WorkflowExecutionStatus | None:
    try:
        described = await env.client.get_workflow_handle(case_id).describe()
    except RPCError as err:
        assert err.status is RPCStatusCode.NOT_FOUND
        return None
    return described.status


async def test_a_refused_intake_leaves_no_running_workflow(
    story: Story, env: WorkflowEnvironment
) -> None:
    report = (await story.build_report()).model_copy(update={"good_faith_declaration": False})
    with pytest.raises(CommandRejected) as caught:
        await story.client.file_report(report, idempotency_key=f"demo-{story.run}")
    assert caught.value.rule == "good-faith-declaration"
    assert caught.value.field == "good_faith_declaration"
    # Judged by the workflow under the published rulebook it loads, then ended: not running.
    assert await _status(env, case_id_for(f"demo-{story.run}")) \
        is WorkflowExecutionStatus.TERMINATED


async def test_an_intake_the_workflow_refuses_ends_the_workflow_it_started(
    story: Story, env: WorkflowEnvironment
) -> None:
    """The workflow refuses the report (dated in the future) after starting: the empty
    workflow must not run for ever (it did)."""
    now = await env.get_current_time()
    report = await story.build_report()
    future = report.model_copy(update={"effective_at": now + timedelta(hours=2)})
    key = f"ahead-{story.run}"
    with pytest.raises(CommandRejected) as caught:
        await story.client.file_report(future, idempotency_key=key)
    assert caught.value.rule == "effective-at-not-in-future"
    assert await _status(env, case_id_for(key)) \
        is WorkflowExecutionStatus.TERMINATED
    # The key is not burnt: the corrected report opens the case.
    filed = await story.client.file_report(report, idempotency_key=key)
    assert [e.type for e in filed.events] == ["ReportFiled"]
    assert await _status(env, filed.case_id) \
        is WorkflowExecutionStatus.RUNNING


async def test_a_refused_duplicate_intake_leaves_the_live_case_alone(
    story: Story, env: WorkflowEnvironment
) -> None:
    first = await story.file()
    other = (await story.build_report()).model_copy(update={"evidence": []})
    with pytest.raises(CommandRejected) as caught:
        await story.client.file_report(other, idempotency_key=f"demo-{story.run}")
    assert caught.value.rule == "case-already-reported"
    assert await _status(env, first.case_id) \
        is WorkflowExecutionStatus.RUNNING


async def test_an_unknown_case_is_not_found(story: Story) -> None:
    # Was: a raw RPCError, a traceback in `case state`.
    with pytest.raises(NotFound):
        await story.client.state("no-such-case")
    with pytest.raises(NotFound):
        await story.client.deadlines("no-such-case")
    with pytest.raises(NotFound) as caught:
        await story.client.send("no-such-case", dc.CloseCase(actor=story.officer,
                                                             authority="rulebook"))
    assert caught.value.field == "case_id" and caught.value.rule == "case-exists"


async def test_temporal_gone_mid_session_is_service_unavailable(
    story: Story, env: WorkflowEnvironment
) -> None:
    filed = await story.file()
    await env.shutdown()
    with pytest.raises(ServiceUnavailable):
        await story.client.state(filed.case_id)


async def _cli(env: WorkflowEnvironment, monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
               *argv: str) -> tuple[int, str]:
    """`dueprocess ARGV --json` in-process (its own event loop, in a thread)."""
    target = env.client.service_client.config.target_host
    monkeypatch.setenv("DUEPROCESS_TEMPORAL_ADDRESS", target)
    monkeypatch.setenv("DUEPROCESS_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("DUEPROCESS_TASK_QUEUE", QUEUE)
    # The test worker's converter seals nothing, so the CLI must not either.
    monkeypatch.setenv("DUEPROCESS_PAYLOAD_KEY", "none-i-accept-clear-history")
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = await asyncio.to_thread(main, [*argv, "--json"])
    return code, out.getvalue()


async def test_cli_state_of_an_unknown_case_is_one_line_exit_2(
    story: Story, env: WorkflowEnvironment, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    code, out = await _cli(env, monkeypatch, tmp_path, "case", "state", "no-such-case")
    assert code == 2 and out.count("\n") == 1
    assert json.loads(out)["type"] == "NotFound"


async def test_cli_with_temporal_gone_exits_3(
    story: Story, env: WorkflowEnvironment, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    filed = await story.file()
    code, out = await _cli(env, monkeypatch, tmp_path, "case", "state", filed.case_id)
    assert code == 0 and json.loads(out)["stage"] == "reported"
    await env.shutdown()
    code, out = await _cli(env, monkeypatch, tmp_path, "case", "state", filed.case_id)
    assert code == 3 and out.count("\n") == 1  # was: a traceback and exit 1


NASTY = st.one_of(st.text(max_size=30), st.just("\x00"), st.just("x\ud800"),
                  st.just("a@b.org\r\nBcc: c@d.org"), st.text(min_size=201, max_size=260),
                  st.just("y" * 70_000))
FIELDS = ["respondent.person_id", "complainant.person_id", "complainant.name.value",
          "complainant.contact.value", "allegations.0.rule_id", "allegations.0.allegation_id",
          "allegations.0.particulars.value", "evidence.0.captured_from", "authority",
          "actor.id"]


async def test_fuzz_the_client_refuses_or_records_never_anything_else(
    story: Story, env: WorkflowEnvironment
) -> None:
    """Whatever text a field holds, the report is refused as invalid input (before it is
    sent), or filed, or refused by the case: no other error, no hang."""
    loop = asyncio.get_running_loop()
    base = (await story.build_report()).model_dump(mode="python")
    outcomes: list[str] = []

    @settings(max_examples=25, deadline=None, derandomize=True)
    @given(field=st.sampled_from(FIELDS), value=NASTY, key=st.uuids())
    def fuzz(field: str, value: str, key: Any) -> None:
        doc = json.loads(json.dumps(base, default=str))
        target: Any = doc
        *parents, last = field.split(".")
        for part in parents:
            target = target[int(part)] if part.isdigit() else target[part]
        target[last] = value
        try:
            report = dc.FileReport.model_validate(doc)
        except ValidationError:
            outcomes.append("invalid")
            return
        call = story.client.file_report(report, idempotency_key=f"fuzz-{key}")
        try:
            asyncio.run_coroutine_threadsafe(call, loop).result(timeout=120)
            outcomes.append("filed")
        except CommandRejected:
            outcomes.append("rejected")

    await asyncio.to_thread(fuzz)
    assert "invalid" in outcomes
