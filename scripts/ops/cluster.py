"""Run the production topology on one machine: PostgreSQL, Redis, several Rasa servers,
action servers and nginx in front, an alert sender beside each Rasa server (their leases
let only one send each alert) and one staff inbox, all on loopback from configs under
var/cluster/.

    python -m scripts.ops.cluster start [--replicas 2] [--action-servers 1] [--port 8000]
    python -m scripts.ops.cluster stop

Used by `make cluster` / `make cluster-stop` and by tests/test_cluster.py. The Rasa and
action servers start through scripts/ops/serve.py, exactly as `make run` starts them.
"""

import argparse
import os
import pwd
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, Iterator, List, Optional

from scripts.ops.build_credentials import CredentialsError, build_credentials, webhook_name
from scripts.ops.cluster_configs import (
    DATABASE,
    DB_USER,
    INITDB_OPTIONS,
    TICKET_LOCK_LIFETIME,
    nginx_conf,
    redis_conf,
)
from scripts.ops.private_files import PRIVATE_UMASK, make_private, private_dir, write_private
from scripts.ops.processes import (
    free_port,
    signal_processes,
    start_process,
    stop_process,
    wait_until_up,
)
from scripts.ops import settings
from scripts.ops.serve import (
    Servers,
    runtime_env,
    start_action_server,
    start_alert_sender,
    start_rasa_server,
    start_staff_inbox,
    start_web_page,
)
from scripts.ops.settings import DEFAULT_MODEL, VAR_DIR

DEFAULT_ROOT = VAR_DIR / "cluster"
# Run as root, PostgreSQL runs as `postgres`, which may not be able to enter the project (a
# clone in root's 0700 home): its data then lives in a private folder of its own under this
# world-traversable one, which (unlike /tmp on many systems) survives a reboot.
POSTGRES_HOME_BASE = Path("/var/tmp")


def postgres_bin(program: str = "postgres") -> Path:
    """Debian's PostgreSQL binaries (the newest installed version that has `program`; a
    host with only the client has pg_dump but no server)."""
    found = sorted(
        Path("/usr/lib/postgresql").glob(f"*/bin/{program}"),
        key=lambda p: int(p.parent.parent.name),
    )
    if not found:
        raise RuntimeError("PostgreSQL is not installed: run `make cluster-packages`.")
    return found[-1].parent


def _postgres_user() -> Dict[str, str]:
    """PostgreSQL refuses to run as root: as root, run it as Debian's `postgres` user."""
    return {"user": "postgres", "group": "postgres"} if os.geteuid() == 0 else {}


def _own_for_postgres(path: Path) -> None:
    if os.geteuid() == 0:
        entry = pwd.getpwnam("postgres")
        os.chown(path, entry.pw_uid, entry.pw_gid)


def _secret(path: Path) -> str:
    """A password made once per cluster folder and kept there (loopback only)."""
    if not path.exists():
        write_private(path, secrets.token_hex(16))
    return path.read_text().strip()


def _postgres_home_pointer(root: Path) -> Path:
    """The file in `root` naming the folder outside it that holds PostgreSQL's data."""
    return root / "postgres-home"


def postgres_home(root: Path) -> Path:
    """The folder whose `data` is PostgreSQL's data folder, reachable by the user it runs as.

    As another user than root, that is `root` itself. As root, a folder owned by `postgres`
    (0700, from mkdtemp) outside the project, named in `root` so later runs find it again;
    a data folder in `root` from before is still used."""
    if os.geteuid() != 0 or (root / "postgres" / "PG_VERSION").exists():
        return root
    pointer = _postgres_home_pointer(root)
    if pointer.exists():
        home = Path(pointer.read_text().strip())
        if (
            not home.is_symlink()
            and home.is_dir()
            and home.stat().st_uid == pwd.getpwnam("postgres").pw_uid
        ):
            return home
    home = Path(tempfile.mkdtemp(prefix="clinic-cluster-postgres-", dir=POSTGRES_HOME_BASE))
    _own_for_postgres(home)
    write_private(pointer, str(home))
    return home


def remove_postgres_home(root: Path) -> None:
    """Delete the data folder kept outside `root` for it, if any (a fresh cluster)."""
    pointer = _postgres_home_pointer(root)
    if pointer.exists():
        shutil.rmtree(pointer.read_text().strip(), ignore_errors=True)


