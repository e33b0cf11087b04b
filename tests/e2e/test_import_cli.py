"""`dueprocess import` and the seed questions through the CLI, on a real PostgreSQL."""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path
from typing import Any

import asyncpg
import pytest
import yaml
from dueprocess.cli.main import main
from dueprocess.domain.base import Actor
from dueprocess.domain.rulebook import POLICY_ADMIN_ROLE
from dueprocess.services.rulebook import RulebookService
from dueprocess.store.eventstore import EventStore
from fixtures.imports import CASE_ID, SAMPLE, legacy_policy, sample_document, steps


@pytest.fixture
async def cli(db_dsn: str, store: EventStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
              capsys: pytest.CaptureFixture[str]) -> Any:
    await RulebookService(store).publish(legacy_policy(), Actor(id="admin-1",
                                                                role=POLICY_ADMIN_ROLE), "c")
    for name in list(os.environ):
        if name.startswith("DUEPROCESS_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("DUEPROCESS_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("DUEPROCESS_DATABASE_URL", db_dsn)
    policy = tmp_path / "legacy.json"
    policy.write_text(legacy_policy().model_dump_json())

    async def run(*argv: str) -> tuple[int, Any]:
        argv = (*argv, "--json")
        if argv[0] == "audit":
            argv = (*argv, "--policy", str(policy))
        code = await asyncio.to_thread(main, list(argv))  # main runs its own event loop
        out, err = capsys.readouterr()
        assert "Traceback" not in out + err and not err
        return code, json.loads(out)

    return run


async def streams(pool: asyncpg.Pool) -> int:
    count: int = await pool.fetchval("SELECT count(*) FROM streams WHERE stream_id <> 'rulebook'")
    return count


async def test_a_bad_file_gets_one_json_line_naming_record_and_field(
        cli: Any, tmp_path: Path, pool: asyncpg.Pool) -> None:
    document = sample_document()
    steps(document)[4]["command"]["effective_at"] = "not a time"
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump(document))
    code, answer = await cli("import", str(bad))
    # a file not in the format is bad input: exit 2, no business rejection
    assert code == 2 and "rejected" not in answer and answer["type"] == "ImportRejected"
    assert answer["rule"] == "import-file-shape"
    assert answer["record"] == "cases[0].steps[4]"
    assert answer["field"] == "command.effective_at"
    assert "nothing was imported" in answer["error"]
    # a history that cannot be taken as it is, refused: exit 1
    document = sample_document()
    steps(document).pop(0)
    bad.write_text(yaml.safe_dump(document))
    code, answer = await cli("import", str(bad))
    assert code == 1 and answer["rejected"] and answer["rule"] == "import-case-starts-with-report"
    assert await streams(pool) == 0


async def test_import_then_ask_could_she_vote_on_22_august_2016(cli: Any) -> None:
    code, answer = await cli("import", str(SAMPLE), "--import-id", "imp-cli")
    assert code == 0 and answer["import_id"] == "imp-cli" and answer["cases"][0]["closed"]
    assert answer["importer"]["role"] == "operator"

    code, now_known = await cli("audit", "member", "m-200", "--as-of", "2016-08-22")
    assert now_known["status"] == "suspended" and "vote" not in now_known["rights"]
    code, before = await cli("audit", "member", "m-200", "--as-of", "2016-08-22",
                             "--as-known-on", "2016-07-30")
    assert before["status"] == "member" and "vote" in before["rights"]
    assert before["knowledge"] == "asserted" and before["uses_imported"]
    code, recorded = await cli("audit", "member", "m-200", "--as-of", "2016-08-22",
                               "--as-known-on", "2016-08-22", "--known-by", "recorded")
    assert recorded["knowledge"] == "recorded" and recorded["reasons"] == []

    code, audit = await cli("audit", "case", CASE_ID)
    assert all(row["imported"]["import_id"] == "imp-cli" for row in audit["timeline"])
    assert code == 1  # the acknowledgement was late in 2016: judged by the same rules


async def test_a_dry_run_judges_the_whole_file_and_writes_nothing(
        cli: Any, pool: asyncpg.Pool) -> None:
    code, answer = await cli("import", str(SAMPLE), "--dry-run")
    assert code == 0 and answer["events"] > 10 and answer["cases"][0]["closed"]
    assert not answer["cases"][0]["resumed"]
    assert await streams(pool) == 0


async def test_a_flawed_past_hearing_is_imported_and_the_audit_fails_it_there(
        cli: Any, tmp_path: Path) -> None:
    # given the register's hearing set on a day's notice
    document = sample_document()
    steps(document)[8]["command"]["at"] = "2016-06-14T09:00:00+00:00"
    flawed = tmp_path / "flawed.yaml"
    flawed.write_text(yaml.safe_dump(document))
    # when it is imported, the report lists the step with the rule it breaks
    code, answer = await cli("import", str(flawed), "--import-id", "imp-flawed")
    assert code == 0 and answer["cases"][0]["closed"]
    [finding] = [f for f in answer["cases"][0]["findings"]
                 if f["rule"] == "minimum-hearing-notice"]
    assert finding["record"] == "cases[0].steps[8]" and finding["field"]
    # then `audit case` fails that rule at that event, labelled imported
    code, audit = await cli("audit", "case", CASE_ID)
    check = next(c for c in audit["checks"] if c["check_id"] == "minimum-hearing-notice")
    assert code == 1 and check["status"] == "fail"
    assert [r["stream_version"] for r in check["offending"]] == [finding["stream_version"]]
    row = next(t for t in audit["timeline"]
               if t["stream_version"] == finding["stream_version"])
    assert row["imported"]["import_id"] == "imp-flawed"
    assert row["imported"]["importer"]["role"] == "operator"


async def test_a_policy_refused_at_publication_is_one_line_like_every_refusal(
        cli: Any, tmp_path: Path) -> None:
    # Given a rulebook whose next version gives a respondent one day to respond
    document = legacy_policy().model_dump(mode="json")
    last = document["versions"][-1]
    version = {**last, "version": "2026.9", "effective_from": "2026-09-01",
               "effective_to": None}
    version["deadlines"] = {**version["deadlines"], "respond": "P1D"}
    last["effective_to"] = "2026-08-31"
    document["versions"] = [*document["versions"], version]
    path = tmp_path / "policy.json"
    path.write_text(json.dumps(document))
    # When it is published; then it is refused on the one error path: exit 1, rule named
    code, answer = await cli("policy", "publish", str(path), "--authority", "board 2026")
    assert code == 1 and answer["rejected"] and answer["exit_status"] == 1, answer
    assert answer["rule"] and answer["type"], answer
