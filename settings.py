"""Configuration from the environment, validated once at start-up.

Only worker.py and the CLI call ``Settings.from_env``; everything else is handed values.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal
from urllib.parse import parse_qs, urlsplit

from pydantic import BaseModel, ConfigDict, Field, SkipValidation, ValidationError, field_validator
from temporalio.service import TLSConfig

from .services.codec import WAIVER, PayloadKeyMissing, parse_key, payload_key
from .services.identity import parse_role_map
from .services.mailboxes import parse_mailboxes
from .settings_env import (
    _FIELDS,
    _NAME,
    _SECRETS,
    _SSLFILES,
    _SSLMODES,
    CLEAR,
    PREFIX,
    ConfigError,
    _host_port,
    _masked,
    _parse_keks,
    _temporal_profile,
)
from .store.crypto import KeyWrap

__all__ = ["CLEAR", "PREFIX", "ConfigError", "Settings"]

# The most serialized state one case workflow holds (a case keeps only the rules it cites:
# tests/domain/test_case_state_size.py holds it to this; a filed case holds about 7 KiB).
CASE_STATE_BYTES = 100 * 1024
# What one cached case costs a worker's resident set, measured (bench/memory.py, README):
# about 200 KiB, mostly the Temporal SDK's own per-run state (its Rust core, retained
# protobufs, the sandboxed instance), the case's state a few KiB of it. The cache gets 512
# MiB by default, 2,621 cases (Temporal's own default is 1,000). Once the cache is full,
# evicted runs are cyclic garbage that only the collector's infrequent full collections
# free, about a quarter more again; with the worker's ~120 MiB baseline it stays under 1
# GiB however many cases are open (an evicted case replays its short history when a timer
# fires or a decision arrives). A 768 MiB budget settled at 1.1 GiB.
CACHED_CASE_BYTES = 200 * 1024
CASE_CACHE_BYTES = 512 << 20
DEFAULT_MAX_CACHED_WORKFLOWS = CASE_CACHE_BYTES // CACHED_CASE_BYTES


class Settings(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    database_url: str | None = None  # None: start the embedded PostgreSQL in data_dir
    temporal_address: str | None = None  # None: start `temporal server start-dev` in data_dir
    temporal_namespace: str = "default"
    task_queue: str = "dueprocess"
    data_dir: Path = Path(".dueprocess")
    smtp_url: str | None = None  # None: notifications go to files in data_dir/outbox
    notify_from: str = "dueprocess@localhost"
    # Who posts decisions' notices: the worker (beside them; SMTP by an activity) or
    # `dueprocess relay` processes ("separate": workers only queue them; worker_tasks.py)
    notice_relay: Literal["worker", "separate"] = "worker"
    # ROLE=address pairs: the mailbox of each staff role escalations go to (issue 15);
    # a role without one gets its notices addressed to <role>@staff.invalid (the outbox)
    staff_mailboxes: str | None = None
    policy_file: Path | None = None  # None: the shipped sample rulebook
    # base64 of 32 bytes: encrypts Temporal payloads (commands carry personal data)
    payload_key: str | None = Field(default=None, repr=False)
    # base64 of 32 bytes each, comma-separated: wrap the per-subject keys (the first wraps
    # new keys, all unwrap), so the database alone does not reveal personal data
    key_encryption_keys: str | None = Field(default=None, repr=False)
    # An event a projection cannot apply: quarantine it and go on, or halt that projection
    projection_on_error: Literal["quarantine", "halt"] = "quarantine"
    # Signed checkpoints of the log (store/checkpoints.py): the Ed25519 signing key (PEM;
    # None: generated 0600 in data_dir), where the signed heads go (None:
    # data_dir/checkpoints) and how often the worker signs one (seconds; 0: never).
    checkpoint_key: Path | None = None
    checkpoint_dir: Path | None = None
    checkpoint_interval: float = Field(default=60.0, ge=0, le=86400)
    # host:port serving /livez and /readyz (readiness checks Temporal and PostgreSQL)
    health_address: str | None = None
    # host:port of a Prometheus scrape endpoint for the SDK's and the application's metrics
    prometheus_address: str | None = None
    # how long a stopping worker lets running activities finish before cancelling them
    shutdown_grace_seconds: float = Field(default=20.0, ge=0, le=3600)
    # case workflows a worker keeps in memory between their tasks (0: none, each task
    # replays its history); fewer for a small worker, more for one with memory to spare
    max_cached_workflows: int = Field(default=DEFAULT_MAX_CACHED_WORKFLOWS, ge=0, le=1_000_000)
    # "json": one JSON object per log line (with trace and span ids) for log collectors
    log_format: Literal["text", "json"] = "text"
    # Seal each personal value in Temporal payloads under its subject's own key, so erasure
    # reaches workflow histories (services/sealing.py). Every client and worker of a
    # namespace must agree; clients then need the database (subject_keys) too.
    subject_sealing: bool = True
    # From Temporal's environment configuration (TEMPORAL_PROFILE, TEMPORAL_CONFIG_FILE,
    # TEMPORAL_TLS_*, TEMPORAL_API_KEY, ...), loaded by from_env: how to reach a cluster
    # with TLS, mTLS or an API key; only for the configured address, never an embedded one.
    temporal_tls: SkipValidation[bool | TLSConfig] = Field(default=False, repr=False)
    temporal_api_key: str | None = Field(default=None, repr=False)
    temporal_rpc_metadata: dict[str, str] = Field(default_factory=dict, repr=False)
    # Identity (services/identity.py): the OIDC issuer whose access tokens are accepted
    # (None: the local development issuer of the data dir), the audience they must name,
    # the claim carrying roles (a dotted path reaches into objects) and IDP_ROLE=role
    # pairs mapping the IdP's roles or groups to dueprocess roles (None: taken as named).
    oidc_issuer: str | None = None
    oidc_audience: str = "dueprocess"
    oidc_role_claim: str = "roles"
    oidc_role_map: str | None = None
    # Where the CLI and the Python client reach the HTTP API, and the token it sends
    api_url: str | None = None
    token: str | None = Field(default=None, repr=False)
    # What the HTTP API accepts (`dueprocess api` and `dev`; their flags override): the
    # largest request body, and how long a request may take before it is answered 503
    api_max_body_bytes: int = Field(default=1024 * 1024, ge=1, le=1024 * 1024 * 1024)
    api_timeout_seconds: float = Field(default=30.0, gt=0, le=3600)
    # The browser console (console/): its OIDC client, the secret signing its cookie and
    # sealing its sessions (the same on every API replica; `dueprocess api` refuses to
    # start without it, dev and demo use a random one) and how long a session may last.
    console_client_id: str = Field(default="dueprocess-console", pattern=r"^[!-~]{1,200}$")
    console_session_secret: str | None = Field(default=None, repr=False, min_length=32)
    console_session_hours: float = Field(default=8.0, gt=0, le=24)

    @field_validator("oidc_issuer")
    @classmethod
    def _issuer(cls, value: str | None) -> str | None:
        # OIDC issuers are https; plain http only on loopback (the local issuer, tests).
        if value is not None and not re.match(
                r"^(https://[^/\s]+|http://(127\.0\.0\.1|localhost|\[::1\])(:\d+)?)(/\S*)?$",
                value):
            raise ValueError("must be an https:// URL (http:// only on loopback)")
        return value

    @field_validator("api_url")
    @classmethod
    def _api_url(cls, value: str | None) -> str | None:
        if value is not None and not re.match(r"^https?://[^/\s]+(/\S*)?$", value):
            raise ValueError("must be an http:// or https:// URL")
        return value

    @field_validator("oidc_audience", "oidc_role_claim")
    @classmethod
    def _claim_text(cls, value: str) -> str:
        if not value.strip() or len(value) > 200 or any(c.isspace() for c in value):
            raise ValueError("must be 1-200 characters without spaces")
        return value

    @field_validator("staff_mailboxes")
    @classmethod
    def _mailboxes(cls, value: str | None) -> str | None:
        if value is not None:
            parse_mailboxes(value)
        return value

    @field_validator("oidc_role_map")
    @classmethod
    def _role_map(cls, value: str | None) -> str | None:
        if value is not None:
            parse_role_map(value)
        return value

    def role_map(self) -> dict[str, str] | None:
        """The IdP-role -> dueprocess-role mapping, or None (role names taken as they are)."""
        return None if self.oidc_role_map is None else parse_role_map(self.oidc_role_map)

    @field_validator("payload_key")
    @classmethod
    def _payload_key(cls, value: str | None) -> str | None:
        if value is not None and value != WAIVER:
            try:
                parse_key(value)
            except ValueError as err:
                raise ValueError(f"{err}, or '{WAIVER}'") from None
        return value

    def payload_key_bytes(self) -> bytes | None:
        """The payload key: configured, waived (None), or for the embedded Temporal the
        one generated into the data dir. Raises ConfigError when an explicit Temporal
        address has neither key nor waiver."""
        try:
            return payload_key(self.payload_key, data_dir=self.data_dir,
                               embedded=self.temporal_address is None)
        except PayloadKeyMissing as err:
            raise ConfigError(f"invalid configuration:\n  {err}") from None

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

    @field_validator("checkpoint_key")
    @classmethod
    def _checkpoint_key(cls, value: Path | None) -> Path | None:
        # A configured key must exist: generating one for a mistyped path would sign
        # heads no one can check against the published public key.
        if value is not None and not value.is_file():
            raise ValueError("must be an existing Ed25519 private key file (PEM)")
        return value

    def checkpoint_key_path(self) -> Path:
        return self.checkpoint_key or self.data_dir / "checkpoint-ed25519.pem"

    def checkpoint_directory(self) -> Path:
        return self.checkpoint_dir or self.data_dir / "checkpoints"

    @field_validator("database_url")
    @classmethod
    def _dsn(cls, value: str | None) -> str | None:
        if value is not None and not re.match(r"^postgres(ql)?://", value):
            raise ValueError("must be a postgresql:// URL")
        if value is not None:
            query = parse_qs(urlsplit(value).query)
            mode = query.get("sslmode", ["prefer"])[-1]
            if mode not in _SSLMODES:
                raise ValueError(f"sslmode must be one of {', '.join(sorted(_SSLMODES))}")
            for name in _SSLFILES:
                for path in query.get(name, []):
                    if not Path(path).expanduser().is_file():
                        raise ValueError(f"{name} must name an existing file")
        return value

    @field_validator("temporal_address", "health_address", "prometheus_address")
    @classmethod
    def _address(cls, value: str | None) -> str | None:
        return None if value is None else _host_port(value)

    def temporal_connect_args(self, address: str) -> dict[str, Any]:
        """Keyword arguments for ``Client.connect`` to ``address`` (the configured cluster's
        TLS, API key and gRPC metadata; none of them for an embedded dev server)."""
        args: dict[str, Any] = {"target_host": address, "namespace": self.temporal_namespace}
        if address != self.temporal_address:
            return args
        args["tls"] = self.temporal_tls
        if self.temporal_api_key is not None:
            args["api_key"] = self.temporal_api_key
        if self.temporal_rpc_metadata:
            args["rpc_metadata"] = dict(self.temporal_rpc_metadata)
        return args

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
        temporal = _temporal_profile(env)
        try:
            return cls.model_validate({**temporal, **given})
        except ValidationError as err:
            lines = []
            for problem in err.errors():
                field = str(problem["loc"][0])
                name = PREFIX + _FIELDS.get(field, field.upper())
                message = problem["msg"].removeprefix("Value error, ")
                if field not in given and field in temporal:  # from Temporal's own config
                    name = "TEMPORAL_" + field.removeprefix("temporal_").upper()
                shown = ("<hidden>" if field in _SECRETS
                         else repr(_masked(given.get(field, temporal.get(field)))))
                lines.append(f"{name}: {message} (got {shown})")
            raise ConfigError("invalid configuration:\n  " + "\n  ".join(lines)) from None
