"""Configuration from the environment, validated once at start-up.

Only worker.py and the CLI call ``Settings.from_env``; everything else is handed values.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from .services.codec import parse_key
from .store.crypto import KeyWrap

PREFIX = "DUEPROCESS_"
_FIELDS = {
    "database_url": "DATABASE_URL",
    "temporal_address": "TEMPORAL_ADDRESS",
    "temporal_namespace": "TEMPORAL_NAMESPACE",
    "task_queue": "TASK_QUEUE",
    "data_dir": "DATA_DIR",
    "smtp_url": "SMTP_URL",
    "notify_from": "NOTIFY_FROM",
    "policy_file": "POLICY_FILE",
    "payload_key": "PAYLOAD_KEY",
    "key_encryption_keys": "KEY_ENCRYPTION_KEYS",
}
_SECRETS = frozenset({"payload_key", "key_encryption_keys"})
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$")


# First in DUEPROCESS_KEY_ENCRYPTION_KEYS: new keys stay in clear, the KEKs listed after
# it only unwrap (the first step of rolling a KEK out; see the README).
CLEAR = "clear"


def _parse_keks(text: str) -> tuple[bool, tuple[bytes, ...]]:
    """(whether new keys are wrapped, the KEKs in order)."""
    parts = [part.strip() for part in text.split(",")]
    wrap_new = parts[0] != CLEAR
    keks = []
    for n, part in enumerate(parts, start=1):
        if n == 1 and not wrap_new:
            continue
        if part == CLEAR:
            raise ValueError(f"key {n}: '{CLEAR}' may only come first")
        try:
            keks.append(parse_key(part))
        except ValueError as err:
            raise ValueError(f"key {n}: {err}") from None
    if not keks:
        raise ValueError(f"'{CLEAR}' must be followed by the key(s) to unwrap with")
    if len(set(keks)) != len(keks):
        raise ValueError("the same key is listed twice")
    return wrap_new, tuple(keks)


class ConfigError(ValueError):
    """Raised with one line per bad variable: its name, the rule and what was given."""


def _masked(value: str | None) -> str | None:
    """URLs may carry passwords: never echo them in an error message."""
    return re.sub(r"(//[^:/@\s]*):[^@\s]*@", r"\1:***@", value) if value else value


class Settings(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    database_url: str | None = None  # None: start the embedded PostgreSQL in data_dir
    temporal_address: str | None = None  # None: start `temporal server start-dev` in data_dir
    temporal_namespace: str = "default"
    task_queue: str = "dueprocess"
    data_dir: Path = Path(".dueprocess")
    smtp_url: str | None = None  # None: notifications go to files in data_dir/outbox
    notify_from: str = "dueprocess@localhost"
    policy_file: Path | None = None  # None: the shipped sample rulebook
    # base64 of 32 bytes: encrypts Temporal payloads (commands carry personal data)
    payload_key: str | None = Field(default=None, repr=False)
    # base64 of 32 bytes each, comma-separated: wrap the per-subject keys (the first wraps
    # new keys, all unwrap), so the database alone does not reveal personal data
    key_encryption_keys: str | None = Field(default=None, repr=False)

    @field_validator("payload_key")
    @classmethod
    def _payload_key(cls, value: str | None) -> str | None:
        if value is not None:
            parse_key(value)
        return value

    def payload_key_bytes(self) -> bytes | None:
        return parse_key(self.payload_key) if self.payload_key else None

    @field_validator("key_encryption_keys")
    @classmethod
    def _keks(cls, value: str | None) -> str | None:
        if value is not None:
            _parse_keks(value)
        return value

    def key_wrap(self) -> KeyWrap:
        if not self.key_encryption_keys:
            return KeyWrap()
        wrap_new, keks = _parse_keks(self.key_encryption_keys)
        return KeyWrap(keks, wrap_new=wrap_new)

    @field_validator("policy_file")
    @classmethod
    def _policy(cls, value: Path | None) -> Path | None:
        if value is not None and not value.is_file():
            raise ValueError("must be an existing YAML or JSON policy file")
        return value

    @field_validator("database_url")
    @classmethod
    def _dsn(cls, value: str | None) -> str | None:
        if value is not None and not re.match(r"^postgres(ql)?://", value):
            raise ValueError("must be a postgresql:// URL")
        return value

    @field_validator("temporal_address")
    @classmethod
    def _address(cls, value: str | None) -> str | None:
        if value is None:
            return value
        host, sep, port = value.rpartition(":")
        if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
            raise ValueError("must be host:port with a port from 1 to 65535")
        return value

    @field_validator("temporal_namespace", "task_queue")
    @classmethod
    def _name(cls, value: str) -> str:
        if not _NAME.match(value):
            raise ValueError("must be 1-200 characters of letters, digits, '.', '_' or '-'")
        return value

    @field_validator("data_dir")
    @classmethod
    def _dir(cls, value: Path) -> Path:
        if value.exists() and not value.is_dir():
            raise ValueError("must be a directory (a file is in the way)")
        return value

    @field_validator("smtp_url")
    @classmethod
    def _smtp(cls, value: str | None) -> str | None:
        if value is not None and not re.match(r"^smtps?://[^/]+", value):
            raise ValueError("must be smtp://host[:port] or smtps://host[:port]")
        return value

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Settings:
        given = {
            field: env[PREFIX + suffix]
            for field, suffix in _FIELDS.items()
            if env.get(PREFIX + suffix, "").strip() != ""
        }
        try:
            return cls.model_validate(given)
        except ValidationError as err:
            lines = []
            for problem in err.errors():
                field = str(problem["loc"][0])
                name = PREFIX + _FIELDS.get(field, field.upper())
                message = problem["msg"].removeprefix("Value error, ")
                shown = "<hidden>" if field in _SECRETS else repr(_masked(given.get(field)))
                lines.append(f"{name}: {message} (got {shown})")
            raise ConfigError("invalid configuration:\n  " + "\n  ".join(lines)) from None