@dataclass
class Cluster:
    """The running processes and where to reach them."""

    root: Path
    port: int
    action_proxy_port: int
    postgres_port: int
    redis_port: int
    env: Dict[str, str]
    replicas: List[Servers] = field(default_factory=list)
    action_servers: List[Servers] = field(default_factory=list)
    infrastructure: Dict[str, subprocess.Popen] = field(default_factory=dict)
    web: Optional[Servers] = None
    inbox: Optional[Servers] = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def rest_url(self) -> str:
        return f"{self.url}/webhooks/rest/webhook"

    def webhook_url(self, channel: str) -> str:
        return f"{self.url}/webhooks/{channel}/webhook"

    @property
    def tracker_store_url(self) -> str:
        return self.env["TRACKER_STORE_URL"]

    @property
    def log_dir(self) -> Path:
        return self.root / "logs"

    def replica_address(self, index: int) -> str:
        """The upstream address nginx names in X-Rasa-Replica for replica `index`."""
        return f"127.0.0.1:{self.replicas[index].rasa_port}"

    def kill_replica(self, index: int) -> None:
        """SIGKILL one Rasa server, as a crashed host would vanish."""
        process = self.replicas[index].rasa_server
        if process is not None and process.poll() is None:
            process.kill()
            process.wait()

    @property
    def processes(self) -> List[subprocess.Popen]:
        return [p for s in self.servers for p in s.processes] + list(self.infrastructure.values())

    @property
    def servers(self) -> List[Servers]:
        """Every group of processes started through scripts/ops/serve.py."""
        return [
            *self.replicas,
            *self.action_servers,
            *[s for s in (self.web, self.inbox) if s is not None],
        ]


def start_postgres(cluster: Cluster) -> None:
    """Create the database folder on first use, start PostgreSQL, create the database."""
    home = postgres_home(cluster.root)
    data = home / "postgres" if home == cluster.root else home / "data"
    password = _secret(cluster.root / "postgres-password")
    bin_dir = postgres_bin()
    if not (data / "PG_VERSION").exists():
        data.mkdir(mode=0o700, parents=True, exist_ok=True)
        _own_for_postgres(data)
        # initdb reads the password as the user PostgreSQL runs as, from a folder it can enter.
        pwfile = home / "initdb-password"
        write_private(pwfile, password)
        _own_for_postgres(pwfile)
        try:
            subprocess.run(
                [
                    str(bin_dir / "initdb"),
                    "-D",
                    str(data),
                    "-U",
                    DB_USER,
                    f"--pwfile={pwfile}",
                    *INITDB_OPTIONS,
                ],
                check=True,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                cwd=home,
                umask=PRIVATE_UMASK,
                **_postgres_user(),
            )
        finally:
            pwfile.unlink()
    log = cluster.log_dir / "postgres.log"
    # TCP on loopback only and no Unix socket, so nothing outside the data folder is touched.
    process = start_process(
        [
            str(bin_dir / "postgres"),
            "-D",
            str(data),
            "-p",
            str(cluster.postgres_port),
            "-c",
            "listen_addresses=127.0.0.1",
            "-c",
            "unix_socket_directories=",
        ],
        log,
        cwd=home,
        **_postgres_user(),
    )
    cluster.infrastructure["postgres"] = process
    _create_database(cluster.postgres_port, password, process, log)


def _create_database(port: int, password: str, process: subprocess.Popen, log: Path) -> None:
    import psycopg2

    deadline = time.monotonic() + 60
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"PostgreSQL exited with code {process.returncode}; see {log}")
        try:
            connection = psycopg2.connect(
                host="127.0.0.1", port=port, user=DB_USER, password=password, dbname="postgres"
            )
            break
        except psycopg2.OperationalError:
            if time.monotonic() > deadline:
                raise RuntimeError(f"PostgreSQL did not answer within 60s; see {log}") from None
            time.sleep(0.3)
    connection.autocommit = True
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", (DATABASE,))
        if cursor.fetchone() is None:
            cursor.execute(f"CREATE DATABASE {DATABASE}")
    connection.close()


