"""Rasa's HTTP API is closed by default, and opened only with a token from the environment."""

import urllib.error
import urllib.request
from pathlib import Path

import pytest

from scripts.serve import free_port, http_api_flags, running_servers


def status(port: int, token: str = "") -> int:
    url = f"http://localhost:{port}/status" + (f"?token={token}" if token else "")
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


def test_the_api_is_off_by_default(servers) -> None:
    assert status(servers.rasa_port) == 404


def test_the_api_needs_a_token_to_be_enabled() -> None:
    assert http_api_flags({}) == []
    with pytest.raises(RuntimeError, match="RASA_API_TOKEN is missing"):
        http_api_flags({"RASA_ENABLE_API": "true"})
    with pytest.raises(RuntimeError, match="shorter than 16"):
        http_api_flags({"RASA_ENABLE_API": "true", "RASA_API_TOKEN": "short"})


def test_an_enabled_api_refuses_requests_without_the_token(model_path: Path, tmp_path: Path) -> None:
    token = "a-long-secret-token-for-tests"
    action_port, rasa_port = free_port(), free_port()
    with running_servers(rasa_port=rasa_port, action_port=action_port, model=model_path,
                         tracker_db=tmp_path / "c.db", log_dir=tmp_path / "logs",
                         extra_env={"RASA_ENABLE_API": "true", "RASA_API_TOKEN": token,
                                    "TRACKER_STORE_URL": f"sqlite:///{tmp_path / 'c.db'}",
                                    "ACTION_ENDPOINT_URL": f"http://localhost:{action_port}/webhook"}):
        assert status(rasa_port) == 401
        assert status(rasa_port, "wrong-token-wrong-token") == 401
        assert status(rasa_port, token) == 200
