"""Temporal payload encryption is on by default (DUEPROCESS_PAYLOAD_KEY)."""

from __future__ import annotations

import base64
import os
from pathlib import Path

import pytest
from dueprocess.services.codec import PAYLOAD_KEY_FILE, WAIVER
from dueprocess.settings import ConfigError, Settings


def test_the_embedded_stack_generates_one_private_key_that_client_and_worker_share(
    tmp_path: Path,
) -> None:
    settings = Settings.from_env({"DUEPROCESS_DATA_DIR": str(tmp_path / "data")})
    worker_key = settings.payload_key_bytes()
    client_key = Settings.from_env(
        {"DUEPROCESS_DATA_DIR": str(tmp_path / "data")}).payload_key_bytes()
    assert worker_key is not None and len(worker_key) == 32 and client_key == worker_key
    assert (tmp_path / "data" / PAYLOAD_KEY_FILE).stat().st_mode & 0o777 == 0o600


def test_an_explicit_temporal_address_requires_a_key_or_the_waiver(tmp_path: Path) -> None:
    env = {"DUEPROCESS_DATA_DIR": str(tmp_path), "DUEPROCESS_TEMPORAL_ADDRESS": "tmp:7233"}
    with pytest.raises(ConfigError, match=f"DUEPROCESS_PAYLOAD_KEY: required.*{WAIVER}"):
        Settings.from_env(env).payload_key_bytes()
    assert not (tmp_path / PAYLOAD_KEY_FILE).exists()  # never generated for a real server
    assert Settings.from_env(env | {"DUEPROCESS_PAYLOAD_KEY": WAIVER}).payload_key_bytes() \
        is None
    key = os.urandom(32)
    given = env | {"DUEPROCESS_PAYLOAD_KEY": base64.b64encode(key).decode()}
    assert Settings.from_env(given).payload_key_bytes() == key


def test_a_bad_key_names_the_waiver_and_hides_the_value() -> None:
    with pytest.raises(ConfigError) as caught:
        Settings.from_env({"DUEPROCESS_PAYLOAD_KEY": "c2hvcnQ="})
    assert WAIVER in str(caught.value) and "c2hvcnQ=" not in str(caught.value)
