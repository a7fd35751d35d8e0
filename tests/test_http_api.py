"""Rasa's HTTP API is closed by default, and opened only with a token from the environment,
sent in the Authorization header: never on a command line or in a URL."""

import json
import urllib.error
import urllib.request
from pathlib import Path
from typing import Dict, Optional, Tuple

import pytest

from scripts.ops.rasa_server import header_token
from scripts.ops.processes import free_port
from scripts.ops.serve import http_api_flags, running_servers


def status(
    port: int, query_token: str = "", authorization: Optional[str] = None
) -> Tuple[int, Dict]:
    """The status code and JSON body of GET /status."""
    url = f"http://localhost:{port}/status" + (f"?token={query_token}" if query_token else "")
    headers = {"Authorization": authorization} if authorization else {}
    try:
        with urllib.request.urlopen(
            urllib.request.Request(url, headers=headers), timeout=10
        ) as response:
            return response.status, json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as error:
        body = error.read()
        try:
            return error.code, json.loads(body)
        except ValueError:
            return error.code, {}


def test_the_api_is_off_by_default(servers) -> None:
    assert status(servers.rasa_port)[0] == 404


def test_the_api_needs_a_token_to_be_enabled() -> None:
    assert http_api_flags({}) == []
    with pytest.raises(RuntimeError, match="RASA_API_TOKEN is missing"):
        http_api_flags({"RASA_ENABLE_API": "true"})
    with pytest.raises(RuntimeError, match="shorter than 16"):
        http_api_flags({"RASA_ENABLE_API": "true", "RASA_API_TOKEN": "short"})


@pytest.mark.parametrize(
    "header, token",
    [
        ("Bearer abc-123", "abc-123"),
        ("bearer  abc-123 ", "abc-123"),
        ("Token abc-123", "abc-123"),
        ("Basic abc-123", None),
        ("Bearer", None),
        ("abc-123", None),
        (None, None),
    ],
)
def test_the_token_is_read_from_a_bearer_or_token_header(
    header: Optional[str], token: Optional[str]
) -> None:
    assert header_token(header) == token


def test_an_enabled_api_takes_the_token_from_the_environment_and_a_header_only(
    model_path: Path, tmp_path: Path
) -> None:
    token = "a-long-secret-token-for-tests"
    action_port, rasa_port = free_port(), free_port()
    with running_servers(
        rasa_port=rasa_port,
        action_port=action_port,
        model=model_path,
        tracker_db=tmp_path / "c.db",
        log_dir=tmp_path / "logs",
        credentials=tmp_path / "credentials.yml",
        extra_env={
            "RASA_ENABLE_API": "true",
            "RASA_API_TOKEN": token,
            "TRACKER_STORE_URL": f"sqlite:///{tmp_path / 'c.db'}",
            "ACTION_ENDPOINT_URL": f"http://localhost:{action_port}/webhook",
        },
    ) as running:
        # /proc/PID/cmdline is what `ps` shows to every user of the machine.
        for process in running.processes:
            assert token.encode() not in Path(f"/proc/{process.pid}/cmdline").read_bytes()
        assert status(rasa_port)[0] == 401
        assert status(rasa_port, authorization="Bearer wrong-token-wrong-token")[0] == 401
        assert status(rasa_port, authorization=f"Bearer {token}")[0] == 200
        assert status(rasa_port, authorization=f"Token {token}")[0] == 200
        # A token in the URL ends up in proxy logs: refused even when right, saying why.
        code, body = status(rasa_port, query_token=token)
        assert code == 401 and "Authorization: Bearer" in body["message"]
        assert status(rasa_port, query_token=token, authorization=f"Bearer {token}")[0] == 401
