"""The codec server for the Temporal UI (api/codec.py), over real HTTP with real tokens, on
a real workflow history whose payloads are sealed as in production (payload key and the
subjects' own keys): only a signed-in auditor, DPO or case officer reads them, and each
decode is put on the case's access log."""

from __future__ import annotations

import base64
import json
import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from dueprocess.api.codec import PURPOSE
from dueprocess.api.deps import ApiConfig
from dueprocess.devstack.issuer import LocalIssuer
from fixtures.sealed_temporal import history_payloads, sealed_environment
from google.protobuf import json_format
from temporalio.api.common.v1 import Payload, Payloads

from .conftest import MAX_BODY, Api, serving
from .test_api import _file

UI = "http://temporal-ui.example:8233"


@pytest.fixture
async def sealed_api(pool: asyncpg.Pool, tmp_path: Path, load_rulebook: Any,
                     load_reporter_record: Any, load_respondent_record: Any,
                     issuer: LocalIssuer, test_server_path: str) -> AsyncIterator[Api]:
    async with (sealed_environment(test_server_path, os.urandom(32), pool) as env,
                serving(env, env.client, pool, tmp_path,
                        [load_rulebook, load_reporter_record, load_respondent_record], issuer,
                        codec=env.client.data_converter.payload_codec,
                        config=ApiConfig(max_body_bytes=MAX_BODY, timeout_seconds=60,
                                         codec_origins=(UI,))) as api):
        yield api


async def _history_payloads(api: Api, case_id: str) -> dict[str, Any]:
    """Every payload of the case's history as Temporal stores it, as a codec request."""
    history = await api.env.client.get_workflow_handle(case_id).fetch_history()
    found = history_payloads(history)
    assert found
    return json_format.MessageToDict(Payloads(payloads=found))


def _clear_text(body: dict[str, Any]) -> str:
    return "\n".join(base64.b64decode(p.get("data", "")).decode("utf-8", "replace")
                     for p in body["payloads"])


async def test_only_staff_who_read_by_role_decode_and_each_decode_is_recorded(
    sealed_api: Api,
) -> None:
    api = sealed_api
    # Given a case filed through the API, its history sealed in Temporal
    case_id, report = await _file(api)
    name = report["respondent"]["name"]["value"]
    sealed = await _history_payloads(api, case_id)
    assert name not in _clear_text(sealed)
    # When nobody signs in, the codec refuses
    response = await api.http.post("/codec/decode", json=sealed)
    assert response.status_code == 401 and "Bearer" not in response.text
    # and a respondent (no reading role) is refused
    response = await api.http.post("/codec/decode", json=sealed,
                                   headers=api.auth("m-9", "respondent"))
    assert response.status_code == 403, response.text
    assert response.json()["rule"] == "role-permission"
    # and nothing was put on the record
    assert await _decodes_recorded(api, case_id) == []
    # When an auditor, then the data-protection officer, decode it (the UI sends no role)
    for who, role in (("aud-1", "auditor"), ("dpo-1", "dpo")):
        response = await api.http.post(
            "/codec/decode", json=sealed,
            headers=api.auth(who, role) | {"X-Namespace": "default", "Origin": UI})
        # then they read the respondent's name in clear, the UI's origin allowed
        assert response.status_code == 200, response.text
        assert name in _clear_text(response.json())
        assert response.headers["access-control-allow-origin"] == UI
        assert len(response.json()["payloads"]) == len(sealed["payloads"])
    # And each decode is on the case's access log, as a read by role
    assert await _decodes_recorded(api, case_id) == [("aud-1", "auditor"), ("dpo-1", "auditor")]


async def _decodes_recorded(api: Api, case_id: str) -> list[tuple[str, str]]:
    response = await api.http.get(f"/audit/cases/{case_id}/access",
                                  headers=api.auth("aud-1", "auditor"))
    assert response.status_code == 200, response.text
    return [(e["reader"]["id"], e["basis"]) for e in response.json()
            if e["purpose"] == PURPOSE]


async def test_encode_round_trips_and_cors_is_for_the_ui_and_the_codec_only(
    sealed_api: Api,
) -> None:
    api = sealed_api
    plain = json_format.MessageToDict(Payloads(payloads=[Payload(
        metadata={"encoding": b"json/plain"}, data=b'{"note": "hello"}')]))
    officer = api.auth("off-1", "case_officer")
    # When a case officer encodes a payload, it comes back sealed; decoding opens it again
    encoded = await api.http.post("/codec/encode", json=plain, headers=officer)
    assert encoded.status_code == 200, encoded.text
    assert "hello" not in _clear_text(encoded.json())
    decoded = await api.http.post("/codec/decode", json=encoded.json(), headers=officer)
    assert decoded.json() == plain
    # A sealed payload altered on its way does not decode: a problem, not a crash
    altered = json.loads(json.dumps(encoded.json()))
    sealed = bytearray(base64.b64decode(altered["payloads"][0]["data"]))
    sealed[-1] ^= 1
    altered["payloads"][0]["data"] = base64.b64encode(bytes(sealed)).decode()
    refused = await api.http.post("/codec/decode", json=altered, headers=officer)
    assert refused.status_code == 422 and refused.json()["rule"] == "codec-decodable"
    # A body that is no Payloads document is a problem naming the rule
    bad = await api.http.post("/codec/decode", content=b"[1]", headers=officer)
    assert bad.status_code == 422 and bad.json()["rule"] == "codec-payloads"
    # The UI's preflight is answered for the codec, not for another origin or route
    preflight = {"Origin": UI, "Access-Control-Request-Method": "POST",
                 "Access-Control-Request-Headers": "authorization,content-type,x-namespace"}
    ok = await api.http.options("/codec/decode", headers=preflight)
    assert ok.status_code == 200 and ok.headers["access-control-allow-origin"] == UI
    other = await api.http.options("/codec/decode",
                                   headers=preflight | {"Origin": "http://evil.example"})
    assert "access-control-allow-origin" not in other.headers
    cases = await api.http.get("/cases", headers=officer | {"Origin": UI})
    assert "access-control-allow-origin" not in cases.headers
