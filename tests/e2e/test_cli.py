"""The installed `dueprocess` command against the real embedded stack (dev server)."""

from __future__ import annotations

import base64
import json
import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import psutil

EXE = [sys.executable, "-m", "dueprocess"]


def _env(data_dir: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DUEPROCESS_")}
    return {**env, "DUEPROCESS_DATA_DIR": str(data_dir), **extra}


def _run(data_dir: Path, *args: str, **extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*EXE, *args], env=_env(data_dir, **extra), capture_output=True,
                          text=True, timeout=240)


def _servers_for(data_dir: Path) -> list[psutil.Process]:
    found = []
    for proc in psutil.process_iter(["cmdline"]):
        cmdline = " ".join(proc.info["cmdline"] or [])
        if str(data_dir) in cmdline and ("temporal" in cmdline or "postgres" in cmdline):
            found.append(proc)
    return found


def test_demo_runs_a_case_end_to_end_then_verifies(tmp_path: Path) -> None:
    demo = _run(tmp_path, "demo", "--json")
    assert demo.returncode == 0, demo.stderr
    doc = json.loads(demo.stdout)
    types = [e["type"] for e in doc["timeline"]]
    for expected in ("ReportFiled", "InterimSuspensionImposed", "EvidenceDisclosed",
                     "HearingHeld", "DecisionRecorded", "AppealDecided", "MemberReinstated",
                     "CaseClosed", "NotificationDispatched"):
        assert expected in types
    assert doc["case_id"] and doc["people"]["respondent"]
    assert not _servers_for(tmp_path), "demo left servers running"

    verify = _run(tmp_path, "verify", "--json")
    assert verify.returncode == 0, verify.stdout + verify.stderr
    report = json.loads(verify.stdout)
    # The demo ran through the API: its people's reads of the case are on the access log.
    access = _run(tmp_path, "audit", "access", doc["case_id"], "--json")
    reads = json.loads(access.stdout)
    assert reads and {e["basis"] for e in reads} <= {"assigned", "party"}
    # + MemberJoined, + the three versions of the sample rulebook the stack published
    assert report["ok"] and report["events"] == len(doc["timeline"]) + 1 + 3 + len(reads)

    audit = _run(tmp_path, "audit", "case", doc["case_id"], "--json")
    assert audit.returncode == 0, audit.stdout
    checks = {c["check_id"]: c["status"] for c in json.loads(audit.stdout)["checks"]}
    assert checks["disclosure-before-reliance"] == "pass"
    assert checks["reinstatement-after-successful-appeal"] == "pass"

    respondent = doc["people"]["respondent"]
    assert doc["respondent_standing"]["status"] == "member"
    member = _run(tmp_path, "audit", "member", respondent, "--json")
    assert member.returncode == 0, member.stderr
    standing = json.loads(member.stdout)
    assert standing["continuous_since"] == "2015-03-01"
    assert set(standing["rights"]) == {"vote", "stand_for_office", "attend"}

    _wrap_the_keys_of(tmp_path, respondent)


def _wrap_the_keys_of(data_dir: Path, person: str) -> None:
    """Keys the demo stored in clear are wrapped under a KEK; from then on the KEK is needed
    to read anyone's data, and its absence is a configuration error, not an erasure."""
    before = json.loads(_run(data_dir, "keys", "status", "--json").stdout)
    assert before["live_in_clear"] > 0 and before["current_kek"] is None
    kek = base64.b64encode(os.urandom(32)).decode()
    wrapped = _run(data_dir, "keys", "wrap", "--json", DUEPROCESS_KEY_ENCRYPTION_KEYS=kek)
    assert wrapped.returncode == 0, wrapped.stderr
    after = json.loads(wrapped.stdout)
    assert after["wrapped"] == before["live_in_clear"]
    assert (after["live_in_clear"], after["needing_wrap"]) == (0, 0)
    export = ("records", "export", person, "--as", "dpo:dpo-1", "--json")
    locked = _run(data_dir, *export)
    # With --json the one-line error is a JSON object on stdout.
    assert locked.returncode == 2 and "DUEPROCESS_KEY_ENCRYPTION_KEYS" in locked.stdout
    assert json.loads(locked.stdout)["exit_status"] == 2
    opened = _run(data_dir, *export, DUEPROCESS_KEY_ENCRYPTION_KEYS=kek)
    assert opened.returncode == 0, opened.stderr
    assert '"erased": false' in json.dumps(json.loads(opened.stdout))
    # A worker given the KEK stores the keys of the people it meets wrapped.
    again = _run(data_dir, "demo", "--json", DUEPROCESS_KEY_ENCRYPTION_KEYS=kek)
    assert again.returncode == 0, again.stderr
    now = json.loads(_run(data_dir, "keys", "status", "--json",
                          DUEPROCESS_KEY_ENCRYPTION_KEYS=kek).stdout)
    assert (now["live_in_clear"], now["needing_wrap"]) == (0, 0)
    assert sum(now["live_wrapped"].values()) > after["live_wrapped"][after["current_kek"]]


