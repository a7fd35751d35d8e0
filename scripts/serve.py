"""Start the action server, the clinic page and the Rasa server, wait until all answer, stop them cleanly.

Used by `make run` and by the integration tests, so both run the servers the same way.
"""

import argparse
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, Iterator, List, Optional

from channels import conversation_ids
from channels.web_origins import parse_allowed_origins
from scripts.private_files import (
    PRIVATE_UMASK, make_private, open_private, private_dir, write_private,
)
from scripts.build_credentials import (
    BUILD_CREDENTIALS, CredentialsError, build_credentials, webhook_name,
)

PROJECT_ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent
DEFAULT_MODEL = PROJECT_ROOT / "models" / "assistant.tar.gz"
VAR_DIR = PROJECT_ROOT / "var"
DEFAULT_TRACKER_DB = VAR_DIR / "conversations.db"
DEFAULT_WEB_PORT = 8080
# Neither server has a login of its own (the action server runs any action for whoever calls
# it), so they listen on loopback unless RASA_INTERFACE / ACTION_INTERFACE say otherwise.
DEFAULT_INTERFACE = "127.0.0.1"

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


def runtime_env(action_port: int, tracker_db: Path, web_port: int) -> Dict[str, str]:
    """Environment for the servers: the caller's variables win over these defaults."""
    defaults = {
        # The only website allowed to use the chat socket and call the Rasa server.
        "WEB_ORIGIN": f"http://localhost:{web_port}",
        # An address, not "localhost": Rasa opens a connection per action call, and
        # aiohttp would look the name up in a thread each time (0.3 ms of 0.9 ms a call).
        "ACTION_ENDPOINT_URL":
            f"http://{connect_host(os.environ.get('ACTION_INTERFACE'))}:{action_port}/webhook",
        "TRACKER_STORE_URL": f"sqlite:///{tracker_db}",
        "LOCK_STORE_TYPE": "in_memory",
        "REDIS_HOST": "localhost",
        "REDIS_PORT": "6379",
        "REDIS_PASSWORD": "",
        **SERVING_TF_THREADS,
        **SANIC_LIMITS,
    }
    env = {**defaults, **os.environ, **QUIET_ENV}
    env.setdefault("LOG_ID_SALT", log_id_salt())
    env.setdefault(conversation_ids.SECRET_VARIABLE, conversation_id_secret())
    env["PYTHONPATH"] = str(PROJECT_ROOT)
    return env


def installation_secret(path: Path, nbytes: int = 16) -> str:
    """A random secret of this installation, made once and kept in `path` (owner-only)."""
    private_dir(path.parent)
    if not path.exists():
        write_private(path, secrets.token_hex(nbytes))
    make_private([path])
    return path.read_text().strip()


def log_id_salt(path: Path = VAR_DIR / "log_id_salt") -> str:
    """This installation's salt for hashed conversation ids in logs (actions/log_privacy.py)."""
    return installation_secret(path)


def conversation_id_secret(path: Path = VAR_DIR / "conversation_id_secret") -> str:
    """This installation's key for the public channels' conversation ids
    (channels/conversation_ids.py); every Rasa server of one installation shares it."""
    return installation_secret(path, nbytes=32)


def free_port() -> int:
    """A TCP port nothing listens on right now (for tests that start their own servers)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def http_api_flags(env: Dict[str, str]) -> List[str]:
    """Rasa's HTTP API (read or overwrite any conversation) stays off unless
    RASA_ENABLE_API=true, and then only with RASA_API_TOKEN."""
    if env.get("RASA_ENABLE_API", "").lower() not in ("1", "true", "yes"):
        return []
    token = env.get("RASA_API_TOKEN", "")
    if len(token) < 16:
        raise RuntimeError("RASA_ENABLE_API is set but RASA_API_TOKEN is missing or shorter than "
                           "16 characters; the HTTP API is never opened without a token.")
    # The token itself reaches Rasa through the environment (scripts/rasa_server.py), never
    # the command line, which every user of the machine can read.
    return ["--enable-api"]


def interface(env: Dict[str, str], name: str) -> str:
    """The address a server listens on: `env[name]`, else loopback only."""
    return env.get(name) or DEFAULT_INTERFACE


def connect_host(bind: Optional[str]) -> str:
    """The host (for a URL) where this machine reaches a server listening on `bind`."""
    bind = bind or DEFAULT_INTERFACE
    if bind in ("0.0.0.0", "::"):
        return DEFAULT_INTERFACE
    return f"[{bind}]" if ":" in bind else bind


def cors_flags(env: Dict[str, str]) -> List[str]:
    """CORS for the page's origin only (WEB_ORIGIN), never `*`."""
    try:
        return ["--cors", *parse_allowed_origins(env.get("WEB_ORIGIN"))]
    except ValueError as problem:
        raise RuntimeError(f"WEB_ORIGIN: {problem}") from None


