"""The production host's nginx config (scripts/ops/host_nginx.py, deploy/nginx/): nginx accepts
it inside Debian's own nginx.conf, and in front of the real servers it answers a REST
message over HTTPS (TLS 1.2+, HSTS), upgrades the widget's socket to a WebSocket, redirects
HTTP, and reaches neither the Rasa server's HTTP API nor the alert sender. The staff inbox
is served on its own name only, to its allow-list."""

import http.client
import json
import re
import socket
import ssl
import subprocess
import time
from dataclasses import replace
from pathlib import Path
from typing import Iterator, Optional, Tuple

import pytest

from scripts.ops.cluster_configs import nginx_conf
from scripts.ops.host_nginx import (
    SHIPPED,
    Site,
    SiteError,
    example_site,
    host_nginx_conf,
    site_from_env,
)
from scripts.ops.nginx_pieces import socketio_location, webhook_locations
from scripts.ops.processes import free_port, stop_processes
from scripts.ops.serve import Servers
from tls_certificates import CertificateFiles, make_certificates

NGINX = "/usr/sbin/nginx"
DEBIAN_NGINX = Path("/etc/nginx")
CHAT = "chat.clinic.test"
INBOX = "inbox.clinic.test"


def stripped_lines(text: str) -> list:
    return [line.strip() for line in text.splitlines() if line.strip()]


def test_the_shipped_config_is_the_example_site_rendered() -> None:
    assert SHIPPED.read_text() == host_nginx_conf(example_site()), (
        "deploy/nginx/clinic-assistant.conf is stale: python -m scripts.ops.host_nginx --example --out it"
    )


def test_the_host_and_the_cluster_share_their_webhook_and_socket_locations() -> None:
    host = stripped_lines(host_nginx_conf(example_site()))
    cluster = stripped_lines(nginx_conf(Path("/p"), Path("/p"), 8000, [1, 2], 3, [4]))
    for piece, host_upstream, cluster_upstream in (
        (webhook_locations, "clinic_rasa", "rasa_round_robin"),
        (socketio_location, "clinic_rasa", "rasa_sticky"),
    ):
        for config, upstream in ((host, host_upstream), (cluster, cluster_upstream)):
            lines = stripped_lines(piece(upstream))
            start = config.index(lines[0])
            assert config[start : start + len(lines)] == lines


def test_the_site_comes_from_the_env_file_and_the_inbox_needs_an_allow_list() -> None:
    site = site_from_env(
        {"RASA_PUBLIC_URL": "https://chat.example-clinic.com", "RASA_PORT": "5105"}
    )
    assert site.server_name == "chat.example-clinic.com" and site.rasa_port == 5105
    assert site.tls_cert == "/etc/letsencrypt/live/chat.example-clinic.com/fullchain.pem"
    assert "staff inbox" in host_nginx_conf(site) and "clinic_inbox" not in host_nginx_conf(site)
    with pytest.raises(SiteError, match="INBOX_ALLOW"):
        host_nginx_conf(site_from_env({"SERVER_NAME": "a.test", "INBOX_SERVER_NAME": "b.test"}))
    with pytest.raises(SiteError, match="not an address"):
        host_nginx_conf(
            site_from_env(
                {
                    "SERVER_NAME": "a.test",
                    "INBOX_SERVER_NAME": "b.test",
                    "INBOX_ALLOW": "the office",
                }
            )
        )
    with pytest.raises(SiteError, match="SERVER_NAME"):
        site_from_env({})


@pytest.fixture(scope="module")
def certificates(tmp_path_factory: pytest.TempPathFactory) -> CertificateFiles:
    return make_certificates(tmp_path_factory.mktemp("tls"), [CHAT, INBOX])


