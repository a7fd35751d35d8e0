"""The Helm chart (deploy/helm/clinic-assistant), rendered offline by Helm's own engine and
checked against the Kubernetes schemas: probes on endpoints the servers really answer,
Socket.IO sticky and the webhooks not, TLS, no secret in the output, nothing as root, the
model from one URL and memory above what a Rasa server was measured to use."""

import re
from pathlib import Path
from typing import Any, Dict, List

import helm_python as helm
import kubernetes_validate
import pytest
import yaml

from rasa.core.utils import read_endpoints_from_path
from scripts.ops import container
from scripts.ops.serve import PROJECT_ROOT

CHART = PROJECT_ROOT / "deploy" / "helm" / "clinic-assistant"
KUBERNETES_VERSION = "1.28"
SECRET_NAME = "clinic-assistant-secrets"
MODEL_URL = "https://models.clinic.example/assistant.tar.gz"
VALUES: Dict[str, Any] = {
    "existingSecret": SECRET_NAME,
    "publicUrl": "https://assistant.clinic.example",
    "model": {"serverUrl": MODEL_URL},
    "redis": {"host": "redis.clinic.internal"},
    "ingress": {
        "tlsSecretName": "assistant-tls",
        "staffHost": "staff.clinic.example",
        "staffAllowedRanges": ["10.20.0.0/16"],
    },
}
# Variables that hold secrets (scripts/ops/serve.py, credentials.yml, staff/alert_config.py):
# they may reach a pod only from the Secret.
SECRET_VARIABLES = {
    "TRACKER_STORE_URL",
    "REDIS_PASSWORD",
    "CONVERSATION_ID_SECRET",
    "LOG_ID_SALT",
    "RASA_API_TOKEN",
    "TWILIO_AUTH_TOKEN",
    "FACEBOOK_SECRET",
    "FACEBOOK_PAGE_ACCESS_TOKEN",
    "SLACK_TOKEN",
    "SLACK_SIGNING_SECRET",
    "ALERT_SMTP_PASSWORD",
    "ALERT_WEBHOOK_SECRET",
}
# Where each server's health path is served, in the code that serves it.
ROUTE_DEFINITIONS = {
    "rasa": ("rasa/core/channels/rest.py", '@custom_webhook.route("/", methods=["GET"])'),
    "actions": ("rasa_sdk/endpoint.py", '@app.get("/health")'),
    "alerts": ("staff/alert_sender.py", 'add_get("/health"'),
    "inbox": ("staff/inbox.py", 'web.get("/login"'),
    "page": ("scripts/ops/web_page.py", '"/": (page,'),
}


def render(values: Dict[str, Any]) -> List[Dict[str, Any]]:
    rendered = helm.Chart.load(CHART).render(values, name="clinic", namespace="clinic")
    return [doc for text in rendered.values() for doc in yaml.safe_load_all(text) if doc]


@pytest.fixture(scope="module")
def manifests() -> List[Dict[str, Any]]:
    return render(VALUES)


def of_kind(manifests: List[Dict[str, Any]], kind: str) -> Dict[str, Dict[str, Any]]:
    return {m["metadata"]["name"]: m for m in manifests if m["kind"] == kind}


def deployment(manifests: List[Dict[str, Any]], component: str) -> Dict[str, Any]:
    return of_kind(manifests, "Deployment")[f"clinic-clinic-assistant-{component}"]


def test_helm_lints_the_chart_without_warnings() -> None:
    report = helm.lint(CHART, VALUES, strict=True, kube_version=f"v{KUBERNETES_VERSION}.0")
    assert report["errors"] == []
    # Severity 2 is a warning, 3 an error; 1 (info) is only "icon is recommended".
    assert [m for m in report["messages"] if m["severity"] >= 2] == []


def test_every_manifest_is_valid_for_kubernetes(manifests: List[Dict[str, Any]]) -> None:
    kinds = sorted(m["kind"] for m in manifests)
    assert kinds == sorted(
        [
            "ConfigMap",
            *["Deployment"] * 5,
            *["Service"] * 4,
            *["Ingress"] * 10,
            "HorizontalPodAutoscaler",
            "PodDisruptionBudget",
            "NetworkPolicy",
        ]
    )
    for manifest in manifests:
        # strict: a misspelt or misplaced field is an error, not silently dropped.
        kubernetes_validate.validate(manifest, KUBERNETES_VERSION, strict=True)


def test_the_schema_check_catches_a_misplaced_field(manifests: List[Dict[str, Any]]) -> None:
    broken = yaml.safe_load(yaml.safe_dump(deployment(manifests, "rasa")))
    broken["spec"]["template"]["spec"]["containers"][0]["readinessprobe"] = {}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, KUBERNETES_VERSION, strict=True)


