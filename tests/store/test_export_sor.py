"""`dueprocess export sor` against a real store: JSON lines, one per restrictive decision,
with no personal data; a bad territory is one line naming the field."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import uuid
from datetime import timedelta
from pathlib import Path

from dueprocess.domain.case import (
    CaseState,
    ImposeInterimSuspension,
    Sanction,
    decide,
    evolve,
)
from dueprocess.domain.envelope import envelope_for
from dueprocess.domain.policy import SanctionKind
from dueprocess.domain.transparency import FIELDS
from dueprocess.store.eventstore import EventStore
from fixtures import case_examples as ex


async def test_export_sor_writes_json_lines_without_personal_data(
    db_dsn: str, store: EventStore, tmp_path: Path
) -> None:
    # Given a case decided with a suspension, in the store
    sanction = Sanction(kind=SanctionKind.SUSPENSION, term=timedelta(days=30))
    state, envelopes = CaseState.empty("sor"), []
    for step in ex.happy_path(sanction)[:11]:  # up to and including the decision
        for event in decide(state, step.command, step.now):
            state = evolve(state, event)
            envelopes.append(envelope_for(event, event_id=uuid.uuid4(), recorded_at=step.now))
    await store.append("case-sor", 0, envelopes)
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("DUEPROCESS_")},
           "DUEPROCESS_DATABASE_URL": db_dsn, "DUEPROCESS_DATA_DIR": str(tmp_path)}

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "dueprocess", *args], env=env,
                              capture_output=True, text=True, timeout=120)

    # When the statements are exported
    out = await asyncio.to_thread(cli, "export", "sor", "--from", "2024-01-01",
                                  "--territory", "DE", "--territory", "FR")
    # Then one JSON line carries the statement's fields, and no name or contact
    assert out.returncode == 0, out.stderr
    [line] = out.stdout.splitlines()
    statement = json.loads(line)
    assert set(statement) == set(FIELDS) and statement["territorial_scope"] == ["DE", "FR"]
    assert not [p for p in ("Bob Respondent", "bob@example.org", "Ada Member", ex.RESPONDENT_ID)
                if p in line]
    # And a period with no decision exports nothing
    later = await asyncio.to_thread(cli, "export", "sor", "--from", "2030-01-01")
    assert later.returncode == 0 and later.stdout == ""
    # And --from with --to selects by the decision's day: a bare --to date counts all of it
    decided_on = ex.DECIDED_AT.date()
    on_the_day = await asyncio.to_thread(cli, "export", "sor", "--from", str(decided_on),
                                         "--to", str(decided_on))
    assert on_the_day.returncode == 0, on_the_day.stderr
    assert [json.loads(x)["puid"] for x in on_the_day.stdout.splitlines()] == \
        [statement["puid"]]
    before = await asyncio.to_thread(cli, "export", "sor", "--from", "2024-01-01",
                                     "--to", str(decided_on - timedelta(days=1)))
    assert before.returncode == 0 and before.stdout == ""
    # And an interim suspension imposed on another case is exported too, by the index
    interim, envelopes = CaseState.empty("sor-interim"), []
    steps = [(s.command, s.now) for s in ex.happy_path(sanction)[:3]]
    steps.append((ImposeInterimSuspension(actor=ex.actor("case_officer"),
                                          authority=ex.AUTHORITY, reasons="Threats."),
                  ex.T0 + timedelta(days=2)))
    for command, now in steps:
        for event in decide(interim, command, now):
            interim = evolve(interim, event)
            envelopes.append(envelope_for(event, event_id=uuid.uuid4(), recorded_at=now))
    await store.append("case-sor-interim", 0, envelopes)
    both = await asyncio.to_thread(cli, "export", "sor", "--from", "2024-03-01",
                                   "--to", str(decided_on))
    assert both.returncode == 0, both.stderr
    accounts = sorted(json.loads(x)["decision_facts"].split(";")[0]
                      for x in both.stdout.splitlines())
    assert len(accounts) == 2 and accounts[1].startswith("Interim suspension imposed")
    # And a territory outside the EEA is one line naming the field, exit 2
    bad = await asyncio.to_thread(cli, "export", "sor", "--territory", "US", "--json")
    assert bad.returncode == 2 and "--territory" in bad.stdout + bad.stderr
    assert "Traceback" not in bad.stderr
