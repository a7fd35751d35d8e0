"""Run one of the assistant's processes in the foreground, as a systemd unit does.

`python -m scripts.ops.serve_one rasa` (or actions, page, alerts, inbox) execs the command that
scripts/ops/serve.py starts for that process, with the same environment defaults and log
file, so `make run` and the units of deploy/systemd/ cannot drift apart. `--print` shows
the command instead of running it.
"""

import argparse
import os
import shlex
import sys
from pathlib import Path
from typing import Mapping

from scripts.ops.build_credentials import CredentialsError, build_credentials
from scripts.ops.private_files import PRIVATE_UMASK, open_private, private_dir
from scripts.ops.serve import PROCESS_LOGS, Servers, process_command, process_env, runtime_env
from scripts.ops.settings import DEFAULT_MODEL, DEFAULT_TRACKER_DB, PROJECT_ROOT, VAR_DIR, port

# ALERT_SENDER_PORT's default is fixed here, unlike make run's free port: a unit's health
# endpoint must be where checks look.
# Under var/, the one folder a unit may write (ProtectSystem=strict); it holds channel secrets.
SERVICE_CREDENTIALS = VAR_DIR / "credentials.yml"


def service_servers(
    environ: Mapping[str, str],
    log_dir: Path = VAR_DIR / "logs",
    credentials: Path = SERVICE_CREDENTIALS,
) -> Servers:
    """The ports and environment of every process, from the environment with make run's defaults."""
    action_port = port("ACTION_PORT", environ)
    web_port = port("WEB_PORT", environ)
    env = runtime_env(action_port, DEFAULT_TRACKER_DB, web_port, environ)
    return Servers(
        port("RASA_PORT", environ),
        action_port,
        log_dir,
        env,
        DEFAULT_MODEL,
        web_port,
        credentials,
        alert_sender_port=port("ALERT_SENDER_PORT", environ),
        inbox_port=port("STAFF_INBOX_PORT", environ),
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("process", choices=list(PROCESS_LOGS))
    parser.add_argument("--print", action="store_true", help="print the command, run nothing")
    args = parser.parse_args()
    servers = service_servers(os.environ)
    try:
        command = process_command(args.process, servers)
    except RuntimeError as problem:
        sys.exit(f"Cannot start {args.process}: {problem}")
    if args.print:
        print(shlex.join(command))
        return
    os.umask(PRIVATE_UMASK)  # before the credentials file, which holds channel secrets
    if args.process == "rasa":
        try:
            build_credentials(servers.env, servers.credentials)
        except CredentialsError as problem:
            sys.exit(f"Cannot start: {problem}")
    private_dir(servers.log_dir)
    log = open_private(servers.log_dir / PROCESS_LOGS[args.process])
    # The process appends to the same private log file make run gives it (logrotate rotates it).
    os.dup2(log.fileno(), sys.stdout.fileno())
    os.dup2(log.fileno(), sys.stderr.fileno())
    os.chdir(PROJECT_ROOT)
    os.execve(command[0], command, process_env(args.process, servers))


if __name__ == "__main__":
    main()
