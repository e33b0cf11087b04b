from __future__ import annotations

import base64
import re
from pathlib import Path

import pytest
from dueprocess.settings import ConfigError, Settings
from dueprocess.store.crypto import kek_fingerprint


def test_defaults_mean_embedded_services() -> None:
    s = Settings.from_env({})
    assert s.database_url is None and s.temporal_address is None
    assert (s.temporal_namespace, s.task_queue) == ("default", "dueprocess")


def test_explicit_values_override_the_embedded_default(tmp_path: Path) -> None:
    s = Settings.from_env({
        "DUEPROCESS_DATABASE_URL": "postgresql://app@db.internal/dueprocess",
        "DUEPROCESS_TEMPORAL_ADDRESS": "temporal.internal:7233",
        "DUEPROCESS_TEMPORAL_NAMESPACE": "discipline",
        "DUEPROCESS_TASK_QUEUE": "cases",
        "DUEPROCESS_DATA_DIR": str(tmp_path),
    })
    assert s.database_url == "postgresql://app@db.internal/dueprocess"
    assert s.temporal_address == "temporal.internal:7233"
    assert s.data_dir == tmp_path


@pytest.mark.parametrize(("name", "value", "rule"), [
    ("DUEPROCESS_DATABASE_URL", "mysql://x", "must be a postgresql:// URL"),
    ("DUEPROCESS_TEMPORAL_ADDRESS", "temporal", "must be host:port"),
    ("DUEPROCESS_TEMPORAL_ADDRESS", "temporal:99999", "must be host:port"),
    ("DUEPROCESS_TEMPORAL_NAMESPACE", "bad name!", "letters, digits"),
    ("DUEPROCESS_TASK_QUEUE", "a b", "letters, digits"),
    ("DUEPROCESS_SMTP_URL", "mail.example.org", "smtp://"),
    ("DUEPROCESS_STAFF_MAILBOXES", "the_board=board@example.org", "ROLE=address"),
    ("DUEPROCESS_STAFF_MAILBOXES", "case_officer=nobody", "ROLE=address"),
    ("DUEPROCESS_NOTICE_RELAY", "elsewhere", "'worker' or 'separate'"),
])
def test_each_bad_variable_is_named_with_its_rule(name: str, value: str, rule: str) -> None:
    with pytest.raises(ConfigError) as caught:
        Settings.from_env({name: value})
    assert f"{name}: " in str(caught.value) and rule in str(caught.value)
    assert repr(value) in str(caught.value)


