"""The one process a container of deploy/ runs, started the way scripts/ops/serve.py starts it.

    python -m scripts.ops.container rasa|actions|alerts|inbox
    python -m scripts.ops.container health     (the image's HEALTHCHECK)

The image (deploy/docker/Dockerfile) runs this as its entry point; Compose and the Helm
chart choose the role. The clinic page has an image of its own (deploy/docker/page.Dockerfile),
without these servers' packages; its port and health path are listed here all the same. Unlike `make run`, nothing is generated here: the secrets every
replica must share (CONVERSATION_ID_SECRET, LOG_ID_SALT) come from the environment, and
a missing one stops the container with its name instead of giving each replica its own.
"""

import os
import sys
import urllib.error
import urllib.request
from pathlib import Path
from typing import Dict, List, Mapping

from channels import conversation_ids
from scripts.ops.build_credentials import BUILD_CREDENTIALS, CredentialsError, build_credentials
from scripts.ops.serve import cors_flags, http_api_flags
from scripts.ops.settings import (
    DEFAULT_MODEL,
    DEFAULT_PORTS,
    PROJECT_ROOT,
    QUIET_ENV,
    REDIS_DEFAULTS,
    SANIC_LIMITS,
    SERVING_TF_THREADS,
)

# Inside a container every server listens on all its addresses: the container's network
# (Compose's, a pod's) is what keeps it private.
ALL_ADDRESSES = "0.0.0.0"
# Fixed inside the image: the default ports, whatever the environment says.
PORTS = {
    role: DEFAULT_PORTS[variable]
    for role, variable in (
        ("rasa", "RASA_PORT"),
        ("actions", "ACTION_PORT"),
        ("alerts", "ALERT_SENDER_PORT"),
        ("inbox", "STAFF_INBOX_PORT"),
        ("page", "WEB_PORT"),
    )
}
# What each role cannot start without (the rest have the defaults of endpoints.yml's comments).
REQUIRED = {
    "rasa": (
        "TRACKER_STORE_URL",
        "LOCK_STORE_TYPE",
        "ACTION_ENDPOINT_URL",
        "WEB_ORIGIN",
        conversation_ids.SECRET_VARIABLE,
        "LOG_ID_SALT",
    ),
    "actions": ("LOG_ID_SALT",),
    "alerts": ("TRACKER_STORE_URL",),
    "inbox": ("TRACKER_STORE_URL",),
}
# Each server's health path and the answers that mean it is up. The alert sender answers 503
# while alerts keep failing (an SMTP server down): it is alive, and restarting it would not help.
HEALTH = {
    "rasa": ("/webhooks/rest/", (200,)),
    "actions": ("/health", (200,)),
    "alerts": ("/health", (200, 503)),
    "inbox": ("/login", (200,)),
    "page": ("/", (200,)),
}
BUILD_ENDPOINTS = PROJECT_ROOT / "build" / "endpoints.yml"
DEFAULT_PULL_SECONDS = 60


class ContainerError(ValueError):
    """The container's environment is incomplete or wrong."""


def container_env(env: Mapping[str, str]) -> Dict[str, str]:
    """The environment of the process: serve.py's defaults under the container's own."""
    # endpoints.yml names the Redis settings even when the lock is in memory: defaults.
    return {
        **SERVING_TF_THREADS,
        **SANIC_LIMITS,
        **REDIS_DEFAULTS,
        **env,
        **QUIET_ENV,
        "PYTHONPATH": str(PROJECT_ROOT),
    }