def test_nginx_accepts_the_config_inside_debians_nginx_conf(
    certificates: CertificateFiles, tmp_path: Path
) -> None:
    assert (DEBIAN_NGINX / "nginx.conf").exists(), "Debian's nginx is not installed"
    etc = tmp_path / "etc-nginx"
    subprocess.run(["cp", "-a", f"{DEBIAN_NGINX}/.", str(etc)], check=True)
    for name in ("nginx.conf",):
        text = (etc / name).read_text().replace(f"{DEBIAN_NGINX}/", f"{etc}/")
        (etc / name).write_text(text)
    for stale in (etc / "sites-enabled").iterdir():
        stale.unlink()  # the host's own default site is not ours to test
    site = replace(
        example_site(),
        tls_cert=str(certificates.cert),
        tls_key=str(certificates.key),
        inbox_server_name=INBOX,
        inbox_tls_cert=str(certificates.cert),
        inbox_tls_key=str(certificates.key),
        inbox_allow=("10.8.0.0/24",),
    )
    (etc / "conf.d" / "clinic-assistant.conf").write_text(host_nginx_conf(site))
    checked = subprocess.run(
        [NGINX, "-t", "-c", str(etc / "nginx.conf"), "-e", str(tmp_path / "error.log")],
        capture_output=True,
        text=True,
    )
    assert checked.returncode == 0, checked.stderr
    assert "[warn]" not in checked.stderr and "[emerg]" not in checked.stderr, checked.stderr


