"""The clinic page is filled in from the clinic config, as text, and serves only its own files;
slow or many connections cannot keep it from others."""

import json
import re
import socket
import threading
import time
import urllib.error
import urllib.request
from typing import Iterator

import pytest

from clinic.clinic_config import ClinicConfig, load_clinic_config
from scripts.ops.processes import free_port
from scripts.ops.web_page import (
    PageServer,
    build_routes,
    content_security_policy,
    make_server,
    render_page,
)

SOCKET_URL = "http://localhost:5005"


def test_the_page_shows_the_clinics_details() -> None:
    clinic = load_clinic_config()
    page = render_page(clinic, SOCKET_URL)
    assert f"<title>Microneedling at {clinic.name}</title>" in page
    assert clinic.phone in page and clinic.opening_hours in page
    assert f'href="{clinic.booking_url}"' in page


def test_clinic_details_are_written_as_text_even_with_markup_in_them() -> None:
    clinic = ClinicConfig(
        name="Skin & Co </script><script>alert(1)</script>",
        phone="+1 555 0100",
        booking_url="https://example.com/book?a=1&b=2",
        opening_hours="<b>9-5</b>",
        emergency_number="911",
        privacy_url="https://example.com/privacy?a=1&b=2",
        retention_days="30",
    )
    page = render_page(clinic, SOCKET_URL)
    assert "<script>alert(1)" not in page and "<b>9-5</b>" not in page
    assert "Skin &amp; Co &lt;/script&gt;" in page and "&lt;b&gt;9-5&lt;/b&gt;" in page
    settings = re.search(
        r'<script id="chat-settings" type="application/json">(.*?)</script>', page, re.S
    )
    assert json.loads(settings.group(1))["title"] == clinic.name


def test_the_widget_is_configured_for_this_rasa_server() -> None:
    page = render_page(load_clinic_config(), "https://chat.example-clinic.com")
    settings = json.loads(re.search(r'type="application/json">(.*?)</script>', page, re.S).group(1))
    assert settings["socketUrl"] == "https://chat.example-clinic.com"
    assert settings["initPayload"] == "/greet"
    assert settings["storage"] in ("local", "session")


def test_scripts_and_connections_are_limited_to_the_page_and_the_rasa_server() -> None:
    policy = content_security_policy("https://chat.example-clinic.com")
    assert "script-src 'self';" in policy
    assert (
        "connect-src 'self' https://chat.example-clinic.com wss://chat.example-clinic.com;"
        in policy
    )


def test_only_the_pages_own_files_are_served() -> None:
    routes = build_routes(load_clinic_config(), SOCKET_URL)
    assert set(routes) == {
        "/",
        "/index.html",
        "/static/clinic.css",
        "/static/chat.js",
        "/favicon.svg",
        "/vendor/rasa-webchat.js",
    }
    bundle, content_type = routes["/vendor/rasa-webchat.js"]
    assert content_type.startswith("text/javascript") and b"WebChat" in bundle


@pytest.fixture
def page_server(request: pytest.FixtureRequest) -> Iterator[PageServer]:
    """The page server in this process, with the limits a test asks for (max, timeout)."""
    max_connections, request_timeout = request.param
    routes = build_routes(load_clinic_config(), SOCKET_URL)
    server = make_server(
        free_port(), routes, content_security_policy(SOCKET_URL), max_connections, request_timeout
    )
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def connect(server: PageServer) -> socket.socket:
    return socket.create_connection(server.server_address, timeout=15)


def page_status(server: PageServer) -> int:
    host, port = server.server_address
    with urllib.request.urlopen(f"http://{host}:{port}/", timeout=2) as response:
        return response.status


def closed_by_server(client: socket.socket) -> bool:
    """True when the server closed the connection (end of stream or reset) before the
    client's own 15 s timeout."""
    try:
        return client.recv(1024) == b""
    except ConnectionResetError:
        return True
    except socket.timeout:
        return False


@pytest.mark.parametrize("page_server", [(64, 1.0)], indirect=True)
def test_a_connection_that_sends_nothing_is_closed_after_the_timeout(
    page_server: PageServer,
) -> None:
    with connect(page_server) as idle:
        assert closed_by_server(idle)


@pytest.mark.parametrize("page_server", [(64, 1.0)], indirect=True)
def test_a_request_sent_a_byte_at_a_time_is_cut_off_at_the_deadline(
    page_server: PageServer,
) -> None:
    with connect(page_server) as slow:
        cut_off = False
        for byte in b"GET / HTTP/1.1\r\nHost: localhost\r\nX-Padding: " + b"a" * 100:
            try:
                slow.send(bytes([byte]))
            except (BrokenPipeError, ConnectionResetError):
                cut_off = True
                break
            time.sleep(0.2)  # each byte well within the per-read timeout
        assert cut_off or closed_by_server(slow)


@pytest.mark.parametrize("page_server", [(64, 30.0)], indirect=True)
def test_the_page_loads_while_slow_clients_hold_connections_open(page_server: PageServer) -> None:
    slow = [connect(page_server) for _ in range(40)]
    try:
        for client in slow:
            client.sendall(b"GET / HTTP/1.1\r\n")  # and never the rest
        assert page_status(page_server) == 200
    finally:
        for client in slow:
            client.close()


@pytest.mark.parametrize("page_server", [(5, 30.0)], indirect=True)
def test_connections_beyond_the_maximum_are_answered_503_at_once(page_server: PageServer) -> None:
    held = [connect(page_server) for _ in range(5)]
    try:
        with connect(page_server) as extra:
            assert extra.recv(1024).startswith(b"HTTP/1.1 503 ")
    finally:
        for client in held:
            client.close()
    # Connections freed are counted again: the page loads as soon as the slow ones are gone.
    deadline = time.monotonic() + 5
    while True:
        try:
            assert page_status(page_server) == 200
            break
        except urllib.error.HTTPError as error:
            if error.code != 503 or time.monotonic() > deadline:
                raise
            time.sleep(0.1)


@pytest.mark.parametrize("page_server", [(64, 5.0)], indirect=True)
def test_a_visitor_who_leaves_mid_download_leaves_no_traceback(
    page_server: PageServer, capfd: pytest.CaptureFixture
) -> None:
    for _ in range(5):
        client = connect(page_server)
        client.sendall(b"GET /vendor/rasa-webchat.js HTTP/1.1\r\nHost: x\r\n\r\n")
        client.recv(100)  # the reply has started
        # Closed with a reset: the server's next writes of the bundle fail.
        client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
        client.close()
    time.sleep(1.0)
    assert page_status(page_server) == 200
    assert "Traceback" not in capfd.readouterr().err
