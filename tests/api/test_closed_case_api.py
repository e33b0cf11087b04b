"""A correction of a closed case over real HTTP (issue 15): an automated flag, dismissed
and closed, is corrected as an automation error by a case officer; the apology notice is
dispatched and the audit links the corrected report to its correction."""

from __future__ import annotations

import asyncio
from typing import Any

from dueprocess.domain.streams import notification_stream
from fixtures import closed_cases as cc

from .conftest import Api

DETECTOR, OFFICER, AUDITOR = cc.DETECTOR.id, cc.OFFICER.id, "auditor-1"


async def _officer(api: Api, case_id: str, command: Any) -> Any:
    body = command.model_dump(mode="json", exclude={"actor"})
    return await api.http.post(f"/cases/{case_id}/commands", json=body,
                               headers=api.auth(OFFICER, "case_officer"))


async def test_a_closed_automated_flag_is_corrected_over_http(api: Api) -> None:
    # given an automated detector's flag, filed over HTTP, dismissed and closed
    flag = cc.automated_flag().model_dump(mode="json", exclude={"actor", "policy"})
    filed = await api.http.post("/cases", json=flag, headers=api.auth(
        DETECTOR, "detector", system=True) | {"Idempotency-Key": "flag-http-1"})
    assert filed.status_code == 201, filed.text
    case_id = filed.json()["case_id"]
    for command in cc.to_closure():
        done = await _officer(api, case_id, command)
        assert done.status_code == 200, done.text
    await api.env.client.get_workflow_handle(case_id).result()  # its workflow completed
    # when a case officer corrects it as an automation error, with an apology
    corrected = await _officer(api, case_id, cc.correction())
    # then the correction is recorded on the closed case, naming the detector
    assert corrected.status_code == 200, corrected.text
    [event] = corrected.json()["events"]
    assert event["type"] == "RecordCorrected" and event["detector_id"] == DETECTOR
    assert event["found_by"] == OFFICER and event["apology"] == cc.APOLOGY
    # and a step of the procedure is refused as a conflict, naming rule and field
    late = await _officer(api, case_id, cc.to_closure()[0])
    assert late.status_code == 409, late.text
    assert (late.json()["rule"], late.json()["field"]) == ("case-closed", "type")
    # and the audit links the corrected report and its correction, both ways
    audit = await api.http.get(f"/audit/cases/{case_id}", headers=api.auth(AUDITOR, "auditor"))
    assert audit.status_code == 200, audit.text
    rows = {row["event_type"]: row for row in audit.json()["timeline"]}
    assert any(f.startswith("corrected by") for f in rows["ReportFiled"]["flags"])
    assert any(f.startswith("corrects") for f in rows["RecordCorrected"]["flags"])
    # and the apology notice is dispatched to the respondent, caused by the correction
    # (in the background of the decision: waited for, not timed)
    [event_id] = corrected.json()["event_ids"]
    for _ in range(600):
        if await _notices_caused_by(api, case_id, event_id):
            break
        await asyncio.sleep(0.2)
    else:
        raise AssertionError("no apology notice was dispatched")


async def _notices_caused_by(api: Api, case_id: str, event_id: str) -> list[Any]:
    notes = await api.store.read_stream(notification_stream(case_id))
    return [n for n in notes if n.payload["caused_by"] == event_id
            and n.payload["recipient_role"] == "respondent"]