@pytest.mark.parametrize("component", sorted(container.HEALTH))
def test_probes_ask_the_endpoint_the_server_answers(
    manifests: List[Dict[str, Any]], component: str
) -> None:
    path, _ = container.HEALTH[component]
    source, definition = ROUTE_DEFINITIONS[component]
    site_packages = Path(yaml.__file__).parent.parent
    code = PROJECT_ROOT / source if (PROJECT_ROOT / source).exists() else site_packages / source
    assert definition in code.read_text(encoding="utf-8")
    pod = deployment(manifests, component)["spec"]["template"]["spec"]
    (server,) = pod["containers"]
    assert server["ports"] == [{"name": "http", "containerPort": container.PORTS[component]}]
    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
        if component == "alerts" and probe == "livenessProbe":
            # Alive while answering 503 (alerts failing): the image's health command.
            assert server[probe]["exec"]["command"] == [
                "python",
                "-m",
                "scripts.ops.container",
                "health",
            ]
            continue
        assert server[probe]["httpGet"] == {"path": path, "port": "http"}, probe
    if component == "rasa":
        assert path == "/webhooks/rest/"
        # Loading the model takes up to ~3 minutes: the startup probe waits 5 minutes.
        assert (
            server["startupProbe"]["periodSeconds"] * server["startupProbe"]["failureThreshold"]
            >= 300
        )


def test_each_server_runs_its_role(manifests: List[Dict[str, Any]]) -> None:
    for component in ("rasa", "actions", "alerts", "inbox"):
        (server,) = deployment(manifests, component)["spec"]["template"]["spec"]["containers"]
        assert server["image"] == "registry.example/clinic-assistant:0.1.0"
        assert server["args"] == [component]
    (page,) = deployment(manifests, "page")["spec"]["template"]["spec"]["containers"]
    assert page["image"] == "registry.example/clinic-page:0.1.0" and "args" not in page


def test_socket_io_is_sticky_and_the_webhooks_round_robin(manifests: List[Dict[str, Any]]) -> None:
    ingresses = of_kind(manifests, "Ingress")
    sticky = ingresses["clinic-clinic-assistant-socketio"]
    annotations = sticky["metadata"]["annotations"]
    assert annotations["nginx.ingress.kubernetes.io/affinity"] == "cookie"
    assert annotations["nginx.ingress.kubernetes.io/session-cookie-path"] == "/socket.io/"
    assert annotations["nginx.ingress.kubernetes.io/session-cookie-secure"] == "true"
    (rule,) = sticky["spec"]["rules"]
    (path,) = rule["http"]["paths"]
    assert path["path"] == "/socket.io/"
    assert path["backend"]["service"]["name"] == "clinic-clinic-assistant-rasa"
    public = [
        i
        for name, i in ingresses.items()
        if name not in ("clinic-clinic-assistant-socketio", "clinic-clinic-assistant-inbox")
    ]
    paths = {}
    for ingress in public:
        assert not any("affinity" in key for key in ingress["metadata"]["annotations"])
        paths.update(
            {
                p["path"]: p["backend"]["service"]["name"]
                for p in ingress["spec"]["rules"][0]["http"]["paths"]
            }
        )
    rasa = "clinic-clinic-assistant-rasa"
    assert paths == {
        "/webhooks/": rasa,
        "/webhooks/rest/": rasa,
        "/webhooks/twilio/": rasa,
        "/webhooks/whatsapp/": rasa,
        "/webhooks/twilio_voice/": rasa,
        "/webhooks/facebook/": rasa,
        "/webhooks/slack/": rasa,
        "/": "clinic-clinic-assistant-page",
    }


def test_every_host_is_served_over_tls(manifests: List[Dict[str, Any]]) -> None:
    for name, ingress in of_kind(manifests, "Ingress").items():
        hosts = [rule["host"] for rule in ingress["spec"]["rules"]]
        assert ingress["spec"]["tls"] == [{"hosts": hosts, "secretName": "assistant-tls"}], name
        assert (
            ingress["metadata"]["annotations"]["nginx.ingress.kubernetes.io/ssl-redirect"] == "true"
        )
    inbox = of_kind(manifests, "Ingress")["clinic-clinic-assistant-inbox"]
    assert inbox["spec"]["rules"][0]["host"] == "staff.clinic.example"
    assert (
        inbox["metadata"]["annotations"]["nginx.ingress.kubernetes.io/whitelist-source-range"]
        == "10.20.0.0/16"
    )


def test_no_secret_is_in_the_rendered_chart(manifests: List[Dict[str, Any]]) -> None:
    assert of_kind(manifests, "Secret") == {}
    (config,) = of_kind(manifests, "ConfigMap").values()
    assert not SECRET_VARIABLES & set(config["data"])
    assert not any(re.search(r"(?i)password|secret|token|salt", key) for key in config["data"])
    for name, manifest in of_kind(manifests, "Deployment").items():
        (server,) = manifest["spec"]["template"]["spec"]["containers"]
        assert "env" not in server, name  # only envFrom: the ConfigMap and the Secret
        secrets = [s["secretRef"]["name"] for s in server["envFrom"] if "secretRef" in s]
        # The page needs no secret, so it gets none.
        assert secrets == ([] if name.endswith("-page") else [SECRET_NAME]), name


