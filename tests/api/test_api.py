"""The HTTP API over real HTTP, with real tokens (given / when / then)."""

from __future__ import annotations

import json
from typing import Any

from dueprocess.api.openapi import CHECKED_IN, render
from dueprocess.services.policyfile import load_policy_file
from dueprocess.services.rulebook import RulebookService
from dueprocess.store.projections import ProjectionRunner, default_projections

from .conftest import MAX_BODY, Api

PROBLEM = "application/problem+json"
INTAKE = "intake-svc"
OFFICER = "officer-1"


def _problem(response: Any, status: int, rule: str | None = None) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    body: dict[str, Any] = response.json()
    assert body["status"] == status and body["title"] and body["detail"]
    assert "Traceback" not in response.text
    if rule is not None:
        assert body["rule"] == rule, body
    return body


async def _report(api: Api) -> dict[str, Any]:
    story = await api.story()
    report = await story.build_report()
    return report.model_dump(mode="json", exclude={"actor", "policy"})


async def _file(api: Api, key: str = "intake-1") -> tuple[str, dict[str, Any]]:
    body = await _report(api)
    response = await api.http.post("/cases", json=body, headers=api.auth(
        INTAKE, "intake", system=True) | {"Idempotency-Key": key})
    assert response.status_code == 201, response.text
    return response.json()["case_id"], body


async def _officer(api: Api, case_id: str, command: dict[str, Any]) -> Any:
    return await api.http.post(f"/cases/{case_id}/commands", json=command,
                               headers=api.auth(OFFICER, "case_officer"))


async def test_no_token_or_a_bad_one_is_401_with_a_challenge(api: Api) -> None:
    # given no token, a garbage one, and one for another audience
    for headers in ({}, {"Authorization": "Bearer not-a-jwt"},
                    {"Authorization": f"Bearer {api.token('x', 'auditor', aud='other')}"}):
        # when the case list is asked for
        response = await api.http.get("/cases", headers=headers)
        # then 401, a problem naming the verified-token rule, and a bearer challenge
        _problem(response, 401, "verified-token")
        assert response.headers["www-authenticate"].startswith("Bearer")


async def test_a_role_the_token_lacks_is_403(api: Api) -> None:
    # given a token holding the respondent role only
    headers = api.auth("m-1", "respondent", role="case_officer")
    # when it asks to act as case officer
    response = await api.http.get("/cases", headers=headers)
    # then 403, naming the rule
    _problem(response, 403, "role-from-token")


async def test_a_report_needs_a_role_that_may_file(api: Api) -> None:
    before = await api.event_count()
    response = await api.http.post("/cases", json=await _report(api), headers=api.auth(
        "m-1", "respondent") | {"Idempotency-Key": "k-1"})
    _problem(response, 403)
    assert await api.event_count() == before


async def test_a_body_naming_another_actor_is_refused(api: Api) -> None:
    # given a case and an officer's token
    case_id, _ = await _file(api)
    before = await api.event_count()
    # when the body claims another officer acted
    response = await _officer(api, case_id, {
        "type": "AcknowledgeReport", "authority": "rulebook s.3.2",
        "actor": {"id": "officer-2", "role": "case_officer"}})
    # then it is refused and nothing is recorded
    _problem(response, 403, "actor-from-token")
    assert await api.event_count() == before


async def test_a_case_driven_through_the_api(api: Api) -> None:
    # given a report filed by the intake service
    case_id, body = await _file(api, "intake-drive")
    # when the same key is sent again: the same case, nothing new
    again = await api.http.post("/cases", json=body, headers=api.auth(
        INTAKE, "intake", system=True) | {"Idempotency-Key": "intake-drive"})
    assert again.status_code == 201 and again.json()["case_id"] == case_id
    assert again.json()["events"] == []
    # and the officer acknowledges, triages and assigns an investigator
    for command in (
        {"type": "AcknowledgeReport", "authority": "rulebook s.3.2"},
        {"type": "TriageCase", "authority": "rulebook s.3.3", "outcome": "investigate",
         "reasons": "a case to answer"},
        {"type": "AssignInvestigator", "authority": "rulebook s.3.4",
         "investigator_id": "inv-1"},
    ):
        response = await _officer(api, case_id, command)
        assert response.status_code == 200, response.text
        assert response.json()["events"], command
    # then the state, deadlines and timeline read back, and each event names the actor and
    # how they were authenticated
    state = await api.http.get(f"/cases/{case_id}", headers=api.auth(OFFICER, "case_officer"))
    assert state.status_code == 200, state.text
    assert state.json()["state"]["investigator_id"] == "inv-1"
    assert state.json()["basis"] == "assigned"
    deadlines = await api.http.get(f"/cases/{case_id}/deadlines",
                                   headers=api.auth(OFFICER, "case_officer"))
    assert deadlines.status_code == 200
    timeline = await api.http.get(f"/cases/{case_id}/timeline",
                                  headers=api.auth(OFFICER, "case_officer"))
    case_events = [e for e in timeline.json() if e["stream"] == f"case-{case_id}"]
    assert [e["type"] for e in case_events][:4] == [
        "ReportFiled", "ReportAcknowledged", "CaseTriaged", "InvestigatorAssigned"]
    assert case_events[1]["actor"] == {"id": OFFICER, "role": "case_officer", "kind": "person"}
    recorded = await api.store.read_stream(f"case-{case_id}")
    assert recorded[1].principal is not None and recorded[1].principal.subject == OFFICER
    # and a business rejection is a 422 problem naming the rule and field
    wrong = await _officer(api, case_id, {"type": "RecordDecision", "authority": "x",
                                          "how_to_appeal": "write", "findings": [{
                                              "allegation_id": "A1", "upheld": False,
                                              "reasons": "none"}]})
    assert wrong.status_code in (403, 422), wrong.text
    # and the case list shows it (once the read model has caught up), paged by cursor
    await ProjectionRunner(api.pool, api.store,
                           default_projections(load_policy_file(None))).catch_up()
    listed = await api.http.get("/cases", params={"limit": 1},
                                headers=api.auth(OFFICER, "case_officer"))
    assert listed.status_code == 200, listed.text
    assert [c["case_id"] for c in listed.json()["items"]] == [case_id]
    assert listed.json()["next_cursor"] is None
    mine = await api.http.get("/cases", params={"mine": "true"},
                              headers=api.auth("inv-1", "investigator"))
    assert [c["case_id"] for c in mine.json()["items"]] == [case_id]
    others = await api.http.get("/cases", params={"mine": "true"},
                                headers=api.auth("inv-9", "investigator"))
    assert others.json()["items"] == []


