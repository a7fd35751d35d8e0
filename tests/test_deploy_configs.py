"""The cluster, Compose and the Helm chart take their nginx, Redis and PostgreSQL settings
from the same place (scripts/ops/cluster_configs.py, scripts/ops/nginx_pieces.py): the generated
deploy files are up to date, the YAML ones that carry comments say the same, the Redis
config runs in the real redis-server, and each webhook's limits reach the chart's Ingress."""

import importlib
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Dict, Iterator, List

import pytest
import redis
import yaml

from scripts.ops import deploy_configs
from scripts.ops.cluster_configs import (
    DATABASE,
    DB_USER,
    INITDB_OPTIONS,
    REDIS_PORT,
    TICKET_LOCK_LIFETIME,
    nginx_conf,
)
from scripts.ops.compose_nginx import compose_nginx_conf
from env_files import read_env_file
from scripts.ops.nginx_pieces import (
    CONNECTIONS_PER_ADDRESS,
    MESSAGE_BURST,
    MESSAGES_PER_SECOND,
    PROXY_READ_SECONDS,
    SOCKET_READ_SECONDS,
    WEBHOOKS,
    max_body,
    socketio_location,
    webhook_locations,
)
from scripts.ops.processes import free_port
from scripts.ops.serve import PROJECT_ROOT
from test_deploy_manifests import VALUES, of_kind, render

DEPLOY = PROJECT_ROOT / "deploy"
ANNOTATION = "nginx.ingress.kubernetes.io/"


def stripped_lines(text: str) -> List[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


def test_every_generated_deploy_file_is_up_to_date() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "scripts.ops.deploy_configs", "--check"],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr


def test_a_hand_edited_generated_file_is_named_stale(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    edited = tmp_path / "redis.conf"
    edited.write_text(deploy_configs.compose_redis_conf().replace('save ""', "save 60 1"))
    monkeypatch.setattr(deploy_configs, "RENDERED", {edited: deploy_configs.compose_redis_conf})
    assert deploy_configs.stale_files() == [edited]
    deploy_configs.main([])
    assert deploy_configs.stale_files() == []


def test_compose_and_the_cluster_share_their_nginx_locations() -> None:
    compose = stripped_lines(compose_nginx_conf())
    cluster = stripped_lines(nginx_conf(Path("/p"), Path("/p"), 8000, [1, 2], 3, [4]))
    for piece, compose_upstream, cluster_upstream in (
        (webhook_locations, "clinic_rasa", "rasa_round_robin"),
        (socketio_location, "clinic_rasa_sticky", "rasa_sticky"),
    ):
        for config, upstream in ((compose, compose_upstream), (cluster, cluster_upstream)):
            lines = stripped_lines(piece(upstream))
            start = config.index(lines[0])
            assert config[start : start + len(lines)] == lines


def test_compose_postgres_and_redis_are_the_clusters() -> None:
    compose = yaml.safe_load((DEPLOY / "compose.yaml").read_text())["services"]
    postgres = compose["postgres"]["environment"]
    assert (postgres["POSTGRES_DB"], postgres["POSTGRES_USER"]) == (DATABASE, DB_USER)
    assert postgres["POSTGRES_INITDB_ARGS"] == " ".join(INITDB_OPTIONS)
    auth = next(o for o in INITDB_OPTIONS if o.startswith("--auth="))
    assert postgres["POSTGRES_HOST_AUTH_METHOD"] == auth.split("=", 1)[1]
    redis_service = compose["redis"]
    assert "./redis/redis.conf:/usr/local/etc/redis/redis.conf:ro" in redis_service["volumes"]
    assert "redis-server /usr/local/etc/redis/redis.conf" in redis_service["command"][-1]
    env = read_env_file(DEPLOY / "clinic.env.example")
    assert re.fullmatch(
        rf"postgresql://{DB_USER}:[^@]+@postgres:5432/{DATABASE}", env["TRACKER_STORE_URL"]
    )
    assert env["REDIS_PORT"] == str(REDIS_PORT)
    assert env["TICKET_LOCK_LIFETIME"] == TICKET_LOCK_LIFETIME


def test_the_charts_defaults_are_the_clusters() -> None:
    values = yaml.safe_load((DEPLOY / "helm" / "clinic-assistant" / "values.yaml").read_text())
    assert str(values["ticketLockLifetime"]) == TICKET_LOCK_LIFETIME
    assert values["redis"]["port"] == REDIS_PORT


@pytest.fixture
def compose_redis(tmp_path: Path) -> Iterator[int]:
    """The real redis-server with Compose's config, as compose.yaml starts it (plus a port)."""
    port = free_port()
    process = subprocess.Popen(
        [
            "/usr/bin/redis-server",
            str(DEPLOY / "redis" / "redis.conf"),
            "--requirepass",
            "lock-pw",
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--dir",
            str(tmp_path),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                redis.Redis(port=port, password="lock-pw").ping()
                break
            except redis.exceptions.ConnectionError:
                assert process.poll() is None and time.monotonic() < deadline, "redis did not start"
                time.sleep(0.1)
        yield port
    finally:
        process.terminate()
        process.wait(timeout=20)


def test_composes_redis_keeps_locks_in_memory_behind_a_password(compose_redis: int) -> None:
    client = redis.Redis(port=compose_redis, password="lock-pw", decode_responses=True)
    assert client.config_get("save") == {"save": ""}
    assert client.config_get("appendonly") == {"appendonly": "no"}
    with pytest.raises(redis.exceptions.AuthenticationError):
        redis.Redis(port=compose_redis).ping()


@pytest.fixture(scope="module")
def ingresses() -> Dict[str, Dict[str, Any]]:
    return {
        i["spec"]["rules"][0]["http"]["paths"][0]["path"]: i
        for i in of_kind(render(VALUES), "Ingress").values()
        if i["spec"]["rules"][0]["host"] == "assistant.clinic.example"
    }


def test_every_webhook_channel_of_ours_has_its_own_proxy_location() -> None:
    """Without one, a channel's webhook falls to the catch-all location: nginx buffers a
    1 MB body for it instead of the few kB its server reads (channels/request_limits.py)."""
    channels = set()
    for path in yaml.safe_load((PROJECT_ROOT / "credentials.yml").read_text()):
        module, _, name = path.rpartition(".")
        if module.startswith("channels.") and module != "channels.socketio":
            channels.add(getattr(importlib.import_module(module), name).name())
    assert channels >= {"rest", "twilio", "whatsapp", "twilio_voice", "facebook"}
    assert channels - {name for name, _, _ in WEBHOOKS} == set()


def test_each_webhook_ingress_has_the_limits_of_nginx(ingresses: Dict[str, Dict[str, Any]]) -> None:
    for name, limit, per_address in WEBHOOKS:
        annotations = ingresses[f"/webhooks/{name}/"]["metadata"]["annotations"]
        assert annotations[ANNOTATION + "proxy-body-size"] == max_body(limit), name
        assert annotations[ANNOTATION + "proxy-read-timeout"] == str(PROXY_READ_SECONDS)
        assert annotations[ANNOTATION + "proxy-next-upstream"] == "error timeout non_idempotent"
        if per_address:
            assert annotations[ANNOTATION + "limit-connections"] == str(CONNECTIONS_PER_ADDRESS)
            rate = int(annotations[ANNOTATION + "limit-rps"])
            assert rate == MESSAGES_PER_SECOND
            assert rate * int(annotations[ANNOTATION + "limit-burst-multiplier"]) == MESSAGE_BURST
        else:
            assert not any("limit" in key for key in annotations), name
    other = ingresses["/webhooks/"]["metadata"]["annotations"]
    assert other[ANNOTATION + "proxy-body-size"] == "1m"
    socket = ingresses["/socket.io/"]["metadata"]["annotations"]
    assert socket[ANNOTATION + "proxy-read-timeout"] == str(SOCKET_READ_SECONDS)
    assert socket[ANNOTATION + "limit-connections"] == str(CONNECTIONS_PER_ADDRESS)
    page = ingresses["/"]["metadata"]["annotations"]
    assert page[ANNOTATION + "limit-connections"] == str(CONNECTIONS_PER_ADDRESS)