@dataclass
class Servers:
    """The running processes (action server, clinic page, Rasa server) and where to reach them."""

    rasa_port: int
    action_port: int
    log_dir: Path
    env: Dict[str, str]
    model: Path
    web_port: int
    credentials: Path = BUILD_CREDENTIALS
    channels: List[str] = field(default_factory=list)
    # Several servers share one log folder in a cluster (scripts/cluster.py).
    rasa_log_name: str = "rasa.log"
    action_log_name: str = "actions.log"
    action_server: Optional[subprocess.Popen] = None
    web_page: Optional[subprocess.Popen] = None
    rasa_server: Optional[subprocess.Popen] = None

    @property
    def processes(self) -> List[subprocess.Popen]:
        return [p for p in (self.action_server, self.web_page, self.rasa_server) if p is not None]

    def _local_url(self, name: str, port: int) -> str:
        """http://localhost:port, or the address the server was told to listen on."""
        host = connect_host(interface(self.env, name))
        return f"http://{'localhost' if host == DEFAULT_INTERFACE else host}:{port}"

    @property
    def rasa_url(self) -> str:
        return self._local_url("RASA_INTERFACE", self.rasa_port)

    @property
    def action_url(self) -> str:
        return self._local_url("ACTION_INTERFACE", self.action_port)

    @property
    def rest_url(self) -> str:
        return f"{self.rasa_url}/webhooks/rest/webhook"

    @property
    def page_url(self) -> str:
        return f"http://localhost:{self.web_port}/"

    @property
    def socket_url(self) -> str:
        """Where browsers reach the Rasa server: RASA_PUBLIC_URL behind a proxy, else this host."""
        return self.env.get("RASA_PUBLIC_URL") or self.rasa_url
    def webhook_url(self, channel: str) -> str:
        """Where a channel's provider posts messages, e.g. webhook_url("twilio")."""
        return f"{self.rasa_url}/webhooks/{channel}/webhook"

    def restart_rasa_server(self) -> None:
        """Stop the Rasa server and start a new one (the action server keeps running)."""
        stop_processes([self.rasa_server])
        start_rasa_server(self)

    def stop_action_server(self) -> None:
        """Stop the action server alone (the Rasa server keeps running)."""
        stop_processes([self.action_server])
        self.action_server = None


def _wait_until_up(url: str, process: subprocess.Popen, log: Path, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{url} exited with code {process.returncode}; see {log}:\n{_tail(log)}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.5)
    raise RuntimeError(f"{url} did not answer within {timeout:.0f}s; see {log}:\n{_tail(log)}")


def _tail(log: Path, lines: int = 30) -> str:
    try:
        return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])
    except FileNotFoundError:
        return "(no log)"


def stop_processes(processes: List[subprocess.Popen]) -> None:
    """SIGTERM each, wait up to 15 s, then kill (also used by the benchmark)."""
    for process in processes:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
    for process in processes:
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def start_action_server(servers: Servers) -> subprocess.Popen:
    """Start the action server and wait until its health check answers."""
    log = servers.log_dir / servers.action_log_name
    # rasa_sdk has no interface option; its endpoint reads SANIC_HOST.
    env = {**servers.env, "SANIC_HOST": interface(servers.env, "ACTION_INTERFACE")}
    process = subprocess.Popen(
        [str(VENV_BIN / "python"), "-m", "rasa_sdk", "--actions", "actions",
         "--port", str(servers.action_port)],
        cwd=PROJECT_ROOT, env=env, stdout=open_private(log), stderr=subprocess.STDOUT,
        start_new_session=True, umask=PRIVATE_UMASK,
    )
    servers.action_server = process
    _wait_until_up(f"{servers.action_url}/health", process, log, 60)
    return process


def start_web_page(servers: Servers) -> subprocess.Popen:
    """Serve the clinic page with the chat widget and wait until it answers."""
    log = servers.log_dir / "web.log"
    process = subprocess.Popen(
        [str(VENV_BIN / "python"), "-m", "scripts.web_page", "--port", str(servers.web_port),
         "--socket-url", servers.socket_url],
        cwd=PROJECT_ROOT, env=servers.env, stdout=open_private(log), stderr=subprocess.STDOUT,
        start_new_session=True, umask=PRIVATE_UMASK,
    )
    servers.web_page = process
    _wait_until_up(servers.page_url, process, log, 30)
    return process