def test_the_chart_refuses_to_render_without_its_secret_or_model() -> None:
    for missing, named in (
        ("existingSecret", "existingSecret"),
        ("model", "model.serverUrl"),
        ("publicUrl", "publicUrl"),
    ):
        values = {k: v for k, v in VALUES.items() if k != missing}
        with pytest.raises(helm.HelmError, match=re.escape(named)):
            render(values)


def test_no_server_runs_as_root(manifests: List[Dict[str, Any]]) -> None:
    for name, manifest in of_kind(manifests, "Deployment").items():
        pod = manifest["spec"]["template"]["spec"]
        assert pod["securityContext"]["runAsNonRoot"] is True, name
        assert pod["securityContext"]["runAsUser"] != 0, name
        assert pod["automountServiceAccountToken"] is False, name
        for server in pod["containers"]:
            context = server["securityContext"]
            assert context["runAsNonRoot"] is True and context["allowPrivilegeEscalation"] is False
            assert context["readOnlyRootFilesystem"] is True and context["capabilities"] == {
                "drop": ["ALL"]
            }


def test_rasa_memory_covers_what_a_replica_was_measured_to_use(
    manifests: List[Dict[str, Any]],
) -> None:
    benchmark = (PROJECT_ROOT / "docs" / "benchmark.md").read_text(encoding="utf-8")
    measured = [
        float(m) for m in re.findall(r"\| Rasa server RSS [^|]*\(MB\) \| ([\d.]+) \|", benchmark)
    ]
    assert len(measured) == 2
    (server,) = deployment(manifests, "rasa")["spec"]["template"]["spec"]["containers"]

    def mebibytes(quantity: str) -> float:
        number, unit = re.fullmatch(r"(\d+)(Mi|Gi)", quantity).groups()
        return int(number) * (1024 if unit == "Gi" else 1) * 1.048576  # MiB -> MB

    assert mebibytes(server["resources"]["requests"]["memory"]) > max(measured) * 1.2
    assert mebibytes(server["resources"]["limits"]["memory"]) > max(measured) * 1.5


def test_rasa_scales_with_an_autoscaler_that_owns_the_replica_count(
    manifests: List[Dict[str, Any]],
) -> None:
    (autoscaler,) = of_kind(manifests, "HorizontalPodAutoscaler").values()
    assert autoscaler["spec"]["scaleTargetRef"] == {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "name": "clinic-clinic-assistant-rasa",
    }
    assert autoscaler["spec"]["minReplicas"] >= 2
    assert "replicas" not in deployment(manifests, "rasa")["spec"]
    fixed = render({**VALUES, "rasa": {"replicas": 3, "autoscaling": {"enabled": False}}})
    assert of_kind(fixed, "HorizontalPodAutoscaler") == {}
    assert deployment(fixed, "rasa")["spec"]["replicas"] == 3


def test_only_the_rasa_servers_may_call_the_action_server(manifests: List[Dict[str, Any]]) -> None:
    (policy,) = of_kind(manifests, "NetworkPolicy").values()
    assert policy["spec"]["podSelector"]["matchLabels"]["app.kubernetes.io/component"] == "actions"
    (allowed,) = policy["spec"]["ingress"]
    assert allowed["from"][0]["podSelector"]["matchLabels"]["app.kubernetes.io/component"] == "rasa"


def test_every_replica_pulls_the_one_model_from_its_url(
    manifests: List[Dict[str, Any]], tmp_path: Path
) -> None:
    (config,) = of_kind(manifests, "ConfigMap").values()
    assert config["data"]["MODEL_SERVER_URL"] == MODEL_URL
    endpoints = container.write_endpoints(config["data"], tmp_path / "endpoints.yml")
    # Rasa's own reader: the file the Rasa container starts with names the model server.
    env = {**config["data"], "TRACKER_STORE_URL": "sqlite:///unused.db", "REDIS_PASSWORD": ""}
    with pytest.MonkeyPatch.context() as patch:
        for name, value in env.items():
            patch.setenv(name, value)
        read = read_endpoints_from_path(str(endpoints))
    assert read.model.url == MODEL_URL
    assert read.model.kwargs["wait_time_between_pulls"] == 60
    assert read.action.url == "http://clinic-clinic-assistant-actions:5055/webhook"


@pytest.mark.parametrize(
    "mistake,reported",
    [
        ({"rasa": {"replica": 3}}, "additional properties 'replica' not allowed"),
        ({"publicUrl": "http://assistant.clinic.example"}, "/publicUrl"),
        (
            {"ingress": {**VALUES["ingress"], "staffAllowedRanges": ["the clinic"]}},
            "/ingress/staffAllowedRanges/0",
        ),
    ],
)
def test_a_mistyped_value_is_refused_by_the_values_schema(
    mistake: Dict[str, Any], reported: str
) -> None:
    with pytest.raises(helm.HelmError, match=re.escape(reported)):
        render({**VALUES, **mistake})