def test_dev_runs_in_foreground_and_stops_cleanly_on_ctrl_c(tmp_path: Path) -> None:
    proc = subprocess.Popen([*EXE, "dev", "--headless"], env=_env(tmp_path),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        lines = [proc.stdout.readline() for _ in range(5)]
        if "running" not in lines[0]:
            proc.kill()
            raise AssertionError(f"dev did not come up: {lines} {proc.communicate()[1][-3000:]}")
        assert any("temporal_address" in line for line in lines)
        deadline = time.time() + 30
        while not (tmp_path / "dev.json").exists() and time.time() < deadline:
            time.sleep(0.2)
        assert _servers_for(tmp_path)
        _drive_a_case_through_the_cli(tmp_path)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err
    assert "stopped cleanly" in out
    time.sleep(0.5)
    assert not _servers_for(tmp_path), "orphan server processes after Ctrl-C"
    assert not (tmp_path / "dev.json").exists()


def _drive_a_case_through_the_cli(data_dir: Path) -> None:
    """`case file|state|send` find the running dev stack through the data dir."""
    from dueprocess.devstack.demo import _people, _report
    from dueprocess.services.policyfile import load_policy_file

    report = _report(_people("cli"), datetime.now(UTC))
    doc = report.model_dump(mode="json", exclude={"policy"})
    # Given a report that brings its own (lenient) rulebook: it is refused, naming the field.
    own = {**doc, "policy": load_policy_file(None).model_dump(mode="json")}
    (data_dir / "own-rulebook.json").write_text(json.dumps(own))
    refused = _run(data_dir, "case", "file", "--key", "cli-own-rulebook", "--file",
                   str(data_dir / "own-rulebook.json"), "--json")
    assert refused.returncode == 1, refused.stdout + refused.stderr
    answer = json.loads(refused.stdout)
    assert answer["field"] == "policy" and answer["rule"] == "published-rulebook-only"
    # The embedded stack published the shipped sample, as the stack itself.
    listed = json.loads(_run(data_dir, "policy", "list", "--json").stdout)
    assert [v["version"] for v in listed["versions"]] == ["2009.1", "2019.1", "2023.1"]
    assert listed["versions"][0]["published_by"] == "policy_admin:dueprocess-embedded-stack"

    (data_dir / "report.json").write_text(json.dumps(doc))
    filed = _run(data_dir, "case", "file", "--key", "cli-intake-1", "--file",
                 str(data_dir / "report.json"), "--json")
    assert filed.returncode == 0, filed.stdout + filed.stderr
    case_id = json.loads(filed.stdout)["case_id"]

    state = _run(data_dir, "case", "state", case_id, "--json")
    assert json.loads(state.stdout)["stage"] == "reported"

    premature = {"type": "ScheduleHearing", "actor": {"id": "staff-amira",
                 "role": "case_officer"}, "authority": "rulebook s.6.2",
                 "at": "2030-01-01T10:00:00+00:00", "location": "room 2"}
    (data_dir / "hearing.json").write_text(json.dumps(premature))
    rejected = _run(data_dir, "case", "send", case_id, "--file",
                    str(data_dir / "hearing.json"), "--json")
    assert rejected.returncode == 1
    answer = json.loads(rejected.stdout)
    assert answer["rejected"] and answer["type"] in {"DueProcessViolation", "InvalidCommand"}
    assert answer["rule"]


def test_bad_configuration_is_named_and_exits_2(tmp_path: Path) -> None:
    result = _run(tmp_path, "verify", DUEPROCESS_TEMPORAL_ADDRESS="localhost",
                  DUEPROCESS_DATABASE_URL="mysql://x")
    assert result.returncode == 2
    assert "DUEPROCESS_TEMPORAL_ADDRESS: must be host:port" in result.stderr
    assert "DUEPROCESS_DATABASE_URL: must be a postgresql:// URL" in result.stderr


def test_missing_input_files_and_invalid_commands_are_usage_errors(tmp_path: Path) -> None:
    missing = _run(tmp_path, "member", "m-1", "--file", str(tmp_path / "nope.json"),
                   DUEPROCESS_DATABASE_URL="postgresql://nobody@127.0.0.1:1/x")
    assert missing.returncode == 2 and "nope.json: no such file" in missing.stderr
    (tmp_path / "bad.json").write_text('{"type": "RecordJoined"}')
    invalid = _run(tmp_path, "member", "m-1", "--file", str(tmp_path / "bad.json"),
                   DUEPROCESS_DATABASE_URL="postgresql://nobody@127.0.0.1:1/x")
    assert invalid.returncode == 2 and "membership_number" in invalid.stderr