def start_redis(cluster: Cluster) -> None:
    """Redis for the lock store: no persistence, loopback, a password."""
    conf = cluster.root / "redis.conf"
    password = _secret(cluster.root / "redis-password")
    write_private(conf, redis_conf(cluster.redis_port, password, cluster.root))
    log = cluster.log_dir / "redis.log"
    process = start_process(["/usr/bin/redis-server", str(conf)], log, cwd=cluster.root)
    cluster.infrastructure["redis"] = process
    import redis

    client = redis.Redis(host="127.0.0.1", port=cluster.redis_port, password=password)
    deadline = time.monotonic() + 30
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"Redis exited with code {process.returncode}; see {log}")
        try:
            client.ping()
            return
        except redis.exceptions.ConnectionError:
            if time.monotonic() > deadline:
                raise RuntimeError(f"Redis did not answer within 30s; see {log}") from None
            time.sleep(0.2)


def start_nginx(cluster: Cluster) -> None:
    """nginx in front: round-robin for webhooks, sticky for /socket.io/, and the action servers."""
    prefix = cluster.root / "nginx"
    private_dir(prefix)
    conf = prefix / "nginx.conf"
    conf.write_text(
        nginx_conf(
            prefix=prefix,
            log_dir=cluster.log_dir,
            port=cluster.port,
            rasa_ports=[r.rasa_port for r in cluster.replicas],
            action_proxy_port=cluster.action_proxy_port,
            action_ports=[a.action_port for a in cluster.action_servers],
        )
    )
    error_log = cluster.log_dir / "nginx-error.log"
    check = subprocess.run(
        ["/usr/sbin/nginx", "-t", "-q", "-c", str(conf), "-p", str(prefix), "-e", str(error_log)],
        capture_output=True,
        text=True,
        umask=PRIVATE_UMASK,
    )
    if check.returncode != 0:
        raise RuntimeError(f"nginx rejected {conf}:\n{check.stderr}")
    process = start_process(
        ["/usr/sbin/nginx", "-c", str(conf), "-p", str(prefix), "-e", str(error_log)],
        cluster.log_dir / "nginx.log",
        cwd=cluster.root,
    )
    cluster.infrastructure["nginx"] = process
    wait_until_up(f"{cluster.url}/", process, error_log, 30)


def stop_cluster(cluster: Cluster) -> None:
    """Stop from the front: nginx, the Rasa and action servers, then Redis and PostgreSQL.

    A second Ctrl-C or `make cluster-stop` while this runs (stopping the Rasa servers can
    take seconds) is ignored: it used to cut the stop short and leave Redis and PostgreSQL
    running with no one to stop them."""
    try:
        previous = {
            sig: signal.signal(sig, signal.SIG_IGN) for sig in (signal.SIGINT, signal.SIGTERM)
        }
    except ValueError:  # not the main thread: no handlers to change
        previous = {}
    try:
        _stop_in_order(cluster)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _stop_in_order(cluster: Cluster) -> None:
    if "nginx" in cluster.infrastructure:
        stop_process(cluster.infrastructure["nginx"], signal.SIGTERM)
    servers = [p for s in cluster.servers for p in s.processes]
    signal_processes(servers, signal.SIGTERM)  # all at once: they stop side by side
    for process in servers:
        stop_process(process, signal.SIGTERM)
    if "redis" in cluster.infrastructure:
        stop_process(cluster.infrastructure["redis"], signal.SIGTERM)
    if "postgres" in cluster.infrastructure:
        # SIGINT is PostgreSQL's fast shutdown: it does not wait for idle clients.
        stop_process(cluster.infrastructure["postgres"], signal.SIGINT)


