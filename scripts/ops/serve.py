"""Start the action server, the clinic page, the Rasa server and the alert sender, wait until all answer, stop them cleanly.

Used by `make run` and by the integration tests, so both run the servers the same way; the
systemd units run one process each with the same command (`process_command`, through
scripts/ops/serve_one.py).
"""

import argparse
import os
import secrets
import signal
import subprocess
import sys
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, Iterator, List, Mapping, Optional

from channels import conversation_ids
from channels.web_origins import parse_allowed_origins
from scripts.ops.private_files import make_private, private_dir, write_private
from scripts.ops.processes import free_port, start_process, stop_processes, wait_until_up
from scripts.ops import settings

# The paths and defaults are settings.py's; the launcher's callers (and tests) read them here too.
from scripts.ops.settings import (  # noqa: F401
    DEFAULT_INBOX_PORT,
    DEFAULT_INTERFACE,
    DEFAULT_MODEL,
    DEFAULT_TRACKER_DB,
    DEFAULT_WEB_PORT,
    PROJECT_ROOT,
    QUIET_ENV,
    REDIS_DEFAULTS,
    SANIC_LIMITS,
    SERVING_TF_THREADS,
    VAR_DIR,
    configured_port,
    default_web_origin,
    public_url,
)
from scripts.ops.build_credentials import (
    BUILD_CREDENTIALS,
    CredentialsError,
    build_credentials,
    webhook_name,
)
from staff.alert_config import AlertConfigError, load_alert_config, settings_summary

VENV_BIN = Path(sys.executable).parent


def runtime_env(
    action_port: int, tracker_db: Path, web_port: int, environ: Optional[Mapping[str, str]] = None
) -> Dict[str, str]:
    """Environment for the servers: the caller's variables (`environ`, else this process's)
    win over these defaults."""
    environ = os.environ if environ is None else environ
    defaults = {
        # The only website allowed to use the chat socket and call the Rasa server.
        "WEB_ORIGIN": default_web_origin(web_port),
        # An address, not "localhost": Rasa opens a connection per action call, and
        # aiohttp would look the name up in a thread each time (0.3 ms of 0.9 ms a call).
        "ACTION_ENDPOINT_URL": f"http://{connect_host(environ.get('ACTION_INTERFACE'))}:{action_port}/webhook",
        "TRACKER_STORE_URL": f"sqlite:///{tracker_db}",
        "LOCK_STORE_TYPE": "in_memory",
        **REDIS_DEFAULTS,
        **SERVING_TF_THREADS,
        **SANIC_LIMITS,
    }
    env = {**defaults, **environ, **QUIET_ENV}
    # Made in var/ only when the environment has none (a host's env file holds them).
    if not env.get("LOG_ID_SALT"):
        env["LOG_ID_SALT"] = log_id_salt()
    if not env.get(conversation_ids.SECRET_VARIABLE):
        env[conversation_ids.SECRET_VARIABLE] = conversation_id_secret()
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
    """This installation's salt for hashed conversation ids in logs (clinic/log_privacy.py)."""
    return installation_secret(path)


def conversation_id_secret(path: Path = VAR_DIR / "conversation_id_secret") -> str:
    """This installation's key for the public channels' conversation ids
    (channels/conversation_ids.py); every Rasa server of one installation shares it."""
    return installation_secret(path, nbytes=32)


def http_api_flags(env: Dict[str, str]) -> List[str]:
    """Rasa's HTTP API (read or overwrite any conversation) stays off unless
    RASA_ENABLE_API=true, and then only with RASA_API_TOKEN."""
    if env.get("RASA_ENABLE_API", "").lower() not in ("1", "true", "yes"):
        return []
    token = env.get("RASA_API_TOKEN", "")
    if len(token) < 16:
        raise RuntimeError(
            "RASA_ENABLE_API is set but RASA_API_TOKEN is missing or shorter than "
            "16 characters; the HTTP API is never opened without a token."
        )
    # The token itself reaches Rasa through the environment (scripts/ops/rasa_server.py), never
    # the command line, which every user of the machine can read.
    return ["--enable-api"]


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
    # Several servers share one log folder in a cluster (scripts/ops/cluster.py).
    rasa_log_name: str = "rasa.log"
    action_log_name: str = "actions.log"
    alert_log_name: str = "alerts.log"
    action_server: Optional[subprocess.Popen] = None
    web_page: Optional[subprocess.Popen] = None
    rasa_server: Optional[subprocess.Popen] = None
    alert_sender: Optional[subprocess.Popen] = None
    alert_sender_port: int = 0  # its health endpoint (on loopback); 0: a free one
    inbox_port: int = DEFAULT_INBOX_PORT
    staff_inbox: Optional[subprocess.Popen] = None

    @property
    def processes(self) -> List[subprocess.Popen]:
        return [
            p
            for p in (
                self.action_server,
                self.web_page,
                self.rasa_server,
                self.alert_sender,
                self.staff_inbox,
            )
            if p is not None
        ]

    def _local_url(self, name: str, port: int) -> str:
        """http://localhost:port, or the address the server was told to listen on."""
        host = connect_host(settings.interface(name, self.env))
        return f"http://{'localhost' if host == DEFAULT_INTERFACE else host}:{port}"

    @property
    def rasa_url(self) -> str:
        return self._local_url("RASA_INTERFACE", self.rasa_port)

    @property
    def action_url(self) -> str:
        return self._local_url("ACTION_INTERFACE", self.action_port)

    @property
    def alert_sender_health_url(self) -> str:
        return f"http://localhost:{self.alert_sender_port}/health"

    @property
    def rest_url(self) -> str:
        return f"{self.rasa_url}/webhooks/rest/webhook"

    @property
    def page_url(self) -> str:
        return f"http://localhost:{self.web_port}/"

    @property
    def inbox_url(self) -> str:
        return f"{self._local_url('STAFF_INBOX_INTERFACE', self.inbox_port)}/"

    @property
    def socket_url(self) -> str:
        """Where browsers reach the Rasa server: RASA_PUBLIC_URL behind a proxy, else this host."""
        return public_url(self.env) or self.rasa_url

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


