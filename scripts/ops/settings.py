"""The settings the scripts read from the environment, with their defaults, in one place:
where the project's files are, the servers' ports and addresses, the conversations database
(TRACKER_STORE_URL, POSTGRESQL_SCHEMA), where browsers reach the assistant (RASA_PUBLIC_URL,
WEB_ORIGIN), the cluster's size, retention and the report; and the environment every server
the scripts start is given.

An empty variable counts as unset (an env file's `RASA_PORT=` keeps the default). Each reader
takes the environment to read (`environ`, else this process's), so tests pass their own.
No import beyond the standard library: staff/database.py reads the database's settings here
from inside the Rasa server.
"""

import os
from pathlib import Path
from typing import Dict, Mapping, Optional

PROJECT_ROOT = Path(__file__).resolve().parents[2]
VAR_DIR = PROJECT_ROOT / "var"
DEFAULT_MODEL = PROJECT_ROOT / "models" / "assistant.tar.gz"
DEFAULT_TRACKER_DB = VAR_DIR / "conversations.db"
DEFAULT_REPORT_OUT = VAR_DIR / "reports" / "report.html"

# Each server's port (`make run`, the systemd units, the host's nginx, a container's fixed one).
DEFAULT_PORTS: Dict[str, int] = {
    "RASA_PORT": 5005,
    "ACTION_PORT": 5055,
    "ALERT_SENDER_PORT": 5056,
    "WEB_PORT": 8080,
    "STAFF_INBOX_PORT": 8090,
    "CLUSTER_PORT": 8000,  # the cluster's nginx
}
DEFAULT_WEB_PORT = DEFAULT_PORTS["WEB_PORT"]
DEFAULT_INBOX_PORT = DEFAULT_PORTS["STAFF_INBOX_PORT"]
# Neither server has a login of its own (the action server runs any action for whoever calls
# it), so they listen on loopback unless RASA_INTERFACE / ACTION_INTERFACE say otherwise.
DEFAULT_INTERFACE = "127.0.0.1"
DEFAULT_REPLICAS = 2
DEFAULT_ACTION_SERVERS = 1
DEFAULT_RETENTION_DAYS = 30
DEFAULT_REPORT_TIMEZONE = "UTC"

# Quiet libraries and no telemetry, in every process we start.
QUIET_ENV = {
    "RASA_TELEMETRY_ENABLED": "false",
    "TF_CPP_MIN_LOG_LEVEL": "3",
    "PYTHONWARNINGS": "ignore",
    "SQLALCHEMY_SILENCE_UBER_WARNING": "1",
}

# One TensorFlow thread per Rasa server: its models are small, and extra threads compete with
# the action server for the CPUs (16 conversations at once: 68 -> 75-80 messages/s on this
# 2-CPU machine). More throughput comes from more replicas (make cluster). Training, which
# `make train` runs without these, keeps TensorFlow's default.
SERVING_TF_THREADS = {
    "TF_INTRA_OP_PARALLELISM_THREADS": "1",
    "TF_INTER_OP_PARALLELISM_THREADS": "1",
}

# Sanic's timeouts (it reads SANIC_* variables into its config), for a server that faces
# clients without a proxy: a request's header must arrive within 10 s of its first byte
# and its answer go out within 60 s (channels/server_limits.py makes them totals); an idle
# connection is closed after 15 s (Rasa's own default is 120 s; channels/server_limits.py
# applies it over Rasa's). The Rasa server's body limit is set in channels/server_limits.py,
# not here: the action server gets whole conversations in its requests.
SANIC_LIMITS = {
    "SANIC_REQUEST_TIMEOUT": "10",
    "SANIC_RESPONSE_TIMEOUT": "60",
    "SANIC_KEEP_ALIVE_TIMEOUT": "15",
}

# endpoints.yml names the Redis settings even when the lock store is in memory.
REDIS_DEFAULTS = {
    "REDIS_HOST": "localhost",
    "REDIS_PORT": "6379",
    "REDIS_PASSWORD": "",
}


def _read(environ: Optional[Mapping[str, str]]) -> Mapping[str, str]:
    return os.environ if environ is None else environ


def configured_port(name: str, environ: Optional[Mapping[str, str]] = None) -> Optional[int]:
    """The port the variable `name` sets, None when it is unset or empty."""
    value = _read(environ).get(name)
    return int(value) if value else None


def port(name: str, environ: Optional[Mapping[str, str]] = None) -> int:
    """The port the variable `name` (a key of DEFAULT_PORTS) sets, else its default."""
    found = configured_port(name, environ)
    return DEFAULT_PORTS[name] if found is None else found


def count(name: str, default: int, environ: Optional[Mapping[str, str]] = None) -> int:
    """A whole number from the environment (REPLICAS, ACTION_SERVERS), else `default`."""
    return int(_read(environ).get(name) or default)


def interface(name: str, environ: Optional[Mapping[str, str]] = None) -> str:
    """The address a server listens on: the variable `name`, else loopback only."""
    return _read(environ).get(name) or DEFAULT_INTERFACE


def tracker_store_url(environ: Optional[Mapping[str, str]] = None) -> str:
    """The database the servers use: TRACKER_STORE_URL, else the default SQLite file."""
    return _read(environ).get("TRACKER_STORE_URL") or f"sqlite:///{DEFAULT_TRACKER_DB}"


def postgresql_schema(environ: Optional[Mapping[str, str]] = None) -> Optional[str]:
    """POSTGRESQL_SCHEMA, where Rasa puts its tables on PostgreSQL; None when unset."""
    return _read(environ).get("POSTGRESQL_SCHEMA") or None


def public_url(environ: Optional[Mapping[str, str]] = None) -> Optional[str]:
    """RASA_PUBLIC_URL: where browsers reach the Rasa server behind a proxy; None when unset."""
    return _read(environ).get("RASA_PUBLIC_URL") or None


def default_web_origin(web_port: int) -> str:
    """WEB_ORIGIN when the environment has none: the clinic page `make run` serves."""
    return f"http://localhost:{web_port}"


def retention_days(environ: Optional[Mapping[str, str]] = None) -> float:
    """RETENTION_DAYS, how long `make prune-conversations` keeps conversations."""
    return float(_read(environ).get("RETENTION_DAYS") or DEFAULT_RETENTION_DAYS)


def report_timezone(environ: Optional[Mapping[str, str]] = None) -> str:
    """REPORT_TIMEZONE, the clinic's time zone for the report's days."""
    return _read(environ).get("REPORT_TIMEZONE") or DEFAULT_REPORT_TIMEZONE


def report_out(environ: Optional[Mapping[str, str]] = None) -> Path:
    """OUT (make's variable), where `make report` writes the page."""
    return Path(_read(environ).get("OUT") or DEFAULT_REPORT_OUT)