@contextmanager
def running_cluster(
    replicas: int = 2,
    action_servers: int = 1,
    port: Optional[int] = None,
    root: Path = DEFAULT_ROOT,
    model: Path = DEFAULT_MODEL,
    fresh: bool = False,
    web_page: bool = False,
    extra_env: Optional[Dict[str, str]] = None,
    inbox_port: Optional[int] = None,
) -> Iterator[Cluster]:
    """Run the cluster for the duration of the block, then stop it.

    `fresh` starts from an empty database; otherwise conversations stored in `root` from
    an earlier run are kept. `extra_env` overrides the servers' environment (channels).
    """
    if replicas < 1 or action_servers < 1:
        raise ValueError("A cluster needs at least one Rasa server and one action server.")
    root = root.resolve()
    if fresh and root.exists():
        remove_postgres_home(root)
        shutil.rmtree(root)
    private_dir(root)
    make_private(private_dir(root / "logs").glob("*.log"))
    web_port = free_port()
    cluster = Cluster(
        root=root,
        port=port or free_port(),
        action_proxy_port=free_port(),
        postgres_port=free_port(),
        redis_port=free_port(),
        env={},
    )
    cluster.env = {
        **runtime_env(cluster.action_proxy_port, root / "unused.db", web_port),
        "TRACKER_STORE_URL": (
            f"postgresql://{DB_USER}:{_secret(root / 'postgres-password')}"
            f"@127.0.0.1:{cluster.postgres_port}/{DATABASE}"
        ),
        # Rasa's Redis lock store, with no message stranded behind a dead replica.
        "LOCK_STORE_TYPE": "stores.lock_store.ClinicRedisLockStore",
        "REDIS_HOST": "127.0.0.1",
        "REDIS_PORT": str(cluster.redis_port),
        "REDIS_PASSWORD": _secret(root / "redis-password"),
        # Rasa calls the action servers through nginx, which spreads the calls over them.
        "ACTION_ENDPOINT_URL": f"http://127.0.0.1:{cluster.action_proxy_port}/webhook",
        # Browsers reach the Rasa servers through nginx (the widget's socket URL).
        "RASA_PUBLIC_URL": cluster.url,
        **(extra_env or {}),
    }
    cluster.env.setdefault("TICKET_LOCK_LIFETIME", TICKET_LOCK_LIFETIME)
    credentials = root / "credentials.yml"
    channels = build_credentials(cluster.env, credentials)

    def server(**kwargs: object) -> Servers:
        defaults = dict(
            rasa_port=0,
            action_port=0,
            log_dir=cluster.log_dir,
            env=cluster.env,
            model=model,
            web_port=web_port,
            credentials=credentials,
        )
        servers = Servers(**{**defaults, **kwargs})
        servers.channels = channels
        return servers

    cluster.action_servers = [
        server(action_port=free_port(), action_log_name=f"actions-{i}.log")
        for i in range(1, action_servers + 1)
    ]
    cluster.replicas = [
        server(
            rasa_port=free_port(), rasa_log_name=f"rasa-{i}.log", alert_log_name=f"alerts-{i}.log"
        )
        for i in range(1, replicas + 1)
    ]
    try:
        start_postgres(cluster)
        start_redis(cluster)
        with ThreadPoolExecutor(max_workers=len(cluster.action_servers)) as pool:
            list(pool.map(start_action_server, cluster.action_servers))
        # The first server creates the tracker store's table; starting the others at the
        # same moment would race to create it too.
        start_rasa_server(cluster.replicas[0])
        with ThreadPoolExecutor(max_workers=max(1, replicas - 1)) as pool:
            list(pool.map(start_rasa_server, cluster.replicas[1:]))
        # After the first Rasa server, which creates the staff tables they read. A sender per
        # replica, as on real hosts: a delivery's lease lets one of them send it.
        with ThreadPoolExecutor(max_workers=replicas) as pool:
            list(pool.map(start_alert_sender, cluster.replicas))
        cluster.inbox = server(inbox_port=inbox_port or free_port())
        start_staff_inbox(cluster.inbox)
        start_nginx(cluster)
        if web_page:
            cluster.web = server(web_port=web_port)
            start_web_page(cluster.web)
        yield cluster
    finally:
        stop_cluster(cluster)


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def _pid_file(root: Path) -> Path:
    return root / "cluster.pid"


