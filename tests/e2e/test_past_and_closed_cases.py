"""Past and closed cases on a real `dueprocess dev` stack, through the installed CLI
(issue 15): the shipped sample import of a 2016 case is accepted under the published sample
rulebook (its pre-2019 version) and answers the seeds' question, could she vote on
22 August 2016?; and a closed case (an automated flag, dismissed) is corrected as an
automation error, its apology sent, the audit linking the report and its correction."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fixtures import closed_cases as cc
from fixtures.imports import CASE_ID, SAMPLE


def _env(data_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DUEPROCESS_")}
    return {**env, "DUEPROCESS_DATA_DIR": str(data_dir)}


def _cli(data_dir: Path, *args: str) -> tuple[int, Any]:
    done = subprocess.run([sys.executable, "-m", "dueprocess", *args, "--json"],
                          env=_env(data_dir), capture_output=True, text=True, timeout=240)
    assert "Traceback" not in done.stdout + done.stderr, done.stderr
    return done.returncode, json.loads(done.stdout)


@pytest.fixture
def dev(tmp_path: Path) -> Iterator[Path]:
    """A `dueprocess dev` (headless) on a data dir of its own, as a user starts it."""
    data_dir = tmp_path / "data"
    proc = subprocess.Popen([sys.executable, "-m", "dueprocess", "dev", "--headless",
                             "--api-port", "0"], env=_env(data_dir),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.time() + 180
        while not (data_dir / "dev.json").exists():
            if proc.poll() is not None or time.time() > deadline:
                proc.kill()
                raise AssertionError(f"dev did not come up: {proc.communicate()[1][-3000:]}")
            time.sleep(0.3)
        yield data_dir
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=60)
        assert proc.returncode == 0, err
    finally:
        if proc.poll() is None:
            proc.kill()


def test_past_and_closed_cases_on_the_default_stack(dev: Path) -> None:
    _the_2016_sample_imports_and_answers_the_seed_question(dev)
    _a_closed_automated_flag_is_corrected_with_an_apology(dev)


def _the_2016_sample_imports_and_answers_the_seed_question(data_dir: Path) -> None:
    # given the default stack, which published the shipped sample rulebook
    code, listed = _cli(data_dir, "policy", "list")
    assert code == 0 and listed["versions"][0]["version"] == "2009.1"
    # when the shipped 2016 sample is imported
    code, report = _cli(data_dir, "import", str(SAMPLE), "--import-id", "imp-dev")
    assert code == 0, report
    [case] = report["cases"]
    assert case["case_id"] == CASE_ID and case["closed"]
    # and its retention timer runs, as for a case closed here (2009.1 sets the periods)
    assert case["retained"] and case["retention_until"] and report["not_retained"] == []
    # then could she vote on 22 August 2016? As of that day, no: she was suspended
    _, as_of = _cli(data_dir, "audit", "member", "m-200", "--as-of", "2016-08-22")
    assert as_of["status"] == "suspended" and "vote" not in as_of["rights"]
    # as known on 30 July 2016 (as the source asserts), yes: the suspension was not known
    _, known = _cli(data_dir, "audit", "member", "m-200", "--as-of", "2016-08-22",
                    "--as-known-on", "2016-07-30")
    assert known["status"] == "member" and "vote" in known["rights"]
    assert known["knowledge"] == "asserted" and known["uses_imported"]
    # and the case was judged under the version in force in 2016
    _, audit = _cli(data_dir, "audit", "case", CASE_ID)
    filed = audit["timeline"][0]
    assert filed["event_type"] == "ReportFiled" and filed["imported"]["import_id"] == "imp-dev"


def _a_closed_automated_flag_is_corrected_with_an_apology(data_dir: Path) -> None:
    def send(case_id: str, command: Any, name: str) -> tuple[int, Any]:
        (data_dir / f"{name}.json").write_text(command.model_dump_json())
        return _cli(data_dir, "case", "send", case_id, "--file", str(data_dir / f"{name}.json"))

    # given an automated flag, dismissed by a person and closed
    flag = cc.automated_flag().model_dump(mode="json", exclude={"policy"})
    (data_dir / "flag.json").write_text(json.dumps(flag))
    code, filed = _cli(data_dir, "case", "file", "--key", "flag-1", "--file",
                       str(data_dir / "flag.json"))
    assert code == 0, filed
    case_id = filed["case_id"]
    for n, command in enumerate(cc.to_closure()):
        code, done = send(case_id, command, f"step-{n}")
        assert code == 0, done
    # when it is corrected as an automation error, with an apology
    code, corrected = send(case_id, cc.correction(), "correction")
    # then the correction is recorded on the closed case
    assert code == 0, corrected
    assert [e["type"] for e in corrected["events"]] == ["RecordCorrected"]
    # and a step of the procedure is refused, naming the rule and the field
    code, refused = send(case_id, cc.to_closure()[0], "late-step")
    assert code == 1 and (refused["rule"], refused["field"]) == ("case-closed", "type")
    # and the audit links the report to its correction, and the apology was sent
    _, audit = _cli(data_dir, "audit", "case", case_id)
    rows = {row["event_type"]: row for row in audit["timeline"]}
    assert any(f.startswith("corrected by") for f in rows["ReportFiled"]["flags"])
    assert any(f.startswith("corrects") for f in rows["RecordCorrected"]["flags"])
    deadline = time.time() + 60
    while not any(cc.APOLOGY in p.read_text() for p in (data_dir / "outbox").rglob("*")
                  if p.is_file()):
        assert time.time() < deadline, "the apology was not sent"
        time.sleep(0.5)
