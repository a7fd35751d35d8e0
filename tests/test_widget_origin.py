"""Only the clinic page's origin may use the chat socket and call the Rasa server."""

import http.client
import urllib.error
import urllib.request
from typing import List, Optional, Tuple

import pytest

from channels.socketio import check_session_persistence_works
from channels.web_origins import parse_allowed_origins
from scripts.ops.serve import Servers

OTHER_SITE = "http://evil.example"


@pytest.mark.parametrize(
    "value, origins",
    [
        ("http://localhost:8080", ["http://localhost:8080"]),
        (
            "https://www.example-clinic.com, https://example-clinic.com",
            ["https://www.example-clinic.com", "https://example-clinic.com"],
        ),
        (["https://www.example-clinic.com"], ["https://www.example-clinic.com"]),
    ],
)
def test_allowed_origins_are_read_from_the_setting(value: object, origins: List[str]) -> None:
    assert parse_allowed_origins(value) == origins


@pytest.mark.parametrize(
    "value",
    [
        None,
        "",
        "*",
        "https://*.example-clinic.com",
        "www.example-clinic.com",
        "https://www.example-clinic.com/",
        "https://www.example-clinic.com/chat",
        "ftp://example.com",
    ],
)
def test_an_allowed_origin_must_be_one_exact_site(value: Optional[str]) -> None:
    with pytest.raises(ValueError, match="origin"):
        parse_allowed_origins(value)


def test_session_persistence_is_refused_with_a_python_socketio_that_breaks_it() -> None:
    check_session_persistence_works(True, "5.9.0")
    check_session_persistence_works(False, "5.18.1")
    with pytest.raises(RuntimeError, match="python-socketio < 5.10"):
        check_session_persistence_works(True, "5.10.0")


def page_origin(servers: Servers) -> str:
    return servers.page_url.rstrip("/")


def get(url: str, origin: str, method: str = "GET") -> Tuple[int, List[str]]:
    """Status and Access-Control-Allow-Origin headers of a request sent from `origin`."""
    headers = {"Origin": origin, "Access-Control-Request-Method": "POST"}
    request = urllib.request.Request(url, headers=headers, method=method)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.headers.get_all("Access-Control-Allow-Origin") or []
    except urllib.error.HTTPError as error:
        return error.code, error.headers.get_all("Access-Control-Allow-Origin") or []


def websocket_upgrade_status(servers: Servers, origin: str) -> int:
    """Status of a WebSocket handshake on the chat socket (browsers send Origin but skip CORS)."""
    connection = http.client.HTTPConnection("localhost", servers.rasa_port, timeout=10)
    try:
        connection.request(
            "GET",
            "/socket.io/?EIO=4&transport=websocket",
            headers={
                "Origin": origin,
                "Upgrade": "websocket",
                "Connection": "Upgrade",
                "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==",
                "Sec-WebSocket-Version": "13",
            },
        )
        return connection.getresponse().status
    finally:
        connection.close()


def test_the_clinic_page_may_open_the_chat_socket(servers: Servers) -> None:
    status, allowed = get(
        f"{servers.socket_url}/socket.io/?EIO=4&transport=polling", page_origin(servers)
    )
    assert status == 200
    # Exactly one header: browsers reject a response that names the origin twice.
    assert allowed == [page_origin(servers)]
    assert websocket_upgrade_status(servers, page_origin(servers)) == 101


def test_another_website_cannot_open_the_chat_socket(servers: Servers) -> None:
    status, allowed = get(f"{servers.socket_url}/socket.io/?EIO=4&transport=polling", OTHER_SITE)
    assert status == 400
    assert allowed == []
    assert websocket_upgrade_status(servers, OTHER_SITE) == 400


def test_the_rasa_server_allows_cross_origin_calls_from_the_clinic_page_only(
    servers: Servers,
) -> None:
    rest = servers.rest_url
    assert get(rest, page_origin(servers), method="OPTIONS")[1] == [page_origin(servers)]
    assert get(rest, OTHER_SITE, method="OPTIONS")[1] == []
