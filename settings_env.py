"""The environment side of settings: variable names, value checks and Temporal's own
environment configuration (settings.py holds the Settings model that uses them)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from temporalio.envconfig import ClientConfigProfile

from .services.codec import parse_key

PREFIX = "DUEPROCESS_"
_FIELDS = {
    "database_url": "DATABASE_URL",
    "temporal_address": "TEMPORAL_ADDRESS",
    "temporal_namespace": "TEMPORAL_NAMESPACE",
    "task_queue": "TASK_QUEUE",
    "data_dir": "DATA_DIR",
    "smtp_url": "SMTP_URL",
    "notify_from": "NOTIFY_FROM",
    "notice_relay": "NOTICE_RELAY",
    "staff_mailboxes": "STAFF_MAILBOXES",
    "policy_file": "POLICY_FILE",
    "payload_key": "PAYLOAD_KEY",
    "key_encryption_keys": "KEY_ENCRYPTION_KEYS",
    "projection_on_error": "PROJECTION_ON_ERROR",
    "checkpoint_key": "CHECKPOINT_KEY",
    "checkpoint_dir": "CHECKPOINT_DIR",
    "checkpoint_interval": "CHECKPOINT_INTERVAL",
    "health_address": "HEALTH_ADDRESS",
    "prometheus_address": "PROMETHEUS_ADDRESS",
    "shutdown_grace_seconds": "SHUTDOWN_GRACE_SECONDS",
    "max_cached_workflows": "MAX_CACHED_WORKFLOWS",
    "log_format": "LOG_FORMAT",
    "oidc_issuer": "OIDC_ISSUER",
    "oidc_audience": "OIDC_AUDIENCE",
    "oidc_role_claim": "OIDC_ROLE_CLAIM",
    "oidc_role_map": "OIDC_ROLE_MAP",
    "api_url": "API_URL",
    "token": "TOKEN",
    "api_max_body_bytes": "API_MAX_BODY_BYTES",
    "api_timeout_seconds": "API_TIMEOUT_SECONDS",
    "subject_sealing": "SUBJECT_SEALING",
    "console_client_id": "CONSOLE_CLIENT_ID",
    "console_session_secret": "CONSOLE_SESSION_SECRET",
    "console_session_hours": "CONSOLE_SESSION_HOURS",
}
_SECRETS = frozenset({"payload_key", "key_encryption_keys", "temporal_api_key", "token",
                      "console_session_secret"})
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


# libpq's sslmode values; asyncpg reads them (and sslrootcert/sslcert/sslkey, or the PGSSL*
# variables) from the DSN, so PostgreSQL TLS needs no setting of its own.
_SSLMODES = frozenset({"disable", "allow", "prefer", "require", "verify-ca", "verify-full"})
_SSLFILES = ("sslrootcert", "sslcert", "sslkey")


def _host_port(value: str) -> str:
    host, sep, port = value.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError("must be host:port with a port from 1 to 65535")
    return value


class ConfigError(ValueError):
    """Raised with one line per bad variable: its name, the rule and what was given."""


def _masked(value: str | None) -> str | None:
    """URLs may carry passwords: never echo them in an error message."""
    return re.sub(r"(//[^:/@\s]*):[^@\s]*@", r"\1:***@", value) if value else value


def _temporal_profile(env: Mapping[str, str]) -> dict[str, Any]:
    """Settings from Temporal's environment configuration: the profile named by
    TEMPORAL_PROFILE (default "default") in TEMPORAL_CONFIG_FILE (default
    ~/.config/temporalio/temporal.toml) with the TEMPORAL_* variables applied. The
    DUEPROCESS_TEMPORAL_* variables override its address and namespace."""
    try:
        profile = ClientConfigProfile.load(override_env_vars=dict(env))
        connect = profile.to_client_connect_config()  # reads the certificate files
    except OSError as err:
        raise ConfigError(
            f"invalid configuration:\n  Temporal TLS: cannot read {err.filename}: "
            f"{err.strerror}") from None
    except Exception as err:  # the SDK's bridge raises its own ConfigError type
        raise ConfigError(f"invalid configuration:\n  Temporal profile: {err}") from None
    values: dict[str, Any] = {}
    if "target_host" in connect:
        values["temporal_address"] = connect["target_host"]
    if "namespace" in connect:
        values["temporal_namespace"] = connect["namespace"]
    if "tls" in connect:
        values["temporal_tls"] = connect["tls"]
    if "api_key" in connect:
        values["temporal_api_key"] = connect["api_key"]
    if "rpc_metadata" in connect:
        values["temporal_rpc_metadata"] = dict(connect["rpc_metadata"])
    return values