def start_rasa_server(servers: Servers) -> subprocess.Popen:
    """Start the Rasa server with the channels in `servers.credentials`; wait until it answers."""
    log = servers.log_dir / servers.rasa_log_name
    process = subprocess.Popen(
        [str(VENV_BIN / "python"), "-m", "scripts.rasa_server", "--model", str(servers.model),
         "--interface", interface(servers.env, "RASA_INTERFACE"),
         "--port", str(servers.rasa_port), "--endpoints", "endpoints.yml",
         "--credentials", str(servers.credentials), *cors_flags(servers.env),
         *http_api_flags(servers.env)],
        cwd=PROJECT_ROOT, env=servers.env, stdout=open_private(log), stderr=subprocess.STDOUT,
        start_new_session=True, umask=PRIVATE_UMASK,
    )
    servers.rasa_server = process
    _wait_until_up(f"{servers.rasa_url}/webhooks/rest/", process, log, 180)
    return process


@contextmanager
def running_servers(
    rasa_port: int = 5005,
    action_port: int = 5055,
    model: Path = DEFAULT_MODEL,
    tracker_db: Path = DEFAULT_TRACKER_DB,
    log_dir: Path = VAR_DIR / "logs",
    extra_env: Optional[Dict[str, str]] = None,
    web_port: Optional[int] = None,
    credentials: Path = BUILD_CREDENTIALS,
) -> Iterator[Servers]:
    """Run the servers for the duration of the block, then stop them.

    The page gets a free port unless one is given, so tests never collide with `make run`.
    `extra_env` overrides the environment of the servers (e.g. a channel's variables); the
    credentials file for those variables is written to `credentials`.
    """
    private_dir(log_dir)
    private_dir(tracker_db.parent)
    web_port = web_port or free_port()
    env = {**runtime_env(action_port, tracker_db, web_port), **(extra_env or {})}
    make_private([*log_dir.glob("*.log"), *sqlite_files(env["TRACKER_STORE_URL"])])
    servers = Servers(rasa_port, action_port, log_dir, env, model, web_port, credentials)
    servers.channels = build_credentials(env, credentials)
    try:
        start_action_server(servers)
        start_web_page(servers)
        start_rasa_server(servers)
        yield servers
    finally:
        stop_processes(servers.processes)


def sqlite_files(tracker_store_url: str) -> List[Path]:
    """The database file of a SQLite tracker store and SQLite's -wal and -shm beside it."""
    if not tracker_store_url.startswith("sqlite:///"):
        return []
    # Relative to where the Rasa server runs, like Rasa reads it.
    database = PROJECT_ROOT / tracker_store_url.removeprefix("sqlite:///")
    return [database, *(database.with_name(database.name + suffix) for suffix in ("-wal", "-shm"))]


def channel_path(name: str) -> str:
    """Where a channel listens: Socket.IO on its own path, the others on their webhook."""
    return "/socket.io/" if name == "socketio" else f"/webhooks/{name}/webhook"


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def main() -> None:
    # Ctrl-C and a plain `kill` both stop the servers, even when started in the background.
    signal.signal(signal.SIGINT, _interrupt)
    signal.signal(signal.SIGTERM, _interrupt)
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rasa-port", type=int, default=int(os.environ.get("RASA_PORT", 5005)))
    parser.add_argument("--action-port", type=int, default=int(os.environ.get("ACTION_PORT", 5055)))
    parser.add_argument("--web-port", type=int,
                        default=int(os.environ.get("WEB_PORT", DEFAULT_WEB_PORT)))
    parser.add_argument("--model", type=Path, default=DEFAULT_MODEL)
    args = parser.parse_args()

    started = time.monotonic()
    print("Starting the action server, the clinic page and the Rasa server (logs in var/logs/) ...",
          flush=True)
    try:
        with running_servers(args.rasa_port, args.action_port, args.model,
                             web_port=args.web_port) as servers:
            channels = ", ".join(f"{webhook_name(c)} ({channel_path(webhook_name(c))})"
                                 for c in servers.channels)
            print(
                f"\nThe assistant is up after {time.monotonic() - started:.1f}s.\n"
                f"  Clinic page with the chat:    {servers.page_url}   (open it in a browser)\n"
                f"                                chat allowed from {servers.env['WEB_ORIGIN']} only\n"
                f"  Talk to it in this terminal:  make shell   (in a second terminal)\n"
                f"  REST channel:                 POST {servers.rest_url}\n"
                f'                                body {{"sender": "me", "message": "does it hurt?"}}\n'
                f"  Action server:                {servers.action_url}/health\n"
                f"  Channels on:                  {channels}\n"
                f"Press Ctrl-C to stop the servers.",
                flush=True,
            )
            while all(p.poll() is None for p in servers.processes):
                time.sleep(1)
            sys.exit("A server stopped unexpectedly; see var/logs/.")
    except KeyboardInterrupt:
        print("\nStopped the servers.")
    except (RuntimeError, CredentialsError) as error:
        sys.exit(f"Could not start the assistant: {error}")


if __name__ == "__main__":
    main()
