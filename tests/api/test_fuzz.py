"""Schema-driven fuzzing of every endpoint (schemathesis) against the live API: no 5xx,
no stack trace, and nothing recorded by a request the API rejected."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import schemathesis
from dueprocess.api.openapi import CHECKED_IN
from hypothesis import HealthCheck, Phase, given, settings

from .conftest import Api

EXAMPLES = 15  # per endpoint: bounded, so the whole run stays well under a minute
# A token per area, each holding one role, so requests act without naming a role.
ROLE_FOR = (("/records/subjects", "dpo"), ("/audit", "auditor"), ("/feed", "auditor"),
            ("/members", "intake"), ("/cases", "case_officer"), ("/", "auditor"))


def _check(api: Api, loop: asyncio.AbstractEventLoop, operation: Any,
           problems: list[str]) -> None:
    role = next(r for prefix, r in ROLE_FOR if operation.path.startswith(prefix))
    token = api.token(f"fuzz-{role}", role, system=role == "intake")

    @settings(max_examples=EXAMPLES, deadline=None, database=None,
              phases=[Phase.explicit, Phase.generate],
              suppress_health_check=list(HealthCheck))
    @given(case=operation.as_strategy())
    def check(case: Any) -> None:
        before = asyncio.run_coroutine_threadsafe(api.event_count(), loop).result()
        response = case.call(base_url=api.url, headers={"Authorization": f"Bearer {token}"},
                             timeout=60)
        label = f"{operation.method.upper()} {operation.path} -> {response.status_code}"
        if response.status_code >= 500 or "Traceback" in response.text:
            problems.append(f"{label}: {response.text[:300]}")
        if response.status_code >= 400:
            after = asyncio.run_coroutine_threadsafe(api.event_count(), loop).result()
            if after != before:
                problems.append(f"{label}: a rejected request recorded {after - before} event(s)")

    check()


async def test_no_endpoint_fails_or_records_when_it_rejects(api: Api) -> None:
    schema = schemathesis.openapi.from_dict(json.loads(CHECKED_IN.read_text("utf-8")))
    # The checked-in document parses whole: an operation that did not would raise here.
    operations = [result.ok() for result in schema.get_all_operations()]  # type: ignore[union-attr]
    loop = asyncio.get_running_loop()
    problems: list[str] = []

    def run() -> None:
        for operation in operations:
            _check(api, loop, operation, problems)

    await asyncio.to_thread(run)
    assert not problems, "\n".join(problems[:20])