def main_config(prefix: Path, site_file: Path) -> str:
    """The smallest full nginx config around the site file, everything in `prefix`."""
    temp = "\n".join(
        f"    {kind}_temp_path {prefix}/{kind};"
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    return f"""daemon off;
worker_processes 1;
pid {prefix}/nginx.pid;
error_log {prefix}/error.log warn;
events {{ worker_connections 256; }}
http {{
{temp}
    access_log {prefix}/access.log;
    include {site_file};
}}
"""


def start_nginx(prefix: Path, site: Site) -> subprocess.Popen:
    site_file = prefix / "clinic-assistant.conf"
    site_file.write_text(host_nginx_conf(site))
    conf = prefix / "nginx.conf"
    conf.write_text(main_config(prefix, site_file))
    checked = subprocess.run(
        [NGINX, "-t", "-c", str(conf), "-p", str(prefix), "-e", str(prefix / "error.log")],
        capture_output=True,
        text=True,
    )
    assert checked.returncode == 0, checked.stderr
    process = subprocess.Popen(
        [NGINX, "-c", str(conf), "-p", str(prefix), "-e", str(prefix / "error.log")],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", site.https_port), timeout=1).close()
            return process
        except OSError:
            time.sleep(0.1)
    stop_processes([process])
    raise RuntimeError(f"nginx did not listen: {(prefix / 'error.log').read_text()}")


@pytest.fixture(scope="module")
def site(
    servers: Servers, certificates: CertificateFiles, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Site]:
    """nginx with the host's config on free ports, in front of the test servers."""
    site = Site(
        CHAT,
        str(certificates.cert),
        str(certificates.key),
        rasa_port=servers.rasa_port,
        web_port=servers.web_port,
        inbox_port=servers.inbox_port,
        inbox_server_name=INBOX,
        inbox_tls_cert=str(certificates.cert),
        inbox_tls_key=str(certificates.key),
        inbox_allow=("127.0.0.1/32",),
        https_port=free_port(),
        http_port=free_port(),
    )
    process = start_nginx(tmp_path_factory.mktemp("nginx"), site)
    yield site
    stop_processes([process])


def tls_context(
    certificates: CertificateFiles, maximum: Optional[ssl.TLSVersion] = None
) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=str(certificates.ca))
    if maximum:
        context.maximum_version = maximum
    return context


def https(
    site: Site,
    certificates: CertificateFiles,
    method: str,
    path: str,
    host: str = CHAT,
    body: Optional[bytes] = None,
    maximum: Optional[ssl.TLSVersion] = None,
) -> Tuple[http.client.HTTPResponse, bytes, str]:
    """A request to nginx with `host` as the TLS server name and Host header."""
    raw = socket.create_connection(("127.0.0.1", site.https_port), timeout=30)
    tls = tls_context(certificates, maximum).wrap_socket(raw, server_hostname=host)
    connection = http.client.HTTPSConnection(host, site.https_port, timeout=30)
    connection.sock = tls
    headers = {"Content-Type": "application/json"} if body else {}
    connection.request(method, path, body=body, headers=headers)
    response = connection.getresponse()
    data = response.read()
    version = tls.version() or ""
    connection.close()
    return response, data, version


def test_a_rest_message_is_answered_over_https_with_hsts(
    site: Site, certificates: CertificateFiles
) -> None:
    body = json.dumps({"message": "does it hurt?"}).encode()
    response, data, version = https(site, certificates, "POST", "/webhooks/rest/webhook", body=body)
    assert response.status == 200 and json.loads(data), data
    assert response.getheader("Strict-Transport-Security") == "max-age=31536000"
    assert version == "TLSv1.3"
    # TLS 1.2 clients are still served.
    response, _, version = https(
        site,
        certificates,
        "POST",
        "/webhooks/rest/webhook",
        body=body,
        maximum=ssl.TLSVersion.TLSv1_2,
    )
    assert response.status == 200 and version == "TLSv1.2"


def test_the_widgets_socket_upgrades_to_a_websocket_over_https(
    site: Site, certificates: CertificateFiles, servers: Servers
) -> None:
    raw = socket.create_connection(("127.0.0.1", site.https_port), timeout=30)
    with tls_context(certificates).wrap_socket(raw, server_hostname=CHAT) as connection:
        origin = servers.env["WEB_ORIGIN"].split(",")[0]
        connection.sendall(
            (
                f"GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\nHost: {CHAT}\r\n"
                f"Origin: {origin}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
            ).encode()
        )
        status = connection.recv(4096).decode("latin-1").split("\r\n", 1)[0]
    assert status.startswith("HTTP/1.1 101"), status


def test_the_clinic_page_is_served_and_nothing_else_of_the_servers(
    site: Site, certificates: CertificateFiles, servers: Servers
) -> None:
    response, page, _ = https(site, certificates, "GET", "/")
    assert response.status == 200 and b"<html" in page.lower()
    # Paths of the Rasa server's own API and of the alert sender and the inbox reach the page,
    # which knows none of them.
    for path in ("/status", "/version", "/conversations/x/tracker", "/model", "/health", "/login"):
        response, data, _ = https(site, certificates, "GET", path)
        assert response.status == 404, (path, response.status, data[:200])
    assert str(servers.alert_sender_port) not in SHIPPED.read_text()


def test_plain_http_redirects_to_https_and_serves_certbots_challenge_folder(site: Site) -> None:
    connection = http.client.HTTPConnection("127.0.0.1", site.http_port, timeout=10)
    connection.request("GET", "/webhooks/rest/webhook?x=1", headers={"Host": CHAT})
    response = connection.getresponse()
    response.read()
    assert response.status == 301
    assert response.getheader("Location") == f"https://{CHAT}/webhooks/rest/webhook?x=1"
    connection.request("GET", "/.well-known/acme-challenge/missing", headers={"Host": CHAT})
    answer = connection.getresponse()
    answer.read()
    assert answer.status == 404  # served from the webroot (empty here), not redirected


def test_the_staff_inbox_answers_on_its_own_name_only_to_its_allow_list(
    site: Site, certificates: CertificateFiles, tmp_path: Path
) -> None:
    response, page, _ = https(site, certificates, "GET", "/login", host=INBOX)
    assert response.status == 200 and b"password" in page.lower()
    assert response.getheader("Strict-Transport-Security") == "max-age=31536000"
    elsewhere = replace(
        site, inbox_allow=("10.8.0.0/24",), https_port=free_port(), http_port=free_port()
    )
    process = start_nginx(tmp_path, elsewhere)
    try:
        response, _, _ = https(elsewhere, certificates, "GET", "/login", host=INBOX)
        assert response.status == 403
    finally:
        stop_processes([process])
    assert re.search(r"deny all;", host_nginx_conf(elsewhere))