def test_data_dir_must_not_be_a_file(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(ConfigError, match="DUEPROCESS_DATA_DIR: must be a directory"):
        Settings.from_env({"DUEPROCESS_DATA_DIR": str(blocker)})


def test_blank_values_count_as_unset() -> None:
    assert Settings.from_env({"DUEPROCESS_DATABASE_URL": "  "}).database_url is None


def test_passwords_in_bad_urls_are_not_echoed() -> None:
    with pytest.raises(ConfigError) as caught:
        Settings.from_env({"DUEPROCESS_DATABASE_URL": "postgres//app:S3cretPw@db/x",
                           "DUEPROCESS_SMTP_URL": "mail://u:Hunter2@mail"})
    assert "S3cretPw" not in str(caught.value) and "Hunter2" not in str(caught.value)
    assert "app:***@" in str(caught.value)


def test_key_encryption_keys_are_checked_one_by_one_and_never_echoed() -> None:
    good = base64.b64encode(bytes(range(32))).decode()
    for value, rule in ((f"{good},bm90MzI=", "key 2: must decode to 32 bytes"),
                        ("Zm9v!", "key 1: must be base64"),
                        (f"{good}, {good}", "the same key is listed twice")):
        with pytest.raises(ConfigError) as caught:
            Settings.from_env({"DUEPROCESS_KEY_ENCRYPTION_KEYS": value})
        assert f"DUEPROCESS_KEY_ENCRYPTION_KEYS: {rule}" in str(caught.value)
        assert good not in str(caught.value) and "<hidden>" in str(caught.value)
    other = base64.b64encode(bytes(range(1, 33))).decode()
    rotated = Settings.from_env({"DUEPROCESS_KEY_ENCRYPTION_KEYS": f" {good} ,{other}"})
    assert rotated.key_wrap().current == kek_fingerprint(base64.b64decode(good)).hex()
    assert good not in repr(rotated) and other not in repr(rotated)
    assert Settings.from_env({}).key_wrap().current is None
    # Rolling a KEK out: every process unwraps with it before any wraps with it.
    rolling = Settings.from_env({"DUEPROCESS_KEY_ENCRYPTION_KEYS": f"clear,{good}"})
    assert rolling.key_wrap().current is None
    for value, rule in (("clear", "must be followed by the key(s)"),
                        (f"{good},clear", "key 2: 'clear' may only come first")):
        with pytest.raises(ConfigError, match=re.escape(rule)):
            Settings.from_env({"DUEPROCESS_KEY_ENCRYPTION_KEYS": value})


def test_identity_settings() -> None:
    # given the OIDC and API variables
    s = Settings.from_env({
        "DUEPROCESS_OIDC_ISSUER": "https://login.example.org/realms/hr",
        "DUEPROCESS_OIDC_ROLE_CLAIM": "realm_access.roles",
        "DUEPROCESS_OIDC_ROLE_MAP": "hr-officers=case_officer,privacy=dpo",
        "DUEPROCESS_API_URL": "http://127.0.0.1:8000",
        "DUEPROCESS_TOKEN": "eyJ.secret.token",
    })
    # then they are read, the map parsed, and the token never shown
    assert s.oidc_audience == "dueprocess" and s.oidc_role_claim == "realm_access.roles"
    assert s.role_map() == {"hr-officers": "case_officer", "privacy": "dpo"}
    assert "secret" not in repr(s)


def test_bad_identity_settings_name_the_variable() -> None:
    with pytest.raises(ConfigError) as caught:
        Settings.from_env({"DUEPROCESS_OIDC_ISSUER": "http://idp.example.org",
                           "DUEPROCESS_OIDC_ROLE_MAP": "admins=pope",
                           "DUEPROCESS_TOKEN": "eyJ.secret.token"})
    text = str(caught.value)
    assert "DUEPROCESS_OIDC_ISSUER: must be an https:// URL" in text
    assert "DUEPROCESS_OIDC_ROLE_MAP: unknown dueprocess role(s) pope" in text
    assert "secret" not in text


def test_api_limits_from_the_environment() -> None:
    # given the API's body size limit and request timeout
    s = Settings.from_env({"DUEPROCESS_API_MAX_BODY_BYTES": "2048",
                           "DUEPROCESS_API_TIMEOUT_SECONDS": "2.5"})
    # then they are read; by default 1 MiB and 30 s
    assert (s.api_max_body_bytes, s.api_timeout_seconds) == (2048, 2.5)
    assert (Settings().api_max_body_bytes, Settings().api_timeout_seconds) == (1048576, 30.0)
    # and a bad one is named
    with pytest.raises(ConfigError) as caught:
        Settings.from_env({"DUEPROCESS_API_MAX_BODY_BYTES": "0"})
    assert "DUEPROCESS_API_MAX_BODY_BYTES" in str(caught.value)


def test_the_case_cache_is_sized_from_the_per_case_budget_and_configurable() -> None:
    # Given no setting, the cache holds a 512 MiB budget's worth of cached cases at the
    # ~200 KiB each that bench/memory.py measured (the worker stays under 1 GiB).
    assert Settings.from_env({}).max_cached_workflows == (512 << 20) // (200 * 1024) == 2621
    assert Settings.from_env({"DUEPROCESS_MAX_CACHED_WORKFLOWS": "500"}).max_cached_workflows \
        == 500
    with pytest.raises(ConfigError, match="DUEPROCESS_MAX_CACHED_WORKFLOWS"):
        Settings.from_env({"DUEPROCESS_MAX_CACHED_WORKFLOWS": "-1"})


def test_console_settings_from_the_environment() -> None:
    # given the console's client, session secret and session lifetime
    secret = "s3cret-" + "x" * 32
    s = Settings.from_env({"DUEPROCESS_CONSOLE_CLIENT_ID": "hr-console",
                           "DUEPROCESS_CONSOLE_SESSION_SECRET": secret,
                           "DUEPROCESS_CONSOLE_SESSION_HOURS": "2.5"})
    # then they are read, and the secret is never shown; by default no secret, 8 hours
    assert (s.console_client_id, s.console_session_secret) == ("hr-console", secret)
    assert s.console_session_hours == 2.5 and "s3cret" not in repr(s)
    assert Settings().console_session_secret is None
    assert (Settings().console_client_id, Settings().console_session_hours) == (
        "dueprocess-console", 8.0)
    # and bad ones are named, the short secret without its value
    with pytest.raises(ConfigError) as caught:
        Settings.from_env({"DUEPROCESS_CONSOLE_SESSION_SECRET": "s3cret-short",
                           "DUEPROCESS_CONSOLE_SESSION_HOURS": "48",
                           "DUEPROCESS_CONSOLE_CLIENT_ID": "has space"})
    text = str(caught.value)
    assert "DUEPROCESS_CONSOLE_SESSION_SECRET: String should have at least 32" in text
    assert "DUEPROCESS_CONSOLE_SESSION_HOURS" in text and "DUEPROCESS_CONSOLE_CLIENT_ID" in text
    assert "s3cret" not in text
