"""Every CLI failure is one line with the README's exit status, never a traceback.

Run in-process through ``main`` (fast enough to fuzz), with services configured at a port
where nothing listens: bad input must be exit 2 before any service is tried, good input
exit 3 when the service is not there.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from dueprocess.cli.connect import with_running_stack
from dueprocess.cli.errors import classify
from dueprocess.cli.main import main
from dueprocess.devstack.announce import DEV_FILE, announced, running_stack
from dueprocess.domain.base import InvalidCommand
from dueprocess.services.client_errors import CommandRejected
from dueprocess.settings import Settings
from fixtures.case_examples import file_report
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

NOWHERE = {"DUEPROCESS_TEMPORAL_ADDRESS": "127.0.0.1:1",
           "DUEPROCESS_DATABASE_URL": "postgresql://nobody@127.0.0.1:1/none",
           # an explicit Temporal address needs the payload key (any valid one will do here)
           "DUEPROCESS_PAYLOAD_KEY": base64.b64encode(bytes(32)).decode()}
# A report as a caller sends it: the rulebook is the published one, never the caller's.
REPORT: dict[str, Any] = file_report().model_dump(mode="json", exclude={"policy"})


@pytest.fixture
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> Any:
    for name in list(os.environ):
        if name.startswith("DUEPROCESS_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("DUEPROCESS_DATA_DIR", str(tmp_path / "data"))
    for name, value in NOWHERE.items():
        monkeypatch.setenv(name, value)

    def run(*argv: str, document: Any = None) -> tuple[int, str, str]:
        if document is not None:
            path = tmp_path / "input.json"
            path.write_text(document if isinstance(document, str) else json.dumps(document),
                            "utf-8", errors="surrogatepass")
            argv = (*argv, "--file", str(path))
        code = main(list(argv))
        out, err = capsys.readouterr()
        return code, out, err

    return run


def one_line(code: int, out: str, err: str, *, as_json: bool = False) -> dict[str, Any]:
    assert "Traceback" not in out + err
    if as_json:
        assert out.count("\n") == 1 and not err, (out, err)
        doc: dict[str, Any] = json.loads(out)
        assert doc["exit_status"] == code and doc["error"]
        return doc
    assert not out and err.count("\n") == 1 and err.startswith("dueprocess: "), (out, err)
    return {}


def test_case_file_without_a_key_is_a_usage_error(cli: Any) -> None:
    code, out, err = cli("case", "file", document=REPORT)
    assert code == 2
    one_line(code, out, err)
    assert "--key" in err


def test_a_json_array_as_a_report_is_named(cli: Any) -> None:
    code, out, err = cli("case", "file", "--key", "k1", "--json", document=[REPORT])
    assert code == 2
    assert one_line(code, out, err, as_json=True)["rule"] == "json-object"


def test_a_lone_surrogate_is_refused_naming_the_field(cli: Any) -> None:
    text = json.dumps(REPORT).replace('"Ada Member"', '"Ada \\ud800"')
    code, out, err = cli("case", "file", "--key", "k1", "--json", document=text)
    assert code == 2
    doc = one_line(code, out, err, as_json=True)
    assert doc["field"] == "complainant.name.value" and doc["rule"] == "text_surrogate"


def test_a_nul_in_a_person_id_is_refused_before_anything_is_sent(cli: Any) -> None:
    doc = json.loads(json.dumps(REPORT))
    doc["respondent"]["person_id"] = "m-\x00200"
    code, out, err = cli("case", "file", "--key", "k1", document=doc)
    assert code == 2 and "respondent.person_id" in err
    one_line(code, out, err)


def test_a_command_without_its_type_is_invalid_input(cli: Any) -> None:
    code, out, err = cli("case", "send", "c1", "--json", document={"actor": {"id": "a"}})
    assert code == 2
    one_line(code, out, err, as_json=True)


def test_state_without_a_case_id_and_an_unknown_action_are_usage_errors(cli: Any) -> None:
    for argv in (("case", "state"), ("case", "bogus"), ("nonsense",), ()):
        code, out, err = cli(*argv)
        assert code == 2, argv
        one_line(code, out, err)


def test_a_valid_report_with_temporal_unreachable_exits_3(cli: Any) -> None:
    code, out, err = cli("case", "file", "--key", "k1", "--json", document=REPORT)
    assert code == 3
    assert one_line(code, out, err, as_json=True)["type"] == "ServiceUnavailable"


def test_a_10mb_membership_number_is_refused(cli: Any) -> None:
    command = {"type": "RecordJoined", "actor": {"id": "a", "role": "membership_admin"},
               "authority": "bylaws", "membership_number": "9" * 10_000_000,
               "joined_on": "2020-01-01"}
    code, out, err = cli("member", "m-1", document=command)
    assert code == 2 and "membership_number" in err
    one_line(code, out, err)


def test_a_closed_pipe_ends_the_command_quietly(tmp_path: Path) -> None:
    """`dueprocess ... | head`: was reported as a database error, or a traceback."""
    read, write = os.pipe()
    os.close(read)
    env = {k: v for k, v in os.environ.items() if not k.startswith("DUEPROCESS_")}
    done = subprocess.run([sys.executable, "-m", "dueprocess", "case", "state", "--json"],
                          stdout=write,
                          stderr=subprocess.PIPE, text=True, timeout=120,
                          env={**env, "DUEPROCESS_DATA_DIR": str(tmp_path)})
    os.close(write)
    assert done.returncode == 141 and done.stderr == ""


def test_a_second_dev_on_the_same_data_dir_is_refused(cli: Any, tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    for name in NOWHERE:
        monkeypatch.delenv(name)
    data = tmp_path / "data"
    with announced(data, {"temporal_address": "127.0.0.1:7233",
                          "database_url": "postgresql://x@127.0.0.1:5/d"}):
        assert (data / DEV_FILE).stat().st_mode & 0o077 == 0
        code, out, err = cli("dev", "--headless")
        assert code == 2 and "already running" in err
        one_line(code, out, err)
        # demo (and every client command) uses the running stack instead
        reused = with_running_stack(Settings(data_dir=data))
        assert reused.temporal_address == "127.0.0.1:7233"
        assert reused.database_url == "postgresql://x@127.0.0.1:5/d"
    assert not (data / DEV_FILE).exists()


def test_an_unknown_stage_is_a_usage_error_naming_the_option(cli: Any) -> None:
    # When the case list is asked for a stage no case can be at
    code, out, err = cli("cases", "--stage", "bogus", "--json")
    # Then exit 2 before any service is tried, naming the option (not "no cases")
    line = one_line(code, out, err, as_json=True)
    assert code == 2 and line["field"] == "--stage" and "invalid choice" in line["error"]


@pytest.mark.parametrize(("err", "status"), [
    (InvalidCommand("no case 'x'", rule="case-exists", field="case_id"), 2),
    (CommandRejected("InvalidInput", "stage: not a stage", {"rule": "enum",
                                                           "field": "query.stage"}), 2),
    (CommandRejected("DueProcessViolation", "no notice yet", {"rule": "notice"}), 1),
])
def test_an_unknown_case_and_invalid_input_are_exit_2_whichever_way_they_were_found(
        err: Exception, status: int) -> None:
    # Given a refusal found in this process or answered by the API
    failure = classify(err, Settings(api_url="http://127.0.0.1:1"))
    # Then the exit status is the README's: 2 for bad input or an unknown case, 1 a rejection
    assert failure.code == status
    assert ("rejected" in failure.extra) == (status == 1)


def test_a_worker_on_a_running_devs_data_dir_joins_that_stack(
        cli: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a running dev stack's announcement (its services gone here: nothing listens)
    for name in ("DUEPROCESS_TEMPORAL_ADDRESS", "DUEPROCESS_DATABASE_URL",
                 "DUEPROCESS_PAYLOAD_KEY"):
        monkeypatch.delenv(name)
    data = tmp_path / "data"
    with announced(data, {"temporal_address": "127.0.0.1:1",
                          "database_url": NOWHERE["DUEPROCESS_DATABASE_URL"]}):
        # When a worker starts on the same data dir with no addresses of its own
        code, out, err = cli("worker", "--json")
        # Then it goes to the announced services (unreachable: exit 3), never starting a
        # second embedded server on the stack's files, and the announcement stays
        line = one_line(code, out, err, as_json=True)
        assert code == 3 and "('127.0.0.1', 1)" in line["error"], line
        assert not (data / "postgres").exists()
        assert running_stack(data)["temporal_address"] == "127.0.0.1:1"


# -- fuzzing --------------------------------------------------------------------------------

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner,
                                                                max_size=4),
    max_leaves=12)
NASTY = st.one_of(st.text(), st.just("\x00"), st.just("\ud800"), st.just("a\r\nb"),
                  st.text(min_size=201, max_size=300), st.integers(), st.none(),
                  st.lists(st.text(max_size=3), max_size=2), st.just("9999-12-31"),
                  st.just("1800-01-01T00:00:00Z"))


def _paths(doc: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix] if prefix else []
    if isinstance(doc, dict):
        for key, value in doc.items():
            found += _paths(value, (*prefix, key))
    elif isinstance(doc, list):
        for index, value in enumerate(doc):
            found += _paths(value, (*prefix, index))
    return found


REPORT_PATHS = [p for p in _paths({k: v for k, v in REPORT.items() if k != "policy"})]


def _mutated(path: tuple[Any, ...], value: Any) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(json.dumps(REPORT))
    target: Any = doc
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return doc


FUZZ = settings(max_examples=120, deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.function_scoped_fixture,
                                       HealthCheck.too_slow])


@FUZZ
@given(document=JSON, command=st.sampled_from([("case", "file", "--key", "k"),
                                               ("case", "send", "c1"), ("member", "m-1")]),
       as_json=st.booleans())
def test_fuzz_any_json_document_gives_one_line_and_an_exit_status(
    cli: Any, document: Any, command: tuple[str, ...], as_json: bool
) -> None:
    argv = (*command, "--json") if as_json else command
    code, out, err = cli(*argv, document=document)
    assert code in (1, 2, 3)
    one_line(code, out, err, as_json=as_json)


@FUZZ
@given(path=st.sampled_from(REPORT_PATHS), value=NASTY)
def test_fuzz_a_report_with_one_field_changed_is_refused_or_tried(
    cli: Any, path: tuple[Any, ...], value: Any
) -> None:
    code, out, err = cli("case", "file", "--key", "k", "--json",
                         document=json.dumps(_mutated(path, value)))
    assert code in (2, 3)  # refused as input, or valid and Temporal not there
    one_line(code, out, err, as_json=True)


def test_the_api_is_not_served_on_the_probes_port(
    cli: Any, monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("DUEPROCESS_HEALTH_ADDRESS", "127.0.0.1:8080")
    code, out, err = cli("api", "--json")  # the API's default port is 8080 too
    assert code == 2
    assert one_line(code, out, err, as_json=True)["field"] == "--port"


def test_the_api_refuses_to_start_without_the_console_session_secret(
    cli: Any, monkeypatch: pytest.MonkeyPatch,
) -> None:
    # given an explicit issuer and Temporal address, and no console session secret
    monkeypatch.setenv("DUEPROCESS_OIDC_ISSUER", "https://login.example.org/realms/x")
    # when the API is started
    code, out, err = cli("api", "--port", "8181", "--json")
    # then it refuses, in one line naming the setting
    assert code == 2
    doc = one_line(code, out, err, as_json=True)
    assert doc["error"].startswith("DUEPROCESS_CONSOLE_SESSION_SECRET: not set")
