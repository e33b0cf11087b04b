"""POST /imports over real HTTP: operators only, all or nothing, open cases resumed."""

from __future__ import annotations

from dueprocess.domain.streams import case_stream
from fixtures.imports import OPEN_CASE_ID, open_case_file

from .conftest import Api

OPERATOR = "ops-1"


async def test_an_operator_imports_an_open_case_which_resumes(api: Api) -> None:
    document = open_case_file(await api.env.get_current_time())
    response = await api.http.post("/imports", json=document, params={"import_id": "imp-api"},
                                   headers=api.auth(OPERATOR, "operator"))
    assert response.status_code == 200, response.text
    report = response.json()
    assert report["import_id"] == "imp-api" and report["importer"]["id"] == OPERATOR
    assert report["cases"][0]["resumed"] and report["cases"][0]["historical_deadlines"] == 1
    events = await api.store.read_stream(case_stream(OPEN_CASE_ID))
    # the importer's verified token is on every event, beside the source's own actors
    assert all(e.principal is not None and e.principal.subject == OPERATOR for e in events)
    assert all(e.imported is not None and e.imported.importer.id == OPERATOR for e in events)
    case = await api.http.get(f"/cases/{OPEN_CASE_ID}",
                              headers=api.auth("staff-officer", "case_officer"))
    assert case.status_code == 200, case.text
    standing = await api.http.get("/audit/members/m-200", params={
        "as_known_on": events[0].effective_at.isoformat(), "known_by": "recorded"},
        headers=api.auth("aud-1", "auditor"))
    assert standing.status_code == 200, standing.text
    assert standing.json()["knowledge"] == "recorded" and standing.json()["reasons"] == []


async def test_a_bad_document_is_a_problem_naming_record_and_field(api: Api) -> None:
    document = open_case_file(await api.env.get_current_time())
    before = await api.event_count()  # the published rulebook
    del document["cases"][0]["steps"][3]["command"]["investigator_id"]
    response = await api.http.post("/imports", json=document,
                                   headers=api.auth(OPERATOR, "operator"))
    assert response.status_code == 422
    problem = response.json()
    assert problem["record"] == "cases[0].steps[3]"
    assert problem["field"] == "command.investigator_id"
    assert await api.event_count() == before


async def test_only_an_operator_may_import(api: Api) -> None:
    document = open_case_file(await api.env.get_current_time())
    before = await api.event_count()
    response = await api.http.post("/imports", json=document,
                                   headers=api.auth("staff-officer", "case_officer"))
    assert response.status_code == 403
    assert await api.event_count() == before
