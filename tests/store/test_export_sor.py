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

from dueprocess.domain.case import CaseState, Sanction, decide, evolve
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
    # And a territory outside the EEA is one line naming the field, exit 2
    bad = await asyncio.to_thread(cli, "export", "sor", "--territory", "US", "--json")
    assert bad.returncode == 2 and "--territory" in bad.stdout + bad.stderr
    assert "Traceback" not in bad.stderr
