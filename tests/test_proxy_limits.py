"""The shipped nginx config (scripts/ops/cluster_configs.py) in front of the real Rasa server:
it refuses oversized bodies per webhook and cuts off slow clients itself, so they never
reach a Rasa server."""

import json
import socket
import subprocess
import time
import urllib.request
from typing import Iterator

import pytest

from raw_http import request_head, send, trickle
from scripts.ops.cluster_configs import nginx_conf
from scripts.ops.processes import free_port, stop_processes
from scripts.ops.serve import Servers

NGINX = "/usr/sbin/nginx"


@pytest.fixture(scope="module")
def proxy_port(servers: Servers, tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    """nginx with the cluster's config, in front of the test servers' one Rasa server."""
    prefix = tmp_path_factory.mktemp("nginx")
    port = free_port()
    conf = prefix / "nginx.conf"
    conf.write_text(
        nginx_conf(prefix, prefix, port, [servers.rasa_port], free_port(), [servers.action_port])
    )
    process = subprocess.Popen(
        [NGINX, "-c", str(conf), "-p", str(prefix), "-e", str(prefix / "nginx-error.log")],
        cwd=prefix,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2):
                break
        except OSError:
            time.sleep(0.2)
    yield port
    stop_processes([process])


def message(text: str = "does it hurt?") -> bytes:
    # No sender: each message starts a conversation whose id the REST channel issues.
    return json.dumps({"message": text}).encode()


def test_nginx_passes_a_message_and_refuses_bodies_over_each_webhooks_limit(
    proxy_port: int,
) -> None:
    json_headers = {"Content-Type": "application/json"}
    assert send(proxy_port, "POST", "/webhooks/rest/webhook", json_headers, message()).status == 200
    for path, size in (
        ("/webhooks/rest/webhook", 200_000),
        ("/webhooks/twilio/webhook", 64_000),
        ("/webhooks/whatsapp/webhook", 64_000),
        ("/webhooks/twilio_voice/webhook", 64_000),
        ("/webhooks/slack/webhook", 400_000),
        ("/anything", 2_000_000),
    ):
        answer = send(proxy_port, "POST", path, json_headers, b"", length=size, timeout=10)
        assert answer.status == 413 and answer.seconds < 2, (path, answer)
        # nginx's own refusal: the request never reached a Rasa server.
        assert b"<center>nginx" in answer.body, (path, answer)


def test_nginx_cuts_off_a_trickled_header_and_keeps_answering_patients(proxy_port: int) -> None:
    head = request_head(
        "POST",
        "/webhooks/rest/webhook",
        {"Content-Type": "application/json", "X-Pad": "p" * 200},
        10,
    )
    sockets = [socket.create_connection(("127.0.0.1", proxy_port)) for _ in range(200)]
    try:
        for sock in sockets:
            sock.send(head[:1])
        started = time.monotonic()
        answer = send(
            proxy_port,
            "POST",
            "/webhooks/rest/webhook",
            {"Content-Type": "application/json"},
            message(),
        )
        patient_wait = time.monotonic() - started
        slow = trickle(proxy_port, head, stop_after=25)
    finally:
        for sock in sockets:
            sock.close()
    print(
        f"through nginx with 200 slow clients: a patient answered in {patient_wait:.2f}s; "
        f"a trickled header cut off after {slow.seconds:.1f}s"
    )
    assert answer.status == 200 and patient_wait < 2
    assert slow.status != -1 and slow.seconds < 14, slow