async def test_an_unassigned_investigator_breaks_the_glass_on_the_record(api: Api) -> None:
    # given a case with inv-1 assigned
    case_id, _ = await _file(api, "intake-glass")
    for command in ({"type": "AcknowledgeReport", "authority": "s.3.2"},
                    {"type": "TriageCase", "authority": "s.3.3", "outcome": "investigate",
                     "reasons": "a case to answer"},
                    {"type": "AssignInvestigator", "authority": "s.3.4",
                     "investigator_id": "inv-1"}):
        assert (await _officer(api, case_id, command)).status_code == 200
    # when another investigator reads it without a purpose: refused, nothing recorded
    before = await api.event_count()
    refused = await api.http.get(f"/cases/{case_id}", headers=api.auth("inv-2", "investigator"))
    _problem(refused, 403, "break-glass-purpose")
    assert await api.event_count() == before
    # and with a break-glass purpose: allowed
    glass = await api.http.get(f"/cases/{case_id}", headers=api.auth(
        "inv-2", "investigator") | {"X-Break-Glass-Purpose": "cover while inv-1 is ill"})
    assert glass.status_code == 200 and glass.json()["basis"] == "break-glass"
    assigned = await api.http.get(f"/records/cases/{case_id}",
                                  headers=api.auth("inv-1", "investigator"))
    assert assigned.status_code == 200 and assigned.json()["events"]
    # then the access log says the basis of each read and flags the break-glass one
    log = await api.http.get(f"/audit/cases/{case_id}/access",
                             headers=api.auth("aud-1", "auditor"))
    assert log.status_code == 200, log.text
    entries = [(e["reader"]["id"], e["basis"], e["flagged"]) for e in log.json()]
    assert ("inv-2", "break-glass", True) in entries
    assert ("inv-1", "assigned", False) in entries
    assert ("inv-2", "cover while inv-1 is ill") in [
        (e["reader"]["id"], e["purpose"]) for e in log.json()]
    # and a party role cannot break the glass at all
    stranger = await api.http.get(f"/cases/{case_id}", headers=api.auth(
        "m-77", "respondent") | {"X-Break-Glass-Purpose": "curious"})
    _problem(stranger, 403, "read-authorised")
    # and that refused attempt is on the access log too, flagged
    log = await api.http.get(f"/audit/cases/{case_id}/access",
                             headers=api.auth("aud-1", "auditor"))
    assert [(e["basis"], e["flagged"], e["refused"], e["purpose"], e["evidence_ids"])
            for e in log.json() if e["reader"]["id"] == "m-77"] == [
        ("break-glass-refused", True, True, "curious", [])]


async def test_the_respondent_sees_their_filtered_view(api: Api) -> None:
    case_id, body = await _file(api, "intake-party")
    respondent = body["respondent"]["person_id"]
    response = await api.http.get(f"/cases/{case_id}", headers=api.auth(respondent,
                                                                          "respondent"))
    assert response.status_code == 200, response.text
    assert response.json()["basis"] == "party"
    assert response.json()["state"]["evidence"] == {}  # nothing disclosed yet