def start(args: argparse.Namespace) -> None:
    # Ctrl-C, `make cluster-stop` and a plain `kill` all stop every process cleanly.
    signal.signal(signal.SIGINT, _interrupt)
    signal.signal(signal.SIGTERM, _interrupt)
    pid_file = _pid_file(args.root)
    started = time.monotonic()
    print(
        f"Starting PostgreSQL, Redis, {args.action_servers} action server(s), "
        f"{args.replicas} Rasa server(s) with their alert senders, the staff inbox and nginx (logs in {args.root / 'logs'}) ...",
        flush=True,
    )
    try:
        with running_cluster(
            args.replicas,
            args.action_servers,
            args.port,
            args.root,
            args.model,
            web_page=True,
            inbox_port=args.inbox_port,
        ) as cluster:
            pid_file.write_text(str(os.getpid()))
            env_file = args.root / "cluster.env"
            write_private(
                env_file,
                "".join(
                    f"{k}={cluster.env[k]}\n"
                    for k in ("TRACKER_STORE_URL", "REDIS_HOST", "REDIS_PORT", "REDIS_PASSWORD")
                )
                + f"CLUSTER_URL={cluster.url}\nREPLICAS={len(cluster.replicas)}\n",
            )
            replicas = ", ".join(f"127.0.0.1:{r.rasa_port}" for r in cluster.replicas)
            actions = ", ".join(f"127.0.0.1:{a.action_port}" for a in cluster.action_servers)
            channels = ", ".join(webhook_name(c) for c in cluster.replicas[0].channels)
            senders = ", ".join(r.alert_sender_health_url for r in cluster.replicas)
            print(
                f"\nThe cluster is up after {time.monotonic() - started:.1f}s.\n"
                f"  Base URL (nginx):       {cluster.url}\n"
                f"  REST channel:           POST {cluster.rest_url}   (round-robin)\n"
                f"  SMS webhook:            POST {cluster.webhook_url('twilio')}   (round-robin)\n"
                f"  Socket.IO:              {cluster.url}/socket.io/   (sticky by client address)\n"
                f"  Clinic page (widget):   {cluster.web.page_url if cluster.web else '-'}\n"
                f"  Rasa servers:           {len(cluster.replicas)} ({replicas})\n"
                f"  Action servers:         {len(cluster.action_servers)} ({actions}, "
                f"behind 127.0.0.1:{cluster.action_proxy_port})\n"
                f"  Tracker store:          PostgreSQL on 127.0.0.1:{cluster.postgres_port}\n"
                f"  Lock store:             Redis on 127.0.0.1:{cluster.redis_port}\n"
                f"  Alert senders:          {len(cluster.replicas)} ({senders})\n"
                f"  Staff inbox:            {cluster.inbox.inbox_url if cluster.inbox else '-'}   "
                f"(accounts: TRACKER_STORE_URL from {env_file}, then make staff-account USER=name)\n"
                f"  Channels on:            {channels}\n"
                f"  Connection settings:    {env_file}\n"
                f"Press Ctrl-C (or run `make cluster-stop`) to stop it.",
                flush=True,
            )
            while all(p.poll() is None for p in cluster.processes):
                time.sleep(1)
            sys.exit(f"A process of the cluster stopped unexpectedly; see {args.root / 'logs'}.")
    except KeyboardInterrupt:
        print("\nStopped the cluster.")
    except (RuntimeError, CredentialsError, subprocess.CalledProcessError) as error:
        detail = getattr(error, "stderr", None)
        sys.exit(
            f"Could not start the cluster: {error}" + (f"\n{detail.decode()}" if detail else "")
        )
    finally:
        pid_file.unlink(missing_ok=True)


def stop(args: argparse.Namespace) -> None:
    """Ask the `make cluster` process (by the id it wrote) to stop everything it started."""
    pid_file = _pid_file(args.root)
    if not pid_file.exists():
        print("No cluster is running.")
        return
    pid = int(pid_file.read_text())
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        pid_file.unlink(missing_ok=True)
        print("No cluster is running.")
        return
    deadline = time.monotonic() + 90
    while pid_file.exists() and time.monotonic() < deadline:
        time.sleep(0.5)
    print("Stopped the cluster." if not pid_file.exists() else f"Process {pid} is still stopping.")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--root", type=Path, default=DEFAULT_ROOT, help="folder for data, configs, logs"
    )
    commands = parser.add_subparsers(dest="command", required=True)
    start_parser = commands.add_parser("start", help="start the cluster and wait for Ctrl-C")
    start_parser.add_argument(
        "--replicas", type=int, default=settings.count("REPLICAS", settings.DEFAULT_REPLICAS)
    )
    start_parser.add_argument(
        "--action-servers",
        type=int,
        default=settings.count("ACTION_SERVERS", settings.DEFAULT_ACTION_SERVERS),
    )
    start_parser.add_argument(
        "--port",
        type=int,
        default=settings.port("CLUSTER_PORT"),
        help="nginx's port, the cluster's base URL",
    )
    start_parser.add_argument("--model", type=Path, default=DEFAULT_MODEL)
    start_parser.add_argument(
        "--inbox-port",
        type=int,
        default=settings.port("STAFF_INBOX_PORT"),
        help="the staff inbox's port (on loopback)",
    )
    commands.add_parser("stop", help="stop the cluster started by `start`")
    args = parser.parse_args()
    args.root = args.root.resolve()
    start(args) if args.command == "start" else stop(args)


if __name__ == "__main__":
    main()