def models_section(env: Mapping[str, str]) -> str:
    """endpoints.yml's `models:` for MODEL_SERVER_URL: every replica pulls the one model from
    there and polls it (Rasa sends If-None-Match, so an unchanged model is not downloaded)."""
    url = env.get("MODEL_SERVER_URL")
    if not url:
        return ""
    raw = env.get("MODEL_PULL_SECONDS") or str(DEFAULT_PULL_SECONDS)
    if not raw.isdigit() or int(raw) < 1:
        raise ContainerError(f"MODEL_PULL_SECONDS must be a whole number of seconds, not {raw!r}")
    # The URL stays a ${VAR}: Rasa reads it from the environment, as it does every endpoint.
    return (
        "\n# From MODEL_SERVER_URL (scripts/ops/container.py): one model for every replica.\n"
        f"models:\n  url: ${{MODEL_SERVER_URL}}\n  wait_time_between_pulls: {int(raw)}\n"
    )


def write_endpoints(env: Mapping[str, str], out: Path = BUILD_ENDPOINTS) -> Path:
    """endpoints.yml, plus the model server when one is set."""
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(
        (PROJECT_ROOT / "endpoints.yml").read_text(encoding="utf-8") + models_section(env),
        encoding="utf-8",
    )
    return out


def command(role: str, env: Mapping[str, str], model: Path = DEFAULT_MODEL) -> List[str]:
    """The command line of `role`; raises ContainerError when its environment is incomplete."""
    if role not in REQUIRED:
        raise ContainerError(f"unknown role {role!r}: one of {', '.join(REQUIRED)}")
    missing = [name for name in REQUIRED[role] if not env.get(name)]
    if missing:
        raise ContainerError(f"the {role} container needs {', '.join(missing)} in its environment")
    python = sys.executable
    port = str(PORTS[role])
    if role == "rasa":
        # Rasa would start without a model and answer its health check, but no patient.
        if not env.get("MODEL_SERVER_URL") and not model.is_file():
            raise ContainerError(f"no model: mount it at {model} or set MODEL_SERVER_URL")
        try:
            return [
                python,
                "-m",
                "scripts.ops.rasa_server",
                "--model",
                str(model),
                "--interface",
                ALL_ADDRESSES,
                "--port",
                port,
                "--endpoints",
                str(BUILD_ENDPOINTS),
                "--credentials",
                str(BUILD_CREDENTIALS),
                *cors_flags(dict(env)),
                *http_api_flags(dict(env)),
            ]
        except RuntimeError as problem:
            raise ContainerError(str(problem)) from None
    if role == "actions":
        return [python, "-m", "rasa_sdk", "--actions", "actions", "--port", port]
    if role == "alerts":
        return [python, "-m", "staff.alert_sender", "--port", port, "--interface", ALL_ADDRESSES]
    return [python, "-m", "staff.inbox", "--port", port, "--interface", ALL_ADDRESSES]


def healthy(timeout: float = 5) -> bool:
    """Whether the server of this container answers its health path: one image runs every
    role, so the check asks each role's port and judges the one that listens."""
    for role, (path, up) in HEALTH.items():
        try:
            with urllib.request.urlopen(
                f"http://127.0.0.1:{PORTS[role]}{path}", timeout=timeout
            ) as response:
                return response.status in up
        except urllib.error.HTTPError as error:
            return error.code in up
        except (urllib.error.URLError, OSError):
            continue  # nothing listens there: another role
    return False


def main(argv: List[str]) -> None:
    if len(argv) != 1:
        sys.exit(__doc__)
    role = argv[0]
    if role == "health":
        sys.exit(0 if healthy() else 1)
    # rasa_sdk has no interface option; its endpoint reads SANIC_HOST.
    env = container_env({**os.environ, "SANIC_HOST": ALL_ADDRESSES})
    try:
        argv_of_role = command(role, env)
        if role == "rasa":
            write_endpoints(env)
            build_credentials(env, BUILD_CREDENTIALS)
    except (ContainerError, CredentialsError) as problem:
        sys.exit(f"Cannot start: {problem}")
    os.chdir(PROJECT_ROOT)
    os.execve(argv_of_role[0], argv_of_role, env)


if __name__ == "__main__":
    main(sys.argv[1:])