async def test_problems_for_unknown_cases_bad_json_and_oversized_bodies(api: Api) -> None:
    officer = api.auth(OFFICER, "case_officer")
    _problem(await api.http.get("/cases/no-such-case", headers=officer), 404, "case-exists")
    _problem(await api.http.get("/cases/no-such-case/timeline", headers=officer), 404,
             "case-exists")
    _problem(await api.http.get("/audit/cases/no-such-case/access",
                                headers=api.auth("aud-1", "auditor")), 404, "case-exists")
    bad_json = _problem(await api.http.post("/cases/no-such-case/commands",
                                            content=b"{not json", headers=officer),
                        422, "json-object")
    # typed as every other invalid input
    assert bad_json["error_type"] == "InvalidInput"
    assert bad_json["type"] == "urn:dueprocess:problem:InvalidInput"
    before = await api.event_count()
    huge = json.dumps({"type": "AcknowledgeReport", "authority": "x" * (MAX_BODY + 10)})
    _problem(await api.http.post("/cases/c/commands", content=huge.encode(),
                                 headers=officer), 413, "body-size-limit")
    invalid = await _officer(api, "c", {"type": "NoSuchCommand", "authority": "x"})
    body = _problem(invalid, 422)
    assert body["field"] and body["errors"]
    assert await api.event_count() == before


async def test_erasure_and_export_need_the_dpo_role(api: Api) -> None:
    _, body = await _file(api, "intake-dpo")
    respondent = body["respondent"]["person_id"]
    before = await api.event_count()
    _problem(await api.http.get(f"/records/subjects/{respondent}/export",
                                headers=api.auth("aud-1", "auditor")), 403, "role-permission")
    _problem(await api.http.post(f"/records/subjects/{respondent}/erase",
                                 params={"reason": "asked"},
                                 headers=api.auth("aud-1", "auditor")), 403)
    assert await api.event_count() == before
    export = await api.http.get(f"/records/subjects/{respondent}/export",
                                headers=api.auth("dpo-1", "dpo"))
    assert export.status_code == 200 and export.json()["events"]
    blocked = await api.http.post(f"/records/subjects/{respondent}/erase",
                                  params={"reason": "asked"}, headers=api.auth("dpo-1", "dpo"))
    _problem(blocked, 422, "erasure-blocked-by-open-case")


async def test_the_feed_pages_the_global_order_sealed_for_auditors(api: Api) -> None:
    await _file(api, "intake-feed")
    _problem(await api.http.get("/feed", headers=api.auth(OFFICER, "case_officer")), 403)
    sealed = await api.http.get("/feed", params={"limit": 1},
                                headers=api.auth("aud-1", "auditor"))
    assert sealed.status_code == 200, sealed.text
    first = sealed.json()
    assert len(first["events"]) == 1
    rest = await api.http.get("/feed", params={"after": first["next_cursor"]},
                              headers=api.auth("aud-1", "auditor"))
    positions = [e["position"] for e in first["events"] + rest.json()["events"]]
    assert len(positions) == len({json.dumps(p, sort_keys=True) for p in positions})
    report = next(e for e in first["events"] + rest.json()["events"]
                  if e["event_type"] == "ReportFiled")
    assert report["payload"]["respondent"]["name"]["value"] is None
    clear = await api.http.get("/feed", headers=api.auth("dpo-1", "dpo"))
    filed = next(e for e in clear.json()["events"] if e["event_type"] == "ReportFiled")
    assert filed["payload"]["respondent"]["name"]["value"]
    _problem(await api.http.get("/feed", params={"after": "nonsense"},
                                headers=api.auth("aud-1", "auditor")), 422, "valid-cursor")


async def test_the_rulebooks_deadlines_with_sources_and_escalations(api: Api) -> None:
    # Given the sample rulebook published
    await RulebookService(api.store).publish_sample_if_none()
    # When an auditor reads its deadlines
    found = await api.http.get("/rules/deadlines", headers=api.auth("aud-1", "auditor"))
    assert found.status_code == 200
    rows = {(r["version"], r["deadline"]): r for r in found.json()}
    # Then each period carries its sources, and a missed one its escalation
    triage = rows[("2023.1", "triage")]
    assert triage["period"] == "P14D" and triage["when_missed"]["to"] == "case_officer"
    assert any(s.startswith("ACAS Code para 4") for s in triage["sources"])
    art14 = rows[("2023.1", "data_collection_notice")]
    assert art14["when_missed"]["to"] == "data_protection_officer"
    assert art14["sources"][0].startswith("GDPR Art 14(3)(a)")
    assert "when_missed" not in rows[("2023.1", "appeal_window")]


async def test_rules_stats_and_the_openapi_document(api: Api) -> None:
    rules = await api.http.get("/rules", headers=api.auth("aud-1", "auditor"))
    assert rules.status_code == 200 and rules.json()[0]["id"]
    stats = await api.http.get("/stats", headers=api.auth("aud-1", "auditor"))
    assert stats.status_code == 200 and stats.json()["cases"] == 0
    served = (await api.http.get("/openapi.json")).json()
    assert render(served) == CHECKED_IN.read_text("utf-8"), (
        "api/openapi.json is stale: python -m dueprocess.api.openapi")
    docs = await api.http.get("/docs")
    assert docs.status_code == 200 and "swagger" in docs.text.lower()