# The processes by the names `python -m scripts.ops.serve_one NAME` and the systemd units use
# (deploy/systemd/clinic-assistant-NAME.service), with the log file each writes.
PROCESS_LOGS = {
    "actions": "actions.log",
    "page": "web.log",
    "rasa": "rasa.log",
    "alerts": "alerts.log",
    "inbox": "inbox.log",
}


def process_command(name: str, servers: Servers) -> List[str]:
    """The command line of one process: `make run` and the systemd units both start this."""
    python = str(VENV_BIN / "python")
    if name == "actions":
        return [
            python,
            "-m",
            "rasa_sdk",
            "--actions",
            "actions",
            "--port",
            str(servers.action_port),
        ]
    if name == "page":
        return [
            python,
            "-m",
            "scripts.ops.web_page",
            "--port",
            str(servers.web_port),
            "--socket-url",
            servers.socket_url,
        ]
    if name == "rasa":
        return [
            python,
            "-m",
            "scripts.ops.rasa_server",
            "--model",
            str(servers.model),
            "--interface",
            settings.interface("RASA_INTERFACE", servers.env),
            "--port",
            str(servers.rasa_port),
            "--endpoints",
            "endpoints.yml",
            "--credentials",
            str(servers.credentials),
            *cors_flags(servers.env),
            *http_api_flags(servers.env),
        ]
    if name == "alerts":
        return [python, "-m", "staff.alert_sender", "--port", str(servers.alert_sender_port)]
    if name == "inbox":
        return [
            python,
            "-m",
            "staff.inbox",
            "--port",
            str(servers.inbox_port),
            "--interface",
            settings.interface("STAFF_INBOX_INTERFACE", servers.env),
        ]
    raise ValueError(f"no process named {name!r} (one of {', '.join(PROCESS_LOGS)})")


def process_env(name: str, servers: Servers) -> Dict[str, str]:
    """The environment of one process."""
    if name == "actions":
        # rasa_sdk has no interface option; its endpoint reads SANIC_HOST.
        return {**servers.env, "SANIC_HOST": settings.interface("ACTION_INTERFACE", servers.env)}
    return servers.env


def _start(name: str, servers: Servers, log: Path) -> subprocess.Popen:
    return start_process(
        process_command(name, servers), log, cwd=PROJECT_ROOT, env=process_env(name, servers)
    )


def start_action_server(servers: Servers) -> subprocess.Popen:
    """Start the action server and wait until its health check answers."""
    log = servers.log_dir / servers.action_log_name
    process = _start("actions", servers, log)
    servers.action_server = process
    wait_until_up(f"{servers.action_url}/health", process, log, 60)
    return process


def start_web_page(servers: Servers) -> subprocess.Popen:
    """Serve the clinic page with the chat widget and wait until it answers."""
    log = servers.log_dir / PROCESS_LOGS["page"]
    process = _start("page", servers, log)
    servers.web_page = process
    wait_until_up(servers.page_url, process, log, 30)
    return process


def start_rasa_server(servers: Servers) -> subprocess.Popen:
    """Start the Rasa server with the channels in `servers.credentials`; wait until it answers."""
    log = servers.log_dir / servers.rasa_log_name
    process = _start("rasa", servers, log)
    servers.rasa_server = process
    wait_until_up(f"{servers.rasa_url}/webhooks/rest/", process, log, 180)
    return process


def start_alert_sender(servers: Servers) -> subprocess.Popen:
    """Start the staff alert sender (staff/alert_sender.py) and wait until its health answers:
    503 (alerts that keep failing) is up too, it is the sender telling so."""
    log = servers.log_dir / servers.alert_log_name
    servers.alert_sender_port = (
        servers.alert_sender_port
        or configured_port("ALERT_SENDER_PORT", servers.env)
        or free_port()
    )
    process = _start("alerts", servers, log)
    servers.alert_sender = process
    wait_until_up(servers.alert_sender_health_url, process, log, 30, up=(200, 503))
    return process


def alert_banner(servers: Servers) -> str:
    """Where staff alerts go, for `make run`'s banner (no secrets)."""
    summary = settings_summary(load_alert_config(env=servers.env))
    parts = [f"email to {', '.join(summary['email_to'])}"] if summary["email_to"] else []
    parts += [f"webhook {summary['webhook']}"] if summary["webhook"] else []
    where = "; ".join(parts) or "the staff inbox only (no email or webhook configured)"
    return (
        f"  Staff alerts go to:           {where}\n"
        f"  Alert sender:                 {servers.alert_sender_health_url}\n"
    )


def start_staff_inbox(servers: Servers) -> subprocess.Popen:
    """Serve the staff inbox (staff/inbox.py) on its own port; wait until its sign-in page answers."""
    log = servers.log_dir / PROCESS_LOGS["inbox"]
    process = _start("inbox", servers, log)
    servers.staff_inbox = process
    wait_until_up(f"{servers.inbox_url}login", process, log, 60)
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
    inbox_port: Optional[int] = None,
) -> Iterator[Servers]:
    """Run the servers for the duration of the block, then stop them.

    The page and the staff inbox get free ports unless given, so tests never collide with
    `make run`.
    `extra_env` overrides the environment of the servers (e.g. a channel's variables); the
    credentials file for those variables is written to `credentials`.
    """
    private_dir(log_dir)
    private_dir(tracker_db.parent)
    web_port = web_port or free_port()
    env = {**runtime_env(action_port, tracker_db, web_port), **(extra_env or {})}
    make_private([*log_dir.glob("*.log"), *sqlite_files(env["TRACKER_STORE_URL"])])
    servers = Servers(
        rasa_port,
        action_port,
        log_dir,
        env,
        model,
        web_port,
        credentials,
        inbox_port=inbox_port or free_port(),
    )
    servers.channels = build_credentials(env, credentials)
    try:
        start_action_server(servers)
        start_web_page(servers)
        start_rasa_server(servers)
        start_alert_sender(servers)
        start_staff_inbox(servers)  # after Rasa, which creates the tables it reads
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
    parser.add_argument("--rasa-port", type=int, default=settings.port("RASA_PORT"))
    parser.add_argument("--action-port", type=int, default=settings.port("ACTION_PORT"))
    parser.add_argument("--web-port", type=int, default=settings.port("WEB_PORT"))
    parser.add_argument("--model", type=Path, default=DEFAULT_MODEL)
    parser.add_argument("--inbox-port", type=int, default=settings.port("STAFF_INBOX_PORT"))
    args = parser.parse_args()

    started = time.monotonic()
    print(
        "Starting the action server, the clinic page, the Rasa server, the alert sender and the staff inbox "
        "(logs in var/logs/) ...",
        flush=True,
    )
    try:
        with running_servers(
            args.rasa_port,
            args.action_port,
            args.model,
            web_port=args.web_port,
            inbox_port=args.inbox_port,
        ) as servers:
            channels = ", ".join(
                f"{webhook_name(c)} ({channel_path(webhook_name(c))})" for c in servers.channels
            )
            print(
                f"\nThe assistant is up after {time.monotonic() - started:.1f}s.\n"
                f"  Clinic page with the chat:    {servers.page_url}   (open it in a browser)\n"
                f"                                chat allowed from {servers.env['WEB_ORIGIN']} only\n"
                f"  Talk to it in this terminal:  make shell   (in a second terminal)\n"
                f"  REST channel:                 POST {servers.rest_url}\n"
                f'                                body {{"sender": "me", "message": "does it hurt?"}}\n'
                f"  Action server:                {servers.action_url}/health\n"
                f"{alert_banner(servers)}"
                f"  Staff inbox:                  {servers.inbox_url}   (create an account: make staff-account USER=name)\n"
                f"  Channels on:                  {channels}\n"
                f"Press Ctrl-C to stop the servers.",
                flush=True,
            )
            while all(p.poll() is None for p in servers.processes):
                time.sleep(1)
            sys.exit("A server stopped unexpectedly; see var/logs/.")
    except KeyboardInterrupt:
        print("\nStopped the servers.")
    except (RuntimeError, CredentialsError, AlertConfigError) as error:
        sys.exit(f"Could not start the assistant: {error}")


if __name__ == "__main__":
    main()
